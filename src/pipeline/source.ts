import type { Logger } from 'pino';
import type { FeedConfig, FeedMode, ServerConfig, StreamConfig } from '../config/types.js';
import { sourceId, type SourceKind } from '../cluster/source-id.js';
import { ERRORS } from '../errors.js';
import type { Fanout } from '../fanout/fanout.js';
import type { ProgramInfo, ProgramState } from '../stats/types.js';
import { FanoutSlot, newSlotCounters, type SlotCounters } from './fanout-slot.js';
import { FeedReaders, feedReadersFor } from './feed-readers.js';
import type { ProgramExit } from './program.js';
import type { Producer } from './producer.js';
import { Pull, type PullFailure } from './pull.js';
import { RestartPolicy } from './restart-policy.js';
import { restartDecision } from './resurrect.js';
import { describeEnd, endedLine, failureLine, makeProducer, sourceJoinPolicy, stalledLine, startedLine } from './source-producer.js';
import { StallWatchdog } from './stall-watchdog.js';
import type { ProgramRegistry, RunOutcome, Tap } from './tap.js';

/** What a Source runs: a feed, or a stream with `client: shared`. */
export type SourceDefinition = { kind: 'feed'; config: FeedConfig } | { kind: 'stream'; config: StreamConfig };

/** A source's totals for the life of its worker, across runs and reloads: they only rise. */
export interface SourceCounters extends SlotCounters {
  restarts: number;
  /** Runs ended by the stall watchdog (no output for stall_timeout). */
  stalls: number;
  /** Pulls that ended while needed, by why (relays only). */
  pullEnds: Partial<Record<PullFailure, number>>;
}

export function newSourceCounters(): SourceCounters {
  return { ...newSlotCounters(), restarts: 0, stalls: 0, pullEnds: {} };
}

export interface SourceContext {
  config: ServerConfig;
  log: Logger;
  registry: ProgramRegistry;
  /** A feed run by this same worker (the owner of a component runs all of it). */
  feed(name: string): Source | undefined;
  /** A pull's origin answered with this Content-Type (told when it changes). */
  contentTypeLearnt?(contentType: string): void;
}

/**
 * A producer whose output is shared — a program or a pull — for a feed, or
 * a stream with `client: shared`. It runs while something holds it
 * (clients, programs reading it, peer workers), following the mode, and is
 * restarted when it dies while needed. Its Fanout outlives restarts so
 * readers stay connected (see FanoutSlot for what they get across one).
 */
export class Source implements Tap {
  state: ProgramState = 'idle';
  private demand = 0;
  private pinned = false;
  private producer: Producer | null = null;
  /** The feeds its program reads, held from start to stop (across restarts). */
  private readers: FeedReaders | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly policy = new RestartPolicy();
  private readonly slot: FanoutSlot;
  /** When the running producer last wrote (or started); the watchdog compares it with stall_timeout. */
  private lastOutputAt = 0;
  private readonly watchdog: StallWatchdog<Producer>;
  /** The last run's end, for the console: what ended it and what it said. */
  private lastExit: { code: number | null; signal: string | null; at: number; stderrTail: string } | null = null;
  /** While backing off: when (ms epoch) the next run starts. */
  private retryAt: number | null = null;
  /** A pull's: what its origin last answered with. */
  private learnt: string | undefined = undefined;

  constructor(
    readonly definition: SourceDefinition,
    private readonly ctx: SourceContext,
    private readonly counters: SourceCounters = newSourceCounters(),
  ) {
    const { kind, config } = definition;
    this.slot = new FanoutSlot({
      name: sourceId(kind, config.name),
      title: `${kind} ${config.name}`,
      labels: { [kind]: config.name },
      maxLagMs: (kind === 'stream' ? config.maxLagSeconds : ctx.config.maxLagSeconds) * 1000,
      counters,
      makePolicy: () => sourceJoinPolicy(definition, ctx.log),
      log: ctx.log,
    });
    this.watchdog = new StallWatchdog(config.stallTimeoutSeconds * 1000, {
      current: () => this.producer,
      needed: () => this.demand > 0 || this.pinned,
      lastOutputAt: () => this.lastOutputAt,
      stalled: (producer) => this.stalled(producer),
    });
  }

  get kind(): SourceKind {
    return this.definition.kind;
  }

  get name(): string {
    return this.definition.config.name;
  }

  get fanout(): Fanout {
    return this.slot.fanout;
  }

  /** A pull's: the Content-Type its origin answered with; undefined for a program. */
  get contentType(): string | undefined {
    return this.learnt;
  }

