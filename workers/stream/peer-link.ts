import { createServer, connect, type Server, type Socket } from 'node:net';
import { unlinkSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Fanout } from '../../src/fanout/fanout.js';
import type { JoinPolicy } from '../../src/fanout/join/policy.js';
import { FanoutSlot } from '../../src/pipeline/fanout-slot.js';
import { RestartPolicy } from '../../src/pipeline/restart-policy.js';
import type { SourceCounters } from '../../src/pipeline/source.js';
import type { RunOutcome, Tap } from '../../src/pipeline/tap.js';

/**
 * Stream bytes between workers travel over unix sockets: one connection per
 * (subscribing worker, stream), opened when the subscriber gets its first
 * client of that stream. The owner treats it as one more reader of its
 * Fanout, so a stream's bytes are copied once per worker, not per client.
 *
 * A link that breaks while the subscriber still has clients (the owner
 * worker died and is being respawned, or the owner closed the link because
 * it fell behind) is linked again with a short back-off, and the clients stay:
 * the new link starts at a join point with the header, spliced in like a
 * program restart. A relink says RESUME: an owner whose stream has ended for
 * good (its program exited and is not restarted) refuses it instead of
 * starting the program again, and the subscriber ends its clients.
 *
 * The protocol: the subscriber sends one line, `SUB stream NAME` or `RESUME
 * stream NAME` (NAME percent-encoded); the owner answers one status line,
 * `OK TYPE` (stream bytes follow; TYPE, percent-encoded, is the Content-Type
 * a pull's origin answered with, empty for a program's stream), `ENDED` or
 * `UNKNOWN` (then closes). OK waits for the stream's first byte, so that a
 * pull's Content-Type is known by then.
 */

const HELLO_LIMIT = 4096;
const HELLO = /^(SUB|RESUME) stream (\S+)$/;
const STATUS_LIMIT = 1024;
type PeerStatus = 'OK' | 'ENDED' | 'UNKNOWN';

/** A peer-served stream: ended() when its program is over and will not be restarted. */
export interface PeerTap extends Tap {
  readonly ended: boolean;
}

function subscribeLine(stream: string, resume: boolean): string {
  // Names may hold spaces and any letter: the hello is one line of one token.
  return `${resume ? 'RESUME' : 'SUB'} stream ${encodeURIComponent(stream)}\n`;
}

/** Owner side: accept subscriptions and attach them to the stream's Fanout. */
export function startPeerServer(path: string, lookup: (stream: string) => PeerTap | undefined, log: Logger): Promise<Server> {
  try {
    unlinkSync(path);
  } catch {
    // no stale socket from an earlier worker
  }
  const server = createServer((socket) => {
    let hello = '';
    socket.on('error', () => socket.destroy());
    const onData = (chunk: Buffer): void => {
      hello += chunk.toString('latin1');
      const newline = hello.indexOf('\n');
      if (newline < 0) {
        if (hello.length > HELLO_LIMIT) socket.destroy();
        return;
      }
      socket.removeListener('data', onData);
      const match = HELLO.exec(hello.slice(0, newline));
      const name = match?.[2] === undefined ? undefined : safeDecode(match[2]);
      const tap = name === undefined ? undefined : lookup(name);
      if (!tap || (match?.[1] === 'RESUME' && tap.ended)) {
        if (!tap) log.warn({ hello: hello.slice(0, newline) }, 'peer asked for a stream this worker does not own');
        socket.end(statusLine(tap ? 'ENDED' : 'UNKNOWN'));
        return;
      }
      tap.acquire();
      socket.once('close', () => tap.release());
      void tap.whenFlowing().then(() => {
        if (socket.destroyed) return;
        socket.write(`OK ${encodeURIComponent(tap.contentType ?? '')}\n`);
        tap.fanout.addSink(socket, { kind: 'peer' }, 'resync');
      });
      // Nothing more is read from a subscriber; keep the socket flowing so a
      // stray byte cannot fill our buffer.
      socket.resume();
    };
    socket.on('data', onData);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve(server));
  });
}

function statusLine(status: PeerStatus): string {
  return `${status}\n`;
}

function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

