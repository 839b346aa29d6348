/**
 * At most `perWindow` log lines per key and window: a flood (slowloris,
 * descriptor exhaustion) must not become a flood of log lines. The first
 * line of the next window says how many were left out.
 */
export class LogThrottle {
  private windowStart = 0;
  private readonly counts = new Map<string, number>();
  private readonly dropped = new Map<string, number>();

  constructor(
    private readonly perWindow = 10,
    private readonly windowMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** null: leave this line out. A number: log it, noting that many left out before it. */
  take(key: string): number | null {
    const now = this.now();
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.counts.clear();
    }
    const count = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, count);
    if (count > this.perWindow) {
      this.dropped.set(key, (this.dropped.get(key) ?? 0) + 1);
      return null;
    }
    const left = this.dropped.get(key) ?? 0;
    this.dropped.delete(key);
    return left;
  }
}
