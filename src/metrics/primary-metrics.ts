import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import { collectProcessMetrics } from './process-metrics.js';
import type { WorkerMetricsJson } from '../cluster/messages.js';
import { VERSION } from '../version.js';
import { processLabels } from './process-labels.js';
import { MonotonicFloor } from './monotonic-floor.js';

/**
 * The primary's own metrics (requests it answers, its process) and the
 * merge of every worker's registry into the one text Prometheus scrapes.
 * voyandz_* series are summed over the cluster by the aggregator; the
 * per-process ones (process_*, nodejs_*) carry `role` and `worker` labels
 * (process-labels.ts), so each process keeps its own series: summing
 * process_max_fds or a start time over processes means nothing.
 */
export class PrimaryMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'route' | 'status'>;
  private readonly workerRestarts: Counter<'worker'>;
  private readonly floor = new MonotonicFloor();

  constructor() {
    collectProcessMetrics(this.registry, processLabels(null));
    new Gauge({
      name: 'voyandz_build_info',
      help: 'Always 1: the running voyandz version and Node.js version, as labels',
      labelNames: ['version', 'node'],
      registers: [this.registry],
      aggregator: 'first',
      collect() {
        this.set({ version: VERSION, node: process.version }, 1);
      },
    });
    this.requests = new Counter({
      name: 'voyandz_http_requests_total',
      help: 'HTTP requests answered, by route and status',
      labelNames: ['route', 'status'],
      registers: [this.registry],
    });
    this.workerRestarts = new Counter({
      name: 'voyandz_worker_restarts_total',
      help: 'Workers that died (crash, kill, OOM) and were started again, by worker id',
      labelNames: ['worker'],
      registers: [this.registry],
    });
  }

  /** Every worker's series from the start, at 0: a rate() or an alert on it needs the series before the first death. */
  showWorkers(count: number): void {
    for (let worker = 0; worker < count; worker++) this.workerRestarts.inc({ worker: String(worker) }, 0);
  }

  countWorkerRestart(worker: number): void {
    this.workerRestarts.inc({ worker: String(worker) });
  }

  countRequest(route: string, status: number): void {
    this.requests.inc({ route, status: String(status) });
  }

  async render(workers: WorkerMetricsJson[]): Promise<{ contentType: string; text: string }> {
    const own = (await this.registry.getMetricsAsJSON()) as WorkerMetricsJson;
    // prom-client omits process_start_time_seconds from a merge: one start time for many processes means nothing.
    // Labelled per process, each is its own series, so nothing is lost by keeping them.
    const merged = AggregatorRegistry.aggregate([own, ...workers].map((metrics) => metrics.map(keepPerProcess)));
    const floored = this.floor.apply(await merged.getMetricsAsJSON());
    const out = AggregatorRegistry.aggregate([floored]);
    return { contentType: out.contentType, text: await out.metrics() };
  }
}

function keepPerProcess(metric: WorkerMetricsJson[number]): WorkerMetricsJson[number] {
  return metric.aggregator === 'omit' ? { ...metric, aggregator: 'first' } : metric;
}
