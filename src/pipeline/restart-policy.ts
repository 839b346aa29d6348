/**
 * When to restart a program that died while needed, and when to say so.
 *
 * Restarts are unlimited (the spec wants a camera that comes back to be
 * picked up again), so both the delay and the logging must stay cheap for a
 * program that fails forever: the delay grows to a cap, and after the first
 * failure only a periodic summary is logged.
 */

export interface RestartPolicyOptions {
  /** Delay before the first restart and after a stable run. Default 500 ms. */
  initialDelayMs?: number;
  /** The delay doubles per failure up to this. Default 30 s. */
  maxDelayMs?: number;
  /** A run at least this long counts as stable and resets the delay. Default 30 s. */
  stableAfterMs?: number;
  /** At most one log per this interval after the first. Default 60 s. */
  logIntervalMs?: number;
}

export interface LogVerdict {
  /** Log this failure now. */
  log: boolean;
  /** Failures not logged since the previous log (for a summary line); 0 on the first. */
  suppressed: number;
}

export class RestartPolicy {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly stableAfterMs: number;
  readonly logIntervalMs: number;
  private delay: number;
  private lastLogAt: number | null = null;
  private suppressedCount = 0;

  constructor(options: RestartPolicyOptions = {}) {
    this.initialDelayMs = options.initialDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    this.stableAfterMs = options.stableAfterMs ?? 30_000;
    this.logIntervalMs = options.logIntervalMs ?? 60_000;
    this.delay = this.initialDelayMs;
  }

  /**
   * The delay before restarting a program that ran `ranMs` before dying.
   * Call once per failure: each call advances the back-off.
   */
  nextDelayMs(ranMs: number): number {
    if (ranMs >= this.stableAfterMs) this.delay = this.initialDelayMs;
    const delay = this.delay;
    this.delay = Math.min(this.delay * 2, this.maxDelayMs);
    return delay;
  }

  /**
   * Whether to log the failure that just happened. The first one is logged
   * (with the stderr tail, by the caller); later ones at most once per
   * interval, reporting how many were swallowed in between. Call once per
   * failure, with the same clock each time.
   */
  shouldLog(now: number): LogVerdict {
    if (this.lastLogAt === null || now - this.lastLogAt >= this.logIntervalMs) {
      const suppressed = this.suppressedCount;
      this.lastLogAt = now;
      this.suppressedCount = 0;
      return { log: true, suppressed };
    }
    this.suppressedCount++;
    return { log: false, suppressed: this.suppressedCount };
  }

  /** Failures swallowed since the last log, e.g. to report when the program is stopped. */
  get suppressed(): number {
    return this.suppressedCount;
  }

  /** Forget past failures, e.g. when the program is stopped on purpose. */
  reset(): void {
    this.delay = this.initialDelayMs;
    this.lastLogAt = null;
    this.suppressedCount = 0;
  }
}
