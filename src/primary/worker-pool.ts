import { fork, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ServerConfig, StreamConfig } from '../config/types.js';
import type {
  HandedRequest,
  PrimaryToWorker,
  WorkerMetricsJson,
  WorkerSetup,
  WorkerToPrimary,
} from '../cluster/messages.js';
import { assignComponents, findComponents, ownerMap } from '../cluster/assignment.js';
import { streamId, type SourceId } from '../cluster/source-id.js';
import { VoyandzError } from '../errors.js';
import { entryOf } from '../config/lookup.js';
import { CarriedCounters } from '../metrics/carried-counters.js';
import { killProcessGroup } from '../pipeline/process-tree.js';
import type { WorkerStats } from '../stats/types.js';
import type { AccessRules } from '../config/access-types.js';
import { RestartPolicy } from '../pipeline/restart-policy.js';
import { stopReading, type Handoff } from './handoff.js';

const NO_RULES: AccessRules = { allow: [], deny: [], users: null, signed: null };

interface WorkerSlot {
  id: number;
  child: ChildProcess | null;
  ready: boolean;
  /** Clients handed to it by request id; the timer runs from when the hand-off is sent until the worker acknowledges it (null otherwise). */
  handed: Map<number, NodeJS.Timeout | null>;
  /** Hand-offs sent to this worker's current process and not yet acknowledged (see handoff.ts). */
  unacked: Map<number, Handoff>;
  /** Process groups of programs the worker runs, to reap them if it dies. */
  programs: Set<number>;
  /** Its counters at the last scrape: carried on when it dies, so cluster totals never go down. */
  lastMetrics: WorkerMetricsJson | null;
  restartTimer: NodeJS.Timeout | null;
  /** A worker that dies is back at once; one that keeps dying, ever more slowly (the same back-off as programs). */
  respawn: RestartPolicy;
  spawnedAt: number;
}

type Reply =
  | { type: 'stats'; stats: WorkerStats }
  | { type: 'metrics'; metrics: WorkerMetricsJson }
  | { type: 'thumbnail'; jpeg: string | null };

const REPLY_TIMEOUT_MS = 2000;
/** A thumbnail is one short ffmpeg run in the worker (killed after 5 s). */
const THUMBNAIL_TIMEOUT_MS = 6000;
/**
 * Clients of the dead worker's streams on other workers wait for it (up to
 * start_timeout): the first respawn must be quick; a crash loop backs off.
 */
const RESPAWN = { initialDelayMs: 100, maxDelayMs: 10_000, stableAfterMs: 30_000 };
/** A hand-off takes milliseconds; one not acknowledged by then was lost (node gives up after a few retries). */
const HANDOFF_ACK_MS = 10_000;
/**
 * V8 grows a busy isolate's young generation to 2 × 16 MB and keeps it: a
 * worker's fan-out garbage is short-lived and small (the ring's chunks are
 * shared), so 2 × 4 MB scavenges it as well. Measured with 6000 clients on
 * one worker: ~40 MB less RSS, CPU per GB unchanged (load-tests/RESULTS.md).
 * An operator's own --max-semi-space-size for the primary wins.
 */
const WORKER_SEMI_SPACE_MB = 4;
const workerExecArgv = (): string[] =>
  process.execArgv.some((arg) => arg.startsWith('--max-semi-space-size'))
    ? process.execArgv
    : [...process.execArgv, `--max-semi-space-size=${WORKER_SEMI_SPACE_MB}`];

/** What the pool tells the primary about the clients it handed over. */
export interface PoolEvents {
  /** The client of request `id` is gone: closed, never arrived, or its worker died. Called once per id. */
  clientGone(id: number): void;
  /** A hand-off to `worker` was never acknowledged. */
  handoffLost(worker: number): void;
  /** A pulled stream's origin serves this Content-Type (the stream has no mimetype of its own). */
  contentTypeLearnt(stream: string, contentType: string): void;
}

const NO_EVENTS: PoolEvents = { clientGone: () => undefined, handoffLost: () => undefined, contentTypeLearnt: () => undefined };

/**
 * The primary's view of its worker processes: forks them, tells each which
 * pipelines it owns, hands it client sockets and asks it for stats. Workers
 * are processes, not threads, because only processes can receive sockets.
 */
