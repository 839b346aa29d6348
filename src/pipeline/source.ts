import type { Logger } from 'pino';
import type { FeedConfig, FeedMode, ServerConfig, StreamConfig } from '../config/types.js';
import { sourceId, type SourceKind } from '../cluster/source-id.js';
import { ERRORS } from '../errors.js';
import { newFanoutCounters, type Fanout, type FanoutCounters } from '../fanout/fanout.js';
import type { JoinPolicy } from '../fanout/join/policy.js';
import { feedPolicyFor, policyFor } from '../fanout/join/policy-for.js';
import type { ProgramInfo, ProgramState } from '../stats/types.js';
import { FanoutSlot } from './fanout-slot.js';
import { FeedReaders, feedReadersFor } from './feed-readers.js';
import { Program, type ProgramExit } from './program.js';
import { RestartPolicy } from './restart-policy.js';
import { restartDecision } from './resurrect.js';
import type { ProgramRegistry, RunOutcome, Tap } from './tap.js';

/** What a Source runs: a feed, or a stream with `client: shared`. */
export type SourceDefinition = { kind: 'feed'; config: FeedConfig } | { kind: 'stream'; config: StreamConfig };

/** A source's totals for the life of its worker, across runs and reloads: they only rise. */
export interface SourceCounters extends FanoutCounters {
  restarts: number;
  /** Programs killed by the stall watchdog (no output for stall_timeout). */
  stalls: number;
}

export function newSourceCounters(): SourceCounters {
  return { ...newFanoutCounters(), restarts: 0, stalls: 0 };
}

/** How often a running program's silence is checked against stall_timeout. */
const STALL_CHECK_MS = 1000;

export interface SourceContext {
  config: ServerConfig;
  log: Logger;
  registry: ProgramRegistry;
  /** A feed run by this same worker (the owner of a component runs all of it). */
  feed(name: string): Source | undefined;
}

/**
 * A program whose output is shared: a feed, or a stream with `client: shared`.
 * It runs while something holds it (clients, programs reading it, peer
 * workers), following the feed's mode, and is restarted when it dies while
 * needed. Its Fanout outlives program restarts so readers stay connected.
 */
export class Source implements Tap {
  state: ProgramState = 'idle';
  private demand = 0;
  private pinned = false;
  private program: Program | null = null;
  /** The feeds its program reads, held from start to stop (across restarts). */
  private readers: FeedReaders | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly policy = new RestartPolicy();
  private readonly slot: FanoutSlot;
  /** When the running program last wrote (or started); the watchdog compares it with stall_timeout. */
  private lastOutputAt = 0;
  private watchdog: NodeJS.Timeout | null = null;
  private stalledProgram: Program | null = null;
  /** The last run's end, for the console: what killed it and what it said. */
  private lastExit: { code: number | null; signal: string | null; at: number; stderrTail: string } | null = null;
  /** While backing off: when (ms epoch) the next run starts. */
  private retryAt: number | null = null;

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
      makePolicy: () => this.joinPolicy(),
      log: ctx.log,
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

  whenFlowing(): Promise<RunOutcome> {
    return this.slot.whenFlowing();
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
    return this.program?.pid ?? null;
  }

  /** What the console shows of the program: the running one, else the last run. */
  programInfo(): ProgramInfo {
    const program = this.program;
    return {
      startedAt: program?.startedAt ?? null,
      secondsSinceOutput: program ? Math.round((performance.now() - this.lastOutputAt) / 100) / 10 : null,
      lastExit: this.lastExit && { code: this.lastExit.code, signal: this.lastExit.signal, at: this.lastExit.at },
      stderrTail: lastLines(program?.stderrTail() || this.lastExit?.stderrTail || '', STDERR_LINES),
      retryAt: this.state === 'restarting' ? this.retryAt : null,
    };
  }

  /** The latest join point's bytes (header first), for a thumbnail; null when nothing is held. */
  captureFromJoin(maxBytes: number, enough: (bytes: Buffer) => boolean, timeoutMs: number): Promise<Buffer | null> {
    return this.program ? this.slot.fanout.captureFromJoin(maxBytes, enough, timeoutMs) : Promise.resolve(null);
  }

  get consumers(): number {
    return this.demand;
  }

  /** Its program exited and will not be restarted: peers resuming a link are told so. */
  get ended(): boolean {
    return this.state === 'dead';
  }

  /** A feed with `mode: autostart` runs from the server's start. */
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

  private mode(): FeedMode {
    return this.definition.kind === 'feed' ? this.definition.config.mode : 'on-demand';
  }

