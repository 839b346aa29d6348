import { collectDefaultMetrics, type Registry } from 'prom-client';

/**
 * prom-client's event-loop lag histogram samples on a timer of this period.
 * Its default, 10 ms, woke every process of an idle server 100 times a
 * second (~0.5 % of a core in the primary alone, with nobody connected or
 * scraping); 10 samples a second still give its percentiles plenty to go on.
 */
const EVENT_LOOP_SAMPLE_MS = 100;

/**
 * The process metrics (CPU, memory, GC, event-loop lag, handles) of this
 * process into `registry`, labelled with which process it is (process-labels.ts).
 *
 * `isolateOnly` (a worker thread): only the nodejs_* series, which are this
 * thread's own (heap, GC, event loop, handles). The process_* ones (CPU,
 * RSS, descriptors) would be the whole server's, counted again per thread;
 * the primary's are those of the one process.
 */
export function collectProcessMetrics(registry: Registry, labels: Record<string, string>, isolateOnly = false): void {
  collectDefaultMetrics({ register: registry, labels, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  if (!isolateOnly) return;
  for (const metric of registry.getMetricsAsArray()) {
    const { name } = metric as unknown as { name: string };
    if (name.startsWith('process_')) registry.removeSingleMetric(name);
  }
}