export class WorkerPool {
  private readonly slots: WorkerSlot[] = [];
  private config: ServerConfig;
  private owners = new Map<SourceId, number>();
  private ownerOf: Record<SourceId, number> = {};
  private nextRequestId = 1;
  /** Counter series of workers that died, as last scraped. */
  private readonly carried = new CarriedCounters();
  private readonly pending = new Map<number, (reply: Reply | null) => void>();
  private stopping = false;

  constructor(
    config: ServerConfig,
    private readonly runtimeDir: string,
    private readonly entry: string,
    private readonly log: Logger,
    private readonly events: PoolEvents = NO_EVENTS,
  ) {
    this.config = config;
    this.assign(config);
    for (let id = 0; id < config.workers; id++) {
      this.slots.push({ id, child: null, ready: false, handed: new Map(), unacked: new Map(), programs: new Set(), lastMetrics: null, restartTimer: null, respawn: new RestartPolicy(RESPAWN), spawnedAt: 0 });
    }
  }

  start(): Promise<void> {
    return Promise.all(this.slots.map((slot) => this.spawn(slot))).then(() => undefined);
  }

  get workerCount(): number {
    return this.slots.length;
  }

  /** Workers that are up and set up (ready for clients). */
  get readyCount(): number {
    return this.slots.filter((slot) => slot.ready && slot.child?.connected === true).length;
  }

  /** Apply a reloaded config: unchanged pipelines keep their owner and keep running. */
  reconfigure(config: ServerConfig): void {
    this.config = config;
    this.assign(config);
    for (const slot of this.slots) this.sendSetup(slot);
  }

  /**
   * Hand a client to a worker. Shared streams go to the least busy worker
   * (their output is copied once per worker, not per client); exclusive
   * streams and shots go to the owner, where their feed already flows.
   */
  dispatch(stream: StreamConfig, socket: Socket, request: HandedRequest): boolean {
    stopReading(socket);
    return this.send({ stream, socket, request, tried: new Set() });
  }

  /** The worker for a hand-off, among those that have not failed it; undefined when none is ready. */
  private targetOf(handoff: Handoff): WorkerSlot | undefined {
    const usable = (slot: WorkerSlot | undefined): slot is WorkerSlot =>
      slot !== undefined && slot.ready && slot.child?.connected === true && !handoff.tried.has(slot.id);
    const { stream } = handoff;
    const owner = this.slots.at(entryOf(this.ownerOf, streamId(stream.name)) ?? 0);
    if (stream.type !== 'stream' || stream.client !== 'shared') return usable(owner) ? owner : undefined;
    let target: WorkerSlot | undefined;
    for (const slot of this.slots) {
      if (usable(slot) && (target === undefined || slot.handed.size < target.handed.size)) target = slot;
    }
    return target;
  }

  private send(handoff: Handoff): boolean {
    const slot = this.targetOf(handoff);
    const child = slot?.child;
    if (!slot || !child) return false;
    const { id } = handoff.request;
    const unacked = slot.unacked;
    slot.handed.set(id, null);
    unacked.set(id, handoff);
    const message: PrimaryToWorker = { type: 'client', stream: handoff.stream.name, request: handoff.request };
    try {
      child.send(message, handoff.socket, { keepOpen: true }, (error) => {
        if (error) this.bounce(slot, unacked, handoff);
        else this.awaitAck(slot, handoff);
      });
    } catch {
      // A socket closed in the meantime has no handle to send.
      this.bounce(slot, unacked, handoff);
    }
    return true;
  }

  /**
   * The acknowledgement is awaited from when the message is out, not from
   * dispatch: Node sends one descriptor at a time, each acknowledged by the
   * worker's event loop, so a burst of clients to a busy worker (one
   * synchronous program spawn per on-demand stream: 100-300 ms each on a
   * loaded box) waits its turn for longer than the limit before it is sent.
   */
  private awaitAck(slot: WorkerSlot, handoff: Handoff): void {
    const { id } = handoff.request;
    if (slot.unacked.get(id) !== handoff) return;
    const timer = setTimeout(() => {
      if (slot.unacked.get(id) !== handoff) return;
      this.events.handoffLost(slot.id);
      this.clientGone(slot, id);
    }, HANDOFF_ACK_MS);
    timer.unref();
    slot.handed.set(id, timer);
  }

