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
import { placeSharedClient } from '../cluster/placement.js';
import { streamId, type SourceId } from '../cluster/source-id.js';
import { VoyandzError } from '../errors.js';
import { entryOf } from '../config/lookup.js';
import { CarriedCounters } from '../metrics/carried-counters.js';
import { killProcessGroup } from '../pipeline/process-tree.js';
import type { WorkerStats } from '../stats/types.js';
import type { AccessRules } from '../config/access-types.js';
import { RestartPolicy } from '../pipeline/restart-policy.js';
import { stopReading, type Handoff } from './handoff.js';
import type { WorkerLink, WorkerMode, WorkerTransport } from './worker-link.js';

const NO_RULES: AccessRules = { allow: [], deny: [], users: null, signed: null };

interface WorkerSlot {
  id: number;
  link: WorkerLink | null;
  ready: boolean;
  /** Clients handed to it by request id; the timer runs from when the hand-off is sent until the worker acknowledges it (null otherwise). */
  handed: Map<number, NodeJS.Timeout | null>;
  /** Hand-offs sent to this worker's current process or thread and not yet acknowledged (see handoff.ts). */
  unacked: Map<number, Handoff>;
  /** Process groups of programs the worker runs, to reap them if it dies. */
  programs: Set<number>;
  /** Its counters at the last scrape: carried on when it dies, so cluster totals never go down. */
  lastMetrics: WorkerMetricsJson | null;
  restartTimer: NodeJS.Timeout | null;
  /** A worker that dies is back at once; one that keeps dying, ever more slowly (the same back-off as programs). */
  respawn: RestartPolicy;
  spawnedAt: number;
  /** Times it died and was started again (in thread mode, the only sign of it: the pid stays the server's). */
  restarts: number;
  /** Its event-loop utilisation as of its latest acknowledgement (see placement.ts); 0 for a new one. */
  load: number;
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
/** What the pool tells the primary about the clients it handed over. */
export interface PoolEvents {
  /** The client of request `id` is gone: closed, never arrived, or its worker died. Called once per id. */
  clientGone(id: number): void;
  /** A hand-off to `worker` was never acknowledged. */
  handoffLost(worker: number): void;
  /** A pulled stream's origin serves this Content-Type (the stream has no mimetype of its own). */
  contentTypeLearnt(stream: string, contentType: string): void;
  /** `worker` died while the server runs; it is started again. */
  workerRestarting(worker: number): void;
}

const NO_EVENTS: PoolEvents = { clientGone: () => undefined, handoffLost: () => undefined, contentTypeLearnt: () => undefined, workerRestarting: () => undefined };

/**
 * The primary's view of its workers: starts them (processes or threads, see
 * worker-link.ts), tells each which pipelines it owns, hands it clients and
 * asks it for stats.
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
    private readonly transport: WorkerTransport,
    private readonly log: Logger,
    private readonly events: PoolEvents = NO_EVENTS,
  ) {
    this.config = config;
    this.assign(config);
    for (let id = 0; id < config.workers; id++) {
      this.slots.push({ id, link: null, ready: false, handed: new Map(), unacked: new Map(), programs: new Set(), lastMetrics: null, restartTimer: null, respawn: new RestartPolicy(RESPAWN), spawnedAt: 0, restarts: 0, load: 0 });
    }
  }

  start(): Promise<void> {
    return Promise.all(this.slots.map((slot) => this.spawn(slot))).then(() => undefined);
  }

  get mode(): WorkerMode {
    return this.transport.mode;
  }

  get workerCount(): number {
    return this.slots.length;
  }

  /** Workers that are up and set up (ready for clients). */
  get readyCount(): number {
    return this.slots.filter((slot) => slot.ready && slot.link?.connected === true).length;
  }

  /** Apply a reloaded config: unchanged pipelines keep their owner and keep running. */
  reconfigure(config: ServerConfig): void {
    this.config = config;
    this.assign(config);
    for (const slot of this.slots) this.sendSetup(slot);
  }

  /**
   * Hand a client to a worker. Shared streams' clients stay with the worker
   * running the program while it is less busy than spill_load, then go to
   * the worker with the fewest clients (placement.ts); exclusive streams
   * and shots go to the owner, where their feed already flows.
   */
  dispatch(stream: StreamConfig, socket: Socket, request: HandedRequest): boolean {
    stopReading(socket);
    const tried = new Set<number>();
    // Before the socket is given up (a thread's is closed once its descriptor is copied).
    if (!this.targetOf({ stream, tried })) return false;
    const client = this.transport.adopt(socket);
    return client !== null && this.send({ stream, client, request, tried });
  }

  /** The worker for a hand-off, among those that have not failed it; undefined when none is ready. */
  private targetOf(handoff: Pick<Handoff, 'stream' | 'tried'>): WorkerSlot | undefined {
    const usable = (slot: WorkerSlot | undefined): slot is WorkerSlot =>
      slot !== undefined && slot.ready && slot.link?.connected === true && !handoff.tried.has(slot.id);
    const { stream } = handoff;
    const owner = this.slots.at(entryOf(this.ownerOf, streamId(stream.name)) ?? 0);
    if (stream.type !== 'stream' || stream.client !== 'shared') return usable(owner) ? owner : undefined;
    const candidates = this.slots.filter(usable).map((slot) => ({ slot, clients: slot.handed.size, load: slot.load }));
    return placeSharedClient(candidates.find((c) => c.slot === owner), candidates, this.config.spillLoad)?.slot;
  }

