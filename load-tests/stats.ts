/**
 * Small statistics helpers for the load tests: percentiles, summaries and a
 * growable sample store that does not allocate per sample.
 */

export interface Summary {
  count: number;
  min: number;
  p50: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of an ascending array; NaN when empty. */
function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * n);
  return sorted[Math.min(n - 1, Math.max(0, rank - 1))];
}

export function summarize(values: ArrayLike<number>): Summary {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  return {
    count: n,
    min: n ? sorted[0] : Number.NaN,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: n ? sorted[n - 1] : Number.NaN,
  };
}

/** Median of a few numbers (e.g. of runs); NaN entries are ignored. */
export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/**
 * Samples kept in one Float64Array that doubles when full, up to `cap`;
 * beyond it every other sample is kept (then every fourth…), so a long run
 * stays bounded in memory and still spans the whole window.
 */
export class Samples {
  private data: Float64Array;
  private n = 0;
  private stride = 1;
  private skip = 0;

  constructor(private readonly cap = 4_000_000) {
    this.data = new Float64Array(Math.min(cap, 65536));
  }

  get count(): number {
    return this.n;
  }

  add(value: number): void {
    if (this.skip > 0) {
      this.skip--;
      return;
    }
    this.skip = this.stride - 1;
    if (this.n === this.data.length) {
      if (this.data.length < this.cap) {
        const bigger = new Float64Array(Math.min(this.cap, this.data.length * 2));
        bigger.set(this.data);
        this.data = bigger;
      } else {
        // Full: keep every other sample and halve the rate from now on.
        let j = 0;
        for (let i = 0; i < this.n; i += 2) this.data[j++] = this.data[i];
        this.n = j;
        this.stride *= 2;
        this.skip = this.stride - 1;
      }
    }
    this.data[this.n++] = value;
  }

  summary(): Summary {
    return summarize(this.data.subarray(0, this.n));
  }
}

/** Rounds for reports: a few significant digits, NaN/Infinity as null (JSON has neither). */
export function round(value: number, digits = 3): number | null {
  if (!Number.isFinite(value)) return null;
  if (value === 0) return 0;
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const factor = 10 ** Math.max(0, digits - 1 - magnitude);
  return Math.round(value * factor) / factor;
}

export function roundSummary(s: Summary, digits = 3): { count: number; min: number | null; p50: number | null; p99: number | null; max: number | null } {
  return { count: s.count, min: round(s.min, digits), p50: round(s.p50, digits), p99: round(s.p99, digits), max: round(s.max, digits) };
}
