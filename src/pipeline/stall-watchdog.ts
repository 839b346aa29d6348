/**
 * A producer that hangs (a camera gone silent, a stuck network read, an
 * origin that keeps the connection open and sends nothing) keeps its clients
 * waiting forever unless something notices. The watchdog checks, about once
 * a second, how long ago the running producer last wrote, and calls
 * `stalled` once per run that stays silent for the limit while needed; the
 * owner ends it and its usual restart brings a fresh one.
 */

/** How often a running producer's silence is checked against stall_timeout. */
const STALL_CHECK_MS = 1000;

export interface StallWatch<T> {
  /** The run being watched; null when none runs. */
  current(): T | null;
  /** Whether anything needs the run now (silence of an unneeded one is nobody's problem). */
  needed(): boolean;
  /** Monotonic ms of the run's last output (or its start). */
  lastOutputAt(): number;
  stalled(run: T): void;
}

export class StallWatchdog<T> {
  private timer: NodeJS.Timeout | null = null;
  private reported: T | null = null;

  constructor(
    private readonly limitMs: number,
    private readonly watch: StallWatch<T>,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The run `run` was stalled and reported: it is on its way out. */
  isStalled(run: T): boolean {
    return this.reported === run;
  }

  start(): void {
    if (this.limitMs <= 0 || this.timer !== null) return;
    this.timer = setInterval(() => this.check(), Math.min(STALL_CHECK_MS, this.limitMs));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Forget a reported run once it ended (returns whether it was the stalled one). */
  ended(run: T): boolean {
    const was = this.reported === run;
    if (was) this.reported = null;
    return was;
  }

  private check(): void {
    const run = this.watch.current();
    if (run === null || this.reported === run || !this.watch.needed()) return;
    if (this.now() - this.watch.lastOutputAt() < this.limitMs) return;
    this.reported = run;
    this.watch.stalled(run);
  }
}
