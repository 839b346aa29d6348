import type { WorkerMetricsJson } from '../cluster/messages.js';
import { isCumulative, seriesKey } from './series.js';

type Metric = WorkerMetricsJson[number];
type Value = Metric['values'][number];

/**
 * The counters of workers that died, summed into one set of series. A
 * worker's counters start from zero when it is respawned; adding what the
 * dead one had counted keeps every cluster total non-decreasing, which is
 * what Prometheus' rate() and resets() rely on. Histograms (GC pauses) are
 * carried like counters. Gauges are not: they died with the worker.
 */
export class CarriedCounters {
  private readonly byName = new Map<string, { metric: Metric; values: Map<string, Value> }>();

  add(metrics: WorkerMetricsJson): void {
    for (const metric of metrics) {
      if (!isCumulative(metric)) continue;
      let entry = this.byName.get(metric.name);
      if (!entry) {
        entry = { metric: { ...metric, values: [] }, values: new Map() };
        this.byName.set(metric.name, entry);
      }
      for (const value of metric.values) {
        const key = seriesKey(metric, value);
        const held = entry.values.get(key);
        entry.values.set(key, held ? { ...held, value: held.value + value.value } : { ...value });
      }
    }
  }

  /** As one more worker's metrics, for the aggregator; empty when no worker died. */
  toJson(): WorkerMetricsJson {
    return [...this.byName.values()].map(({ metric, values }) => ({ ...metric, values: [...values.values()] }));
  }
}