  whenFlowing(): Promise<RunOutcome> {
    return this.slot.whenFlowing();
  }

  gaveWay(fanout: Fanout): boolean {
    return this.slot.gaveWay(fanout);
  }

  get bytesIn(): number {
    return this.counters.bytesIn;
  }

  get restarts(): number {
    return this.counters.restarts;
  }

  get stalls(): number {
    return this.counters.stalls;
  }

  get pid(): number | null {
    return this.producer?.pid ?? null;
  }

  /** What the console shows of the producer: the running one, else the last run. */
  programInfo(): ProgramInfo {
    const producer = this.producer;
    const pull = this.definition.config.pull;
    return {
      startedAt: producer?.startedAt ?? null,
      secondsSinceOutput: producer ? Math.round((performance.now() - this.lastOutputAt) / 100) / 10 : null,
      lastExit: this.lastExit && { code: this.lastExit.code, signal: this.lastExit.signal, at: this.lastExit.at },
      stderrTail: lastLines(producer?.stderrTail() || this.lastExit?.stderrTail || '', STDERR_LINES),
      retryAt: this.state === 'restarting' ? this.retryAt : null,
      pull: pull === undefined ? null : { url: pull.url, contentType: this.learnt ?? null, ends: { ...this.counters.pullEnds } },
    };
  }

  /** The latest join point's bytes (header first), for a thumbnail; null when nothing is held. */
  captureFromJoin(maxBytes: number, enough: (bytes: Buffer) => boolean, timeoutMs: number): Promise<Buffer | null> {
    return this.producer ? this.slot.fanout.captureFromJoin(maxBytes, enough, timeoutMs) : Promise.resolve(null);
  }

  get consumers(): number {
    return this.demand;
  }

  /** Its producer ended and will not be restarted: peers resuming a link are told so. */
  get ended(): boolean {
    return this.state === 'dead';
  }

  /** `mode: autostart` runs from the server's start. */
  get autostarts(): boolean {
    return this.mode() === 'autostart';
  }

  acquire(): void {
    this.demand++;
    if (this.state === 'idle' || this.state === 'dead') {
      this.clearTimer();
      this.start();
    } else if (this.state !== 'restarting') {
      this.clearTimer();
    }
  }

  release(): void {
    this.demand = Math.max(0, this.demand - 1);
    if (this.demand > 0 || this.pinned || this.state === 'idle' || this.state === 'dead') return;
    const linger = lingerSeconds(this.mode());
    if (linger > 0) {
      this.clearTimer();
      this.timer = setTimeout(() => this.demand === 0 && void this.stop(), linger * 1000);
    } else {
      void this.stop();
    }
  }

  /** Autostart feeds run from the server's start; continuous ones from first use. */
  pin(): void {
    this.pinned = true;
    if (this.state === 'idle') this.start();
  }

  /** Stop for good (server stop, or the config no longer has it): readers are ended. */
  async shutdown(): Promise<void> {
    this.pinned = false;
    this.demand = 0;
    await this.stop();
  }

  /** Feeds and pulled streams have a mode; a stream running a program runs on demand. */
  private mode(): FeedMode {
    return this.definition.config.mode;
  }

  private start(): void {
    const mode = this.mode();
    if (mode === 'continuous' || mode === 'autostart') this.pinned = true;
    const readers = feedReadersFor(this.definition.config, (name) => this.ctx.feed(name));
    if (!(readers instanceof FeedReaders)) {
      const code = ERRORS.FEED_NOT_LOCAL.code;
      this.ctx.log.error({ code, [this.kind]: this.name, feed: readers.missing }, ERRORS.FEED_NOT_LOCAL.message(`${this.kind} ${this.name}`, readers.missing));
      this.state = 'dead';
      return;
    }
    this.readers = readers;
    readers.acquire();
    this.state = 'starting';
    this.spawn();
  }

  private spawn(): void {
    this.timer = null;
    const producer = makeProducer(this.definition, this.ctx.config, this.readers);
    this.producer = producer;
    this.lastOutputAt = performance.now();
    this.retryAt = null;
    this.watchdog.start();
    if (producer.pid !== undefined) this.ctx.registry.programStarted(producer.pid);
    this.ctx.log.info({ [this.kind]: this.name, pid: producer.pid, url: this.definition.config.pull?.url }, startedLine(this.definition, producer));
    this.readers?.attach(producer);
    const slot = this.slot;
    producer.stdout.on('data', (chunk: Buffer) => {
      // A producer being stopped may still flush output; it must not revive the source.
      if (this.producer !== producer) return;
      this.lastOutputAt = performance.now();
      if (this.state !== 'running') {
        this.state = 'running';
        if (producer instanceof Pull) this.learn(producer.contentType);
        slot.started();
      }
      slot.push(chunk);
    });
    producer.once('exit', (exit: ProgramExit) => this.onExit(producer, exit));
  }

