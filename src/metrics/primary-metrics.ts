import { AggregatorRegistry, Counter, Registry } from 'prom-client';
import { collectProcessMetrics } from './process-metrics.js';
import type { WorkerMetricsJson } from '../cluster/messages.js';

/**
 * The primary's own metrics (requests it answers, its process) and the
 * merge of every worker's registry into the one text Prometheus scrapes.
 * Process metrics are summed over the cluster by the aggregator.
 */
export class PrimaryMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'route' | 'status'>;

  constructor() {
    collectProcessMetrics(this.registry);
    this.requests = new Counter({
      name: 'voyandz_http_requests_total',
      help: 'HTTP requests answered, by route and status',
      labelNames: ['route', 'status'],
      registers: [this.registry],
    });
  }

  countRequest(route: string, status: number): void {
    this.requests.inc({ route, status: String(status) });
  }

  async render(workers: WorkerMetricsJson[]): Promise<{ contentType: string; text: string }> {
    const own = (await this.registry.getMetricsAsJSON()) as WorkerMetricsJson;
    const merged = AggregatorRegistry.aggregate([own, ...workers]);
    return { contentType: merged.contentType, text: await merged.metrics() };
  }
}