  private send(handoff: Handoff): boolean {
    const slot = this.targetOf(handoff);
    const link = slot?.link;
    if (!slot || !link) return false;
    const { id } = handoff.request;
    const unacked = slot.unacked;
    slot.handed.set(id, null);
    unacked.set(id, handoff);
    link.handOver({ type: 'client', stream: handoff.stream.name, request: handoff.request }, handoff.client, (ok) => {
      if (!ok) this.bounce(slot, unacked, handoff);
      else if (link.lossy) this.awaitAck(slot, handoff);
    });
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
    if (!this.stopping && handoff.client.open && this.send(handoff)) {
      this.log.debug({ worker: slot.id, client: id }, 'hand-off given to another worker');
      return;
    }
    handoff.client.close();
    this.events.clientGone(id);
  }

  /** How many times each worker (by id) died and was started again. */
  get restarts(): number[] {
    return this.slots.map((slot) => slot.restarts);
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
    if (!slot?.link?.connected) return false;
    slot.link.send({ type: 'kick', clientId: id });
    return true;
  }

  /** Ask every worker to stop its clients and programs; kill what lingers. */
  async shutdown(graceMs: number): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.slots.map(async (slot) => {
        if (slot.restartTimer) clearTimeout(slot.restartTimer);
        await slot.link?.stop(graceMs);
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
    if (slot.link?.connected) slot.link.send({ type: 'setup', setup: this.setupFor(slot) });
  }

  private spawn(slot: WorkerSlot): Promise<void> {
    slot.restartTimer = null;
    slot.spawnedAt = performance.now();
    slot.ready = false;
    const unacked = new Map<number, Handoff>();
    slot.unacked = unacked;
    return new Promise((resolve) => {
      const link = this.transport.spawn(slot.id, this.entry, {
        message: (message) => {
          this.onMessage(slot, message);
          if (message.type === 'ready') resolve();
        },
        error: (error) => this.log.debug({ worker: slot.id, err: error.message }, `worker ${slot.id}: ${error.message}`),
        crashed: (error) => this.log.error({ worker: slot.id, err: error }, `worker ${slot.id}: ${error.message}`),
        // A hand-off still unacknowledged once the worker's messages are all read never reached it.
        drained: () => {
          for (const handoff of [...unacked.values()]) this.bounce(slot, unacked, handoff);
        },
        exit: (code, signal) => {
          slot.ready = false;
          slot.link = null;
          this.reapPrograms(slot);
          if (slot.lastMetrics) this.carried.add(slot.lastMetrics);
          slot.lastMetrics = null;
          // Hand-offs in flight wait for 'drained' (above), which may come after the exit.
          for (const id of [...slot.handed.keys()]) if (!unacked.has(id)) this.clientGone(slot, id);
          resolve();
          if (this.stopping) return;
          const error = new VoyandzError('WORKER_EXIT', String(slot.id), String(signal ?? code));
          this.log.error({ code: error.code, worker: slot.id, exitCode: code, signal }, error.message);
          slot.restarts++;
          this.events.workerRestarting(slot.id);
          slot.restartTimer = setTimeout(() => void this.spawn(slot), slot.respawn.nextDelayMs(performance.now() - slot.spawnedAt));
        },
      });
      slot.link = link;
      this.sendSetup(slot);
    });
  }

  private onMessage(slot: WorkerSlot, message: WorkerToPrimary): void {
    switch (message.type) {
      case 'ready':
        slot.ready = true;
        this.log.debug({ worker: slot.id, pid: slot.link?.pid, mode: this.transport.mode, bootMs: Math.round(performance.now() - slot.spawnedAt) }, `worker ${slot.id} ready`);
        break;
      case 'client-received': {
        slot.load = message.load;
        if (slot.handed.has(message.id)) {
          const timer = slot.handed.get(message.id);
          if (timer) clearTimeout(timer);
          slot.handed.set(message.id, null);
        }
        // The worker has the connection: the primary lets go of its hold.
        slot.unacked.get(message.id)?.client.received();
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
    // Never acknowledged (its time ran out, see awaitAck): lost on the way; close it so it can try again.
    slot.unacked.get(id)?.client.close();
    slot.unacked.delete(id);
    this.events.clientGone(id);
  }

  /** A worker that died cannot stop its programs; their process groups are ours to end. */
  private reapPrograms(slot: WorkerSlot): void {
    for (const pid of slot.programs) killProcessGroup(pid, 'SIGKILL');
    this.transport.reapOrphans([...slot.programs]);
    slot.programs.clear();
  }

  private askAll(type: 'stats' | 'metrics'): Promise<(Reply | null)[]> {
    return Promise.all(this.slots.map((slot) => this.ask(slot, (id) => ({ type, id }), REPLY_TIMEOUT_MS)));
  }

  /** One question to one worker; null when it is not there or does not answer in time. */
  private ask(slot: WorkerSlot, message: (id: number) => PrimaryToWorker, timeoutMs: number): Promise<Reply | null> {
    if (!slot.ready || !slot.link?.connected) return Promise.resolve(null);
    const id = this.nextRequestId++;
    return new Promise<Reply | null>((resolve) => {
      const timer = setTimeout(() => finish(null), timeoutMs);
      const finish = (reply: Reply | null): void => {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(reply);
      };
      this.pending.set(id, finish);
      slot.link?.send(message(id));
    });
  }
}
