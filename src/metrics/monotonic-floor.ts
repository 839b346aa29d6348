import type { WorkerMetricsJson } from '../cluster/messages.js';

type Metric = WorkerMetricsJson[number];

function seriesKey(name: string, labels: Partial<Record<string, string | number>>): string {
  return `${name}${JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))}`;
}

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
      if (String(metric.type) !== 'counter') return metric;
      return {
        ...metric,
        values: metric.values.map((value) => {
          const key = seriesKey(metric.name, value.labels);
          const floor = Math.max(this.highest.get(key) ?? 0, value.value);
          this.highest.set(key, floor);
          return floor === value.value ? value : { ...value, value: floor };
        }),
      };
    });
  }
}