  /** A worker could not take a hand-off (its send failed, or it died before acknowledging): another one gets it. */
  private bounce(slot: WorkerSlot, unacked: Map<number, Handoff>, handoff: Handoff): void {
    const { id } = handoff.request;
    if (unacked.get(id) !== handoff) return;
    unacked.delete(id);
    const timer = slot.handed.get(id);
    if (timer) clearTimeout(timer);
    slot.handed.delete(id);
    handoff.tried.add(slot.id);
    if (!this.stopping && !handoff.socket.destroyed && this.send(handoff)) {
      this.log.debug({ worker: slot.id, client: id }, 'hand-off given to another worker');
      return;
    }
    handoff.socket.destroy();
    this.events.clientGone(id);
  }

  async gatherStats(): Promise<WorkerStats[]> {
    const replies = await this.askAll('stats');
    return replies.flatMap((r) => (r?.type === 'stats' ? [r.stats] : []));
  }

  /** Every live worker's metrics, plus the counters of workers that died (summed by the caller). */
  async gatherMetrics(): Promise<WorkerMetricsJson[]> {
    const replies = await this.askAll('metrics');
    const live: WorkerMetricsJson[] = [];
    replies.forEach((reply, i) => {
      const slot = this.slots.at(i);
      if (reply?.type !== 'metrics' || !slot) return;
      slot.lastMetrics = reply.metrics;
      live.push(reply.metrics);
    });
    return [...live, this.carried.toJson()];
  }

  /** A JPEG of a shared stream's latest keyframe, from the worker that runs it; null when there is none. */
  async thumbnail(stream: string): Promise<Buffer | null> {
    const slot = this.slots.at(entryOf(this.ownerOf, streamId(stream)) ?? 0);
    if (!slot) return null;
    const reply = await this.ask(slot, (id) => ({ type: 'thumbnail', id, stream }), THUMBNAIL_TIMEOUT_MS);
    return reply?.type === 'thumbnail' && reply.jpeg !== null ? Buffer.from(reply.jpeg, 'base64') : null;
  }

  /** Ends the connection of the client handed over as request `id`; false when no worker holds it. */
  kick(id: number): boolean {
    const slot = this.slots.find((s) => s.handed.has(id));
    if (!slot?.child?.connected) return false;
    slot.child.send({ type: 'kick', clientId: id } satisfies PrimaryToWorker);
    return true;
  }

