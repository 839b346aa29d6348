import type { WorkerMetricsJson } from '../cluster/messages.js';
import { isCumulative, seriesKey } from './series.js';

type Metric = WorkerMetricsJson[number];

/**
 * Never lets a counter the primary exports go down. A worker killed between
 * two scrapes takes the bytes it counted since the last one with it (the
 * primary carries only what it had seen), so the merged total could dip
 * below what Prometheus already stored, which rate() and resets() read as a
 * reset. Exporting the highest value seen instead turns that dip into a short
 * plateau.
 */
export class MonotonicFloor {
  private readonly highest = new Map<string, number>();

  apply(metrics: WorkerMetricsJson): WorkerMetricsJson {
    return metrics.map((metric: Metric) => {
      if (!isCumulative(metric)) return metric;
      return {
        ...metric,
        values: metric.values.map((value) => {
          const key = seriesKey(metric, value);
          const floor = Math.max(this.highest.get(key) ?? 0, value.value);
          this.highest.set(key, floor);
          return floor === value.value ? value : { ...value, value: floor };
        }),
      };
    });
  }
}