export interface RemoteStreamOptions {
  name: string;
  peerPath: string;
  maxLagMs: number;
  log: Logger;
  counters: SourceCounters;
  /**
   * The owner starts this subscription at a join point, header first, like
   * any client; this side runs the same policy over those bytes so its own
   * late joiners get a join point too.
   */
  makePolicy: () => JoinPolicy;
}

/** Subscriber side: a stream owned by another worker, seen as a local Tap. */
export class RemoteStream implements Tap {
  /** What the owner said its pull's origin answered with. */
  contentType: string | undefined = undefined;
  private demand = 0;
  private socket: Socket | null = null;
  private retry: NodeJS.Timeout | null = null;
  /**
   * While an owner worker is respawned its socket path does not exist, and a
   * connect fails in microseconds: retrying every 200 ms at most costs
   * nothing, where a longer cap made clients wait up to a whole step after the
   * owner was back (silence of 2.6 s instead of 1.3 s after a kill -9).
   */
  private readonly backoff = new RestartPolicy({ initialDelayMs: 50, maxDelayMs: 200, stableAfterMs: 5000, logIntervalMs: 30_000 });
  private readonly slot: FanoutSlot;

  constructor(private readonly options: RemoteStreamOptions) {
    this.slot = new FanoutSlot({
      name: `remote:${options.name}`,
      title: `stream ${options.name}`,
      labels: { stream: options.name },
      maxLagMs: options.maxLagMs,
      counters: options.counters,
      makePolicy: options.makePolicy,
      log: options.log,
    });
  }

  get fanout(): Fanout {
    return this.slot.fanout;
  }

  whenFlowing(): Promise<RunOutcome> {
    return this.slot.whenFlowing();
  }

  gaveWay(fanout: Fanout): boolean {
    return this.slot.gaveWay(fanout);
  }

  acquire(): void {
    this.demand++;
    if (!this.socket && !this.retry) this.open(false);
  }

  release(): void {
    this.demand = Math.max(0, this.demand - 1);
    if (this.demand === 0) this.close();
  }

  /** The stream left this worker's config or the server stops: end its readers. */
  shutdown(): void {
    this.demand = 0;
    this.close();
  }

  private open(resume: boolean): void {
    this.retry = null;
    const socket = connect(this.options.peerPath);
    const openedAt = Date.now();
    let status: PeerStatus | null = null;
    let pending = '';
    this.socket = socket;
    socket.write(subscribeLine(this.options.name, resume));
    socket.on('data', (chunk: Buffer) => {
      if (status === null) {
        // Up to the status line; what follows it in the same read is stream data.
        pending += chunk.toString('latin1');
        const newline = pending.indexOf('\n');
        if (newline < 0) {
          if (pending.length > STATUS_LIMIT) socket.destroy();
          return;
        }
        const [word = '', type = ''] = pending.slice(0, newline).split(' ');
        status = word as PeerStatus;
        chunk = chunk.subarray(chunk.length - (pending.length - newline - 1));
        if (status !== 'OK') return;
        this.contentType = safeDecode(type) || undefined;
      }
      if (status === 'OK' && chunk.length > 0) {
        this.slot.started();
        this.slot.push(chunk);
      }
    });
    socket.on('error', () => undefined); // 'close' follows and decides
    socket.once('close', () => {
      if (this.socket !== socket) return; // closed on purpose
      this.socket = null;
      if (this.demand === 0) return;
      if (status === 'ENDED') {
        // The owner says the stream is over: as direct clients would, ours end.
        this.slot.renew();
        return;
      }
      // The run this link carried is over for us, as when a program dies: clients keep
      // their place, and whoever joins in the gap waits for the next link's first join
      // point (its response head for its first byte) instead of getting this run's tail.
      if (status === 'OK') this.slot.restart();
      const delay = this.backoff.nextDelayMs(Date.now() - openedAt);
      if (this.backoff.shouldLog(Date.now()).log) {
        this.options.log.warn({ stream: this.options.name, retryMs: delay }, `peer link of stream ${this.options.name} lost; linking again`);
      }
      this.retry = setTimeout(() => this.open(true), delay);
    });
  }

  private close(): void {
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    const socket = this.socket;
    this.socket = null;
    this.backoff.reset();
    this.slot.renew();
    socket?.destroy();
  }
}
