import type { Logger } from 'pino';
import type { FeedConfig, ServerConfig, StreamConfig } from '../config/types.js';
import { ERRORS } from '../errors.js';
import { Fanout } from '../fanout/fanout.js';
import { RawJoinPolicy, type JoinPolicy } from '../fanout/join/policy.js';
import { policyFor } from '../fanout/join/policy-for.js';
import type { ProgramState } from '../stats/types.js';
import { FeedReaders, feedReadersFor } from './feed-readers.js';
import { Program, type ProgramExit } from './program.js';
import { RestartPolicy } from './restart-policy.js';
import { restartDecision } from './resurrect.js';
import type { ProgramRegistry, Tap } from './tap.js';

export interface SourceContext {
  config: ServerConfig;
  log: Logger;
  registry: ProgramRegistry;
  /** A feed run by this same worker (the owner of a component runs all of it). */
  feed(name: string): Source | undefined;
}

const DEFAULT_MAX_LAG_SECONDS = 10;

/**
 * A program whose output is shared: a feed, or a stream with `client: shared`.
 * It runs while something holds it (clients, programs reading it, peer
 * workers), following the feed's mode, and is restarted when it dies while
 * needed. Its Fanout outlives program restarts so readers stay connected.
 */
export class Source implements Tap {
  state: ProgramState = 'idle';
  restarts = 0;
  private current: Fanout;
  /** Bytes read by earlier Fanouts of this source (one is replaced when the program is dead). */
  private bytesBefore = 0;
  private demand = 0;
  private pinned = false;
  private program: Program | null = null;
  /** The feeds its program reads, held from start to stop (across restarts). */
  private readers: FeedReaders | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly policy = new RestartPolicy();

  constructor(
    readonly kind: 'feed' | 'stream',
    readonly def: FeedConfig | StreamConfig,
    private readonly ctx: SourceContext,
  ) {
    this.current = this.newFanout();
  }

  get fanout(): Fanout {
    return this.current;
  }

  get bytesIn(): number {
    return this.bytesBefore + this.current.bytesIn;
  }

  get pid(): number | null {
    return this.program?.pid ?? null;
  }

  get consumers(): number {
    return this.demand;
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
    const linger = this.lingerSeconds();
    if (linger > 0) {
      this.clearTimer();
      this.timer = setTimeout(() => this.demand === 0 && this.stop(), linger * 1000);
    } else {
      this.stop();
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
    this.current.end();
    await this.stop();
  }

  private lingerSeconds(): number {
    const mode = this.kind === 'feed' ? (this.def as FeedConfig).mode : 'on-demand';
    return typeof mode === 'object' ? mode.lingerSeconds : 0;
  }

  private newFanout(): Fanout {
    const perStream = this.kind === 'stream' ? (this.def as StreamConfig).maxLagSeconds : undefined;
    const maxLagSeconds = perStream ?? DEFAULT_MAX_LAG_SECONDS;
    return new Fanout({
      name: `${this.kind}:${this.def.name}`,
      maxLagMs: maxLagSeconds * 1000,
      joinPolicy: this.joinPolicy(),
      onDrop: (_sink, reason) =>
        this.ctx.log.warn({ [this.kind]: this.def.name, reason }, `reader of ${this.kind} ${this.def.name} dropped: ${reason}`),
    });
  }

  /** Feeds have no mimetype: programs reading them join raw. */
  private joinPolicy(): JoinPolicy {
    if (this.kind === 'feed') return new RawJoinPolicy();
    const stream = this.def as StreamConfig;
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
    );
  }

  private start(): void {
    const mode = this.kind === 'feed' ? (this.def as FeedConfig).mode : 'on-demand';
    if (mode === 'continuous' || mode === 'autostart') this.pinned = true;
    const readers = feedReadersFor(this.def, (name) => this.ctx.feed(name));
    if (!(readers instanceof FeedReaders)) {
      this.ctx.log.error({ [this.kind]: this.def.name, feed: readers.missing }, `feed ${readers.missing} not run by this worker`);
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
      name: this.def.name,
      argv: this.def.argv,
      ...(this.readers?.stdio ?? { stdin: 'ignore' }),
      logdir: config.logdir,
      logMaxBytes: config.logMaxBytes,
      logKeep: config.logKeep,
    });
    this.program = program;
    if (program.pid !== undefined) this.ctx.registry.programStarted(program.pid);
    this.readers?.attach(program);
    const fanout = this.current;
    program.stdout?.on('data', (chunk: Buffer) => {
      // A program being stopped may still flush output; it must not revive the source.
      if (this.program !== program) return;
      if (this.state !== 'running') this.state = 'running';
      fanout.push(chunk);
    });
    program.once('exit', (exit: ProgramExit) => this.onExit(program, exit));
  }

  private onExit(program: Program, exit: ProgramExit): void {
    if (program.pid !== undefined) this.ctx.registry.programExited(program.pid);
    if (this.program !== program) return; // stopped on purpose: its feeds were released then
    const inputEnded = this.readers?.inputEnded ?? false;
    this.readers?.detach();
    this.program = null;
    const name = this.def.name;
    const needed = this.demand > 0 || this.pinned;
    const how = describeExit(exit, program.bytesOut);
    const decision = restartDecision(this.def.resurrect, exit, inputEnded);
    if (needed && decision.restart) {
      this.state = 'restarting';
      this.restarts++;
      const delay = this.policy.nextDelayMs(exit.ranMs);
      const verdict = this.policy.shouldLog(Date.now());
      if (verdict.log) {
        this.ctx.log.error(
          { code: exit.error?.code ?? 'VOYANDZ_ERR_PROGRAM_EXIT', [this.kind]: name, exitCode: exit.code, signal: exit.signal, suppressed: verdict.suppressed, stderr: exit.stderrTail },
          `program of ${this.kind} ${name} ${how}; restarting in ${delay} ms`,
        );
      }
      this.current.restart();
      this.timer = setTimeout(() => this.spawn(), delay);
      return;
    }
    if (needed && !decision.restart) {
      const level = decision.failed ? 'error' : 'info';
      this.ctx.log[level](
        { code: exit.error?.code ?? 'VOYANDZ_ERR_PROGRAM_EXIT', [this.kind]: name, exitCode: exit.code, signal: exit.signal, stderr: exit.stderrTail },
        `program of ${this.kind} ${name} ${how}; not restarted (${decision.why}): its readers are ended`,
      );
    }
    this.state = 'dead';
    this.pinned = false;
    this.current.end();
    this.bytesBefore += this.current.bytesIn;
    this.current = this.newFanout();
    this.releaseFeeds();
  }

  private async stop(): Promise<void> {
    this.clearTimer();
    this.state = 'idle';
    // A deliberate stop is not a failure: the next start begins with a short back-off again.
    this.policy.reset();
    const program = this.program;
    this.program = null;
    this.releaseFeeds();
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

function describeExit(exit: ProgramExit, bytesOut: number): string {
  if (exit.error) return `could not start (${exit.error.message})`;
  const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
  return bytesOut === 0 ? `${how} before producing a byte` : how;
}