  /** Feeds have no mimetype: their container is named by `format:` or recognised from the bytes. */
  private joinPolicy(): JoinPolicy {
    if (this.definition.kind === 'feed') {
      const feed = this.definition.config;
      return feedPolicyFor(feed.format, (reason) =>
        this.ctx.log.warn({ feed: feed.name, format: feed.format, reason }, `feed ${feed.name}: its readers start raw (${reason})`),
      );
    }
    const stream = this.definition.config;
    return policyFor(
      stream.mimetype,
      stream.join,
      (reason) =>
        this.ctx.log.warn({ stream: stream.name, mimetype: stream.mimetype, reason }, `stream ${stream.name}: late joiners start raw (${reason})`),
      (written, declared) =>
        this.ctx.log.warn(
          { code: ERRORS.MULTIPART_BOUNDARY.code, stream: stream.name, mimetype: stream.mimetype, written, declared },
          ERRORS.MULTIPART_BOUNDARY.message(stream.name, written, declared ?? '(none)'),
        ),
      stream.burstSeconds,
    );
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
    const { config } = this.ctx;
    const program = new Program({
      kind: this.kind,
      name: this.name,
      argv: this.definition.config.argv,
      ...(this.readers?.stdio ?? { stdin: 'ignore' }),
      logdir: config.logdir,
      logMaxBytes: config.logMaxBytes,
      logKeep: config.logKeep,
    });
    this.program = program;
    this.lastOutputAt = performance.now();
    this.retryAt = null;
    this.startWatchdog();
    if (program.pid !== undefined) this.ctx.registry.programStarted(program.pid);
    this.ctx.log.info({ [this.kind]: this.name, pid: program.pid }, `${this.kind} ${this.name}: program started (pid ${program.pid ?? '—'})`);
    this.readers?.attach(program);
    const fanout = this.slot.fanout;
    program.stdout.on('data', (chunk: Buffer) => {
      // A program being stopped may still flush output; it must not revive the source.
      if (this.program !== program) return;
      this.lastOutputAt = performance.now();
      if (this.state !== 'running') {
        this.state = 'running';
        this.slot.started();
      }
      fanout.push(chunk);
    });
    program.once('exit', (exit: ProgramExit) => this.onExit(program, exit));
  }

  private onExit(program: Program, exit: ProgramExit): void {
    if (program.pid !== undefined) this.ctx.registry.programExited(program.pid);
    this.lastExit = { code: exit.code, signal: exit.signal, at: Date.now(), stderrTail: exit.stderrTail };
    this.ctx.log.info(
      { [this.kind]: this.name, pid: program.pid, exitCode: exit.code, signal: exit.signal, ranMs: exit.ranMs, stopped: exit.stopped },
      `${this.kind} ${this.name}: program ${exit.stopped ? 'stopped' : 'exited'} (pid ${program.pid ?? '—'}, ${exit.signal ?? `code ${exit.code}`})`,
    );
    if (this.program !== program) return; // stopped on purpose: its feeds were released then
    const inputEnded = this.readers?.inputEnded ?? false;
    this.readers?.detach();
    this.program = null;
    this.stopWatchdog();
    const needed = this.demand > 0 || this.pinned;
    const stalled = this.stalledProgram === program;
    this.stalledProgram = null;
    const how = stalled ? `wrote nothing for ${this.stallTimeoutSeconds()} s and was killed (stall_timeout)` : describeExit(exit, program.bytesOut);
    const fields = { code: exit.error?.code ?? ERRORS.PROGRAM_EXIT.code, [this.kind]: this.name, exitCode: exit.code, signal: exit.signal, stderr: exit.stderrTail };
    const what = ERRORS.PROGRAM_EXIT.message(`${this.kind} ${this.name}`, how);
    if (program.bytesOut === 0) this.slot.failed(how, exit.stderrTail);
    const decision = restartDecision(this.definition.config.resurrect, exit, inputEnded);
    if (needed && decision.restart) {
      this.state = 'restarting';
      this.counters.restarts++;
      const delay = this.policy.nextDelayMs(exit.ranMs);
      const verdict = this.policy.shouldLog(Date.now());
      if (verdict.log) this.ctx.log.error({ ...fields, suppressed: verdict.suppressed }, `${what}; restarting in ${delay} ms`);
      this.slot.restart();
      this.retryAt = Date.now() + delay;
      this.timer = setTimeout(() => this.spawn(), delay);
      return;
    }
    if (needed && !decision.restart) {
      // A program that ended well and is not to be restarted is news, not an error.
      this.ctx.log[decision.failed ? 'error' : 'info'](fields, `${what}; not restarted (${decision.why}): its readers are ended`);
    }
    this.state = 'dead';
    this.pinned = false;
    this.slot.renew();
    this.releaseFeeds();
  }

  private stallTimeoutSeconds(): number {
    return this.definition.config.stallTimeoutSeconds;
  }

  /**
   * A program that hangs (a camera gone silent, a stuck network read) keeps
   * its clients waiting forever unless something notices: kill it, and the
   * usual restart brings a fresh one.
   */
  private startWatchdog(): void {
    const limitMs = this.stallTimeoutSeconds() * 1000;
    if (limitMs <= 0 || this.watchdog !== null) return;
    this.watchdog = setInterval(() => {
      const program = this.program;
      if (!program || this.stalledProgram === program) return;
      if (this.demand === 0 && !this.pinned) return;
      if (performance.now() - this.lastOutputAt < limitMs) return;
      this.stalledProgram = program;
      this.counters.stalls++;
      this.ctx.log.warn(
        { code: ERRORS.PROGRAM_STALLED.code, [this.kind]: this.name, pid: program.pid, stallTimeout: this.stallTimeoutSeconds() },
        ERRORS.PROGRAM_STALLED.message(`${this.kind} ${this.name}`, String(this.stallTimeoutSeconds())),
      );
      void program.stop(1000);
    }, Math.min(STALL_CHECK_MS, limitMs));
    this.watchdog.unref();
  }

  private stopWatchdog(): void {
    if (this.watchdog !== null) clearInterval(this.watchdog);
    this.watchdog = null;
  }

  private async stop(): Promise<void> {
    this.stopWatchdog();
    this.clearTimer();
    this.state = 'idle';
    // A deliberate stop is not a failure: the next start begins with a short back-off again.
    this.policy.reset();
    const program = this.program;
    this.program = null;
    this.releaseFeeds();
    // The next run starts clean: no joiner ever gets this run's tail.
    this.slot.renew();
    if (program) await program.stop();
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

function describeExit(exit: ProgramExit, bytesOut: number): string {
  if (exit.error) return `could not start (${exit.error.message})`;
  const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
  return bytesOut === 0 ? `${how} before producing a byte` : how;
}
