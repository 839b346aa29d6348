import { Counter, Gauge, type Registry } from 'prom-client';
import type { RefusalReason } from '../access/refusal.js';

export interface AccessMetricsSources {
  /** Clients per stream as the primary counts them against the limits. */
  counted(): ReadonlyMap<string, number>;
  /** Effective max_clients per stream (streams without a limit left out). */
  limits(): ReadonlyMap<string, number>;
  pendingHeads(): number;
}

/**
 * The primary's metrics of access control and limits, in its registry
 * (merged with the workers' on /metrics like the rest).
 */
export class AccessMetrics {
  private readonly refused: Counter<'route' | 'reason'>;
  private readonly acceptErrors: Counter<'code'>;
  private readonly handoffsLost: Counter;

  constructor(registry: Registry, sources: AccessMetricsSources) {
    const registers = [registry];
    this.refused = new Counter({
      name: 'voyandz_requests_refused_total',
      help: 'Requests and connections refused by access rules and limits, by route and reason',
      labelNames: ['route', 'reason'],
      registers,
    });
    new Gauge({
      name: 'voyandz_stream_clients_limit',
      help: 'max_clients of each stream that has one (its own, or the server-wide one)',
      labelNames: ['stream'],
      registers,
      collect() {
        this.reset();
        for (const [stream, limit] of sources.limits()) this.set({ stream }, limit);
      },
    });
    new Gauge({
      name: 'voyandz_stream_clients_counted',
      help: 'Stream clients the primary counts against the limits (handed to a worker and not yet closed)',
      labelNames: ['stream'],
      registers,
      collect() {
        this.reset();
        for (const [stream, count] of sources.counted()) this.set({ stream }, count);
      },
    });
    new Gauge({
      name: 'voyandz_pending_heads',
      help: 'Connections waiting for a request head',
      registers,
      collect() {
        this.set(sources.pendingHeads());
      },
    });
    this.acceptErrors = new Counter({
      name: 'voyandz_accept_errors_total',
      help: 'Failures to accept a connection (EMFILE/ENFILE: out of file descriptors), by code',
      labelNames: ['code'],
      registers,
    });
    this.handoffsLost = new Counter({
      name: 'voyandz_handoffs_lost_total',
      help: 'Clients a worker did not acknowledge within 10 s of being sent there (out of file descriptors, or stalled); closed',
      registers,
    });
  }

  countRefused(route: string, reason: RefusalReason): void {
    this.refused.inc({ route, reason });
  }

  countAcceptError(code: string): void {
    this.acceptErrors.inc({ code });
  }

  countHandoffLost(): void {
    this.handoffsLost.inc();
  }
}