  /** Ask every worker to stop its clients and programs; kill what lingers. */
  async shutdown(graceMs: number): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.slots.map(async (slot) => {
        if (slot.restartTimer) clearTimeout(slot.restartTimer);
        const child = slot.child;
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        if (child.connected) child.send({ type: 'shutdown' } satisfies PrimaryToWorker);
        else child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }),
    );
    for (const slot of this.slots) this.reapPrograms(slot);
  }

  private assign(config: ServerConfig): void {
    const components = findComponents(config);
    this.owners = assignComponents(components, config.workers, this.owners);
    this.ownerOf = ownerMap(components, this.owners);
  }

  private setupFor(slot: WorkerSlot): WorkerSetup {
    const owned: SourceId[] = [];
    for (const [component, owner] of this.owners) if (owner === slot.id) owned.push(component);
    const peerPaths: Record<number, string> = {};
    for (const s of this.slots) peerPaths[s.id] = this.peerPath(s.id);
    // Workers never check access: the rules (and any password hashes in them) stay in the primary.
    const config = { ...this.config, access: { ...this.config.access, server: NO_RULES, admin: NO_RULES, streams: {} } };
    return { workerId: slot.id, config, owned, ownerOf: this.ownerOf, peerPaths };
  }

  private peerPath(id: number): string {
    return join(this.runtimeDir, `worker-${id}.sock`);
  }

  private sendSetup(slot: WorkerSlot): void {
    if (slot.child?.connected) slot.child.send({ type: 'setup', setup: this.setupFor(slot) } satisfies PrimaryToWorker);
  }

  private spawn(slot: WorkerSlot): Promise<void> {
    slot.restartTimer = null;
    slot.spawnedAt = performance.now();
    const child = fork(this.entry, [], {
      execArgv: workerExecArgv(),
      env: { ...process.env, VOYANDZ_WORKER_ID: String(slot.id) },
      // Stream bytes never use this channel; JSON is enough for control.
      serialization: 'json',
    });
    slot.child = child;
    slot.ready = false;
    const unacked = new Map<number, Handoff>();
    slot.unacked = unacked;
    // 'close' comes once the process exited and its channel was read to the
    // end (every message the worker sent, acknowledgements included): a
    // hand-off still unacknowledged then never reached it. ('disconnect' is
    // not emitted at all when the channel ends with a handle in flight.)
    child.once('close', () => {
      for (const handoff of [...unacked.values()]) this.bounce(slot, unacked, handoff);
    });
    return new Promise((resolve) => {
      // A send to a worker that just died fails with EPIPE / channel closed; its
      // 'exit' does the cleaning up. Unhandled, the error would take the primary down.
      child.on('error', (error) => this.log.debug({ worker: slot.id, err: error.message }, 'worker channel error'));
      child.on('message', (message: WorkerToPrimary) => {
        this.onMessage(slot, message);
        if (message.type === 'ready') resolve();
      });
      // fork() fails this way (EMFILE, EAGAIN) without an exit; unhandled, it would end the primary.
      child.once('error', (error) => {
        this.log.error({ err: error, worker: slot.id }, `worker ${slot.id}: ${error.message}`);
        if (child.pid === undefined) child.emit('exit', null, null);
      });
      child.once('exit', (code, signal) => {
        slot.ready = false;
        slot.child = null;
        this.reapPrograms(slot);
        if (slot.lastMetrics) this.carried.add(slot.lastMetrics);
        slot.lastMetrics = null;
        // Hand-offs in flight wait for 'close' (above), which may come after the exit.
        for (const id of [...slot.handed.keys()]) if (!unacked.has(id)) this.clientGone(slot, id);
        resolve();
        if (this.stopping) return;
        const error = new VoyandzError('WORKER_EXIT', String(slot.id), String(signal ?? code));
        this.log.error({ code: error.code, worker: slot.id, exitCode: code, signal }, error.message);
        slot.restartTimer = setTimeout(() => void this.spawn(slot), slot.respawn.nextDelayMs(performance.now() - slot.spawnedAt));
      });
      this.sendSetup(slot);
    });
  }

  private onMessage(slot: WorkerSlot, message: WorkerToPrimary): void {
    switch (message.type) {
      case 'ready':
        slot.ready = true;
        this.log.debug({ worker: slot.id, pid: slot.child?.pid, bootMs: Math.round(performance.now() - slot.spawnedAt) }, `worker ${slot.id} ready`);
        break;
      case 'client-received': {
        if (slot.handed.has(message.id)) {
          const timer = slot.handed.get(message.id);
          if (timer) clearTimeout(timer);
          slot.handed.set(message.id, null);
        }
        // The worker has the connection: close the primary's copy of the descriptor.
        slot.unacked.get(message.id)?.socket.destroy();
        slot.unacked.delete(message.id);
        break;
      }
      case 'client-closed':
        this.clientGone(slot, message.id);
        break;
      case 'program-started':
        slot.programs.add(message.pid);
        break;
      case 'program-exited':
        slot.programs.delete(message.pid);
        break;
      case 'content-type':
        this.events.contentTypeLearnt(message.stream, message.contentType);
        break;
      case 'stats':
      case 'metrics':
      case 'thumbnail':
        this.pending.get(message.id)?.(message);
        break;
    }
  }

  private clientGone(slot: WorkerSlot, id: number): void {
    if (!slot.handed.has(id)) return;
    const timer = slot.handed.get(id);
    if (timer) clearTimeout(timer);
    slot.handed.delete(id);
    // Never acknowledged: the client was lost on the way; close it so it can try again.
    slot.unacked.get(id)?.socket.destroy();
    slot.unacked.delete(id);
    this.events.clientGone(id);
  }

  /** A worker that died cannot stop its programs; their process groups are ours to end. */
  private reapPrograms(slot: WorkerSlot): void {
    for (const pid of slot.programs) killProcessGroup(pid, 'SIGKILL');
    slot.programs.clear();
  }

  private askAll(type: 'stats' | 'metrics'): Promise<(Reply | null)[]> {
    return Promise.all(this.slots.map((slot) => this.ask(slot, (id) => ({ type, id }), REPLY_TIMEOUT_MS)));
  }

  /** One question to one worker; null when it is not there or does not answer in time. */
  private ask(slot: WorkerSlot, message: (id: number) => PrimaryToWorker, timeoutMs: number): Promise<Reply | null> {
    if (!slot.ready || !slot.child?.connected) return Promise.resolve(null);
    const id = this.nextRequestId++;
    return new Promise<Reply | null>((resolve) => {
      const timer = setTimeout(() => finish(null), timeoutMs);
      const finish = (reply: Reply | null): void => {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(reply);
      };
      this.pending.set(id, finish);
      slot.child?.send(message(id));
    });
  }
}
