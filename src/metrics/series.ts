import type { WorkerMetricsJson } from '../cluster/messages.js';

type Metric = WorkerMetricsJson[number];
type Value = Metric['values'][number];

/**
 * Series that only ever rise while their process lives: counters, and a
 * histogram's buckets, count and sum. These must not go down across a
 * worker's death, or Prometheus reads a reset.
 */
export function isCumulative(metric: Metric): boolean {
  const type = String(metric.type);
  return type === 'counter' || type === 'histogram';
}

/** One series of a family: a histogram's values name their own series (x_bucket, x_sum, x_count). */
export function seriesKey(metric: Metric, value: Value): string {
  const name = 'metricName' in value && typeof value.metricName === 'string' ? value.metricName : metric.name;
  return `${name}${JSON.stringify(Object.entries(value.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))}`;
}