  /** Before the first byte reaches a client: its response head names what the origin said. */
  private learn(contentType: string | undefined): void {
    if (contentType === undefined || contentType === this.learnt) return;
    this.learnt = contentType;
    this.ctx.contentTypeLearnt?.(contentType);
  }

  private onExit(producer: Producer, exit: ProgramExit): void {
    if (producer.pid !== undefined) this.ctx.registry.programExited(producer.pid);
    this.lastExit = { code: exit.code, signal: exit.signal, at: Date.now(), stderrTail: exit.stderrTail };
    const stalled = this.watchdog.ended(producer);
    this.ctx.log.info(
      { [this.kind]: this.name, pid: producer.pid, exitCode: exit.code, signal: exit.signal, ranMs: exit.ranMs, stopped: exit.stopped },
      endedLine(this.definition, producer, exit),
    );
    if (this.producer !== producer) return; // stopped on purpose: its feeds were released then
    const inputEnded = this.readers?.inputEnded ?? false;
    this.readers?.detach();
    this.producer = null;
    this.watchdog.stop();
    const needed = this.demand > 0 || this.pinned;
    if (producer instanceof Pull && producer.failure !== null) {
      this.counters.pullEnds[producer.failure] = (this.counters.pullEnds[producer.failure] ?? 0) + 1;
    }
    const stalledFor = stalled ? this.definition.config.stallTimeoutSeconds : null;
    const line = failureLine(this.definition, producer, exit, stalledFor);
    const fields = { code: line.code, [this.kind]: this.name, exitCode: exit.code, signal: exit.signal, stderr: exit.stderrTail };
    if (producer.bytesOut === 0) this.slot.failed(stalled ? `${describeEnd(producer, exit)} (silent for stall_timeout)` : describeEnd(producer, exit), exit.stderrTail);
    const decision = restartDecision(this.definition.config.resurrect, exit, inputEnded);
    if (needed && decision.restart) {
      this.state = 'restarting';
      this.counters.restarts++;
      const delay = this.policy.nextDelayMs(exit.ranMs);
      const verdict = this.policy.shouldLog(Date.now());
      if (verdict.log) this.ctx.log.error({ ...fields, suppressed: verdict.suppressed }, `${line.message}; ${producer instanceof Pull ? 'reconnecting' : 'restarting'} in ${delay} ms`);
      this.slot.restart();
      this.retryAt = Date.now() + delay;
      this.timer = setTimeout(() => this.spawn(), delay);
      return;
    }
    if (needed && !decision.restart) {
      // A run that ended well and is not to be restarted is news, not an error.
      this.ctx.log[decision.failed ? 'error' : 'info'](fields, `${line.message}; not restarted (${decision.why}): its readers are ended`);
    }
    this.state = 'dead';
    this.pinned = false;
    this.slot.renew();
    this.releaseFeeds();
  }

  private stalled(producer: Producer): void {
    this.counters.stalls++;
    const seconds = this.definition.config.stallTimeoutSeconds;
    const line = stalledLine(this.definition, seconds);
    this.ctx.log.warn({ code: line.code, [this.kind]: this.name, pid: producer.pid, stallTimeout: seconds }, line.message);
    void producer.stop(1000);
  }

  private async stop(): Promise<void> {
    this.watchdog.stop();
    this.clearTimer();
    this.state = 'idle';
    // A deliberate stop is not a failure: the next start begins with a short back-off again.
    this.policy.reset();
    const producer = this.producer;
    this.producer = null;
    this.releaseFeeds();
    // The next run starts clean: no joiner ever gets this run's tail.
    this.slot.renew();
    if (producer) await producer.stop();
  }

  private releaseFeeds(): void {
    const readers = this.readers;
    this.readers = null;
    readers?.release();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

const STDERR_LINES = 8;

function lastLines(text: string, count: number): string[] {
  return text.split('\n').filter((line) => line.trim() !== '').slice(-count);
}

function lingerSeconds(mode: FeedMode): number {
  return typeof mode === 'object' ? mode.lingerSeconds : 0;
}
