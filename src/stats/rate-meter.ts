/**
 * Bit rates from ever-growing byte counters sampled once a second, averaged
 * over a short window so /stat shows a steady number for bursty programs.
 */
const WINDOW = 5;

export class RateMeter<K = string> {
  private readonly samples = new Map<K, number[]>();

  sample(key: K, total: number): void {
    let list = this.samples.get(key);
    if (!list) {
      list = [];
      this.samples.set(key, list);
    }
    list.push(total);
    if (list.length > WINDOW + 1) list.shift();
  }

  /** Bits per second over the window. */
  rate(key: K): number {
    const list = this.samples.get(key);
    if (!list || list.length < 2) return 0;
    const first = list[0] ?? 0;
    const last = list[list.length - 1] ?? 0;
    return Math.max(0, ((last - first) * 8) / (list.length - 1));
  }
}
