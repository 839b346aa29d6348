import { createServer, connect, type Server, type Socket } from 'node:net';
import { unlinkSync } from 'node:fs';
import type { Logger } from 'pino';
import { Fanout } from '../../src/fanout/fanout.js';
import type { JoinPolicy } from '../../src/fanout/join/policy.js';
import type { Tap } from '../../src/pipeline/tap.js';

/**
 * Stream bytes between workers travel over unix sockets: one connection per
 * (subscribing worker, stream), opened when the subscriber gets its first
 * client of that stream. The owner treats it as one more reader of its
 * Fanout, so a stream's bytes are copied once per worker, not per client.
 */

const HELLO_LIMIT = 512;

/** Names may hold spaces and any letter: percent-encoded, the line stays one word per field. */
export function subscribeLine(stream: string): string {
  return `SUB stream ${encodeURIComponent(stream)}\n`;
}

function subscribedStream(line: string): string | undefined {
  const match = /^SUB stream (\S+)$/.exec(line);
  if (!match?.[1]) return undefined;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return undefined;
  }
}

/** Owner side: accept subscriptions and attach them to the stream's Fanout. */
export function startPeerServer(path: string, lookup: (stream: string) => Tap | undefined, log: Logger): Promise<Server> {
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
      const name = subscribedStream(hello.slice(0, newline));
      const tap = name === undefined ? undefined : lookup(name);
      if (!tap) {
        log.warn({ hello: hello.slice(0, newline) }, 'peer asked for a stream this worker does not own');
        socket.destroy();
        return;
      }
      tap.acquire();
      tap.fanout.addSink(socket, { kind: 'peer' });
      socket.once('close', () => tap.release());
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

/** Subscriber side: a stream owned by another worker, seen as a local Tap. */
export class RemoteStream implements Tap {
  private demand = 0;
  private socket: Socket | null = null;
  private current: Fanout;

  constructor(
    readonly name: string,
    private readonly peerPath: string,
    private readonly maxLagMs: number,
    private readonly log: Logger,
    /**
     * The owner starts this subscription at a join point, header first, like
     * any client; this side runs the same policy over those bytes so its own
     * late joiners get a join point too.
     */
    private readonly makePolicy: () => JoinPolicy,
  ) {
    this.current = this.newFanout();
  }

  get fanout(): Fanout {
    return this.current;
  }

  acquire(): void {
    this.demand++;
    if (!this.socket) this.open();
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

  private newFanout(): Fanout {
    return new Fanout({ name: `remote:${this.name}`, maxLagMs: this.maxLagMs, joinPolicy: this.makePolicy() });
  }

  private open(): void {
    const socket = connect(this.peerPath);
    this.socket = socket;
    const fanout = this.current;
    socket.write(subscribeLine(this.name));
    socket.on('data', (chunk: Buffer) => fanout.push(chunk));
    socket.on('error', (error) => this.log.warn({ stream: this.name, err: error.message }, 'peer link failed'));
    socket.once('close', () => {
      // The owner ended the stream (or died): our readers end too, as they
      // would if they were connected to the owner directly.
      if (this.socket !== socket) return;
      this.socket = null;
      this.current.end();
      this.current = this.newFanout();
    });
  }

  private close(): void {
    const socket = this.socket;
    this.socket = null;
    this.current.end();
    this.current = this.newFanout();
    socket?.destroy();
  }
}
