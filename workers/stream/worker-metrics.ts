import { Counter, Gauge, Registry } from 'prom-client';
import { collectProcessMetrics } from '../../src/metrics/process-metrics.js';
import type { WorkerStats } from '../../src/stats/types.js';
import { processLabels } from '../../src/metrics/process-labels.js';

/**
 * One worker's metrics. Values are read from the runtime's stats when
 * Prometheus scrapes (collect callbacks), so the per-byte path never touches
 * a metric object. Counters are re-set from the runtime's own totals, which
 * live as long as the worker, so they only rise (the primary carries a dead
 * worker's last values).
 * Every known stream, feed and program is exported, at 0 too: a series that
 * appears only on its first event breaks rate() and absence alerts.
 */
export class WorkerMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'route' | 'status'>;
  private snapshot: WorkerStats | null = null;

  constructor(
    workerId: number,
    mode: 'process' | 'thread',
    private readonly read: () => WorkerStats,
  ) {
    collectProcessMetrics(this.registry, processLabels(workerId), mode === 'thread');
    const registers = [this.registry];
    const stats = (): WorkerStats => (this.snapshot ??= this.read());

    new Gauge({
      name: 'voyandz_stream_clients',
      help: 'HTTP clients connected to a stream',
      labelNames: ['stream'],
      registers,
      collect() {
        this.reset();
        for (const s of stats().streams) this.set({ stream: s.name }, s.clients);
      },
    });
    new Counter({
      name: 'voyandz_stream_sent_bytes_total',
      help: 'Bytes of stream data sent to clients',
      labelNames: ['stream'],
      registers,
      collect() {
        this.reset();
        for (const s of stats().streams) this.inc({ stream: s.name }, s.bytesSent);
      },
    });
    new Counter({
      name: 'voyandz_stream_connections_total',
      help: 'Stream clients handed to a worker, counted when they connect (shots: each request)',
      labelNames: ['stream'],
      registers,
      collect() {
        this.reset();
        for (const s of stats().streams) this.inc({ stream: s.name }, s.connections);
      },
    });
    new Counter({
      name: 'voyandz_clients_dropped_total',
      help:
        'Clients disconnected by the server, by reason (lag: more than max_lag behind; header-changed, cut-mid-unit, ' +
        'container-changed, no-join-point: the stream started over in a way its WebM/MP4/FLV readers could not follow, so they reconnect)',
      labelNames: ['stream', 'reason'],
      registers,
      collect() {
        this.reset();
        for (const s of stats().streams) {
          this.inc({ stream: s.name, reason: 'lag' }, s.droppedForLag);
          for (const [reason, count] of Object.entries(s.closedOnRestart)) this.inc({ stream: s.name, reason }, count);
        }
      },
    });
    new Counter({
      name: 'voyandz_pull_errors_total',
      help: 'Pulls of relays (feeds and streams with pull:) that ended while needed, by reason: connect, timeout, status (not 200), content-type, redirect, lost, ended (by the origin)',
      labelNames: ['name', 'kind', 'reason'],
      registers,
      collect() {
        this.reset();
        for (const s of stats().sources) {
          for (const [reason, count] of Object.entries(s.program.pull?.ends ?? {})) this.inc({ name: s.name, kind: s.kind, reason }, count);
        }
      },
    });
    new Counter({
      name: 'voyandz_clients_skipped_total',
      help: 'Times a client with lag_policy: skip, more than max_lag behind, was moved ahead to the latest join point',
      labelNames: ['stream'],
      registers,
      collect() {
        this.reset();
        for (const s of stats().streams) this.inc({ stream: s.name }, s.skippedForLag);
      },
    });
    new Counter({
      name: 'voyandz_peer_resyncs_total',
      help: 'Peer links (worker to worker) that fell more than max_lag behind and were linked again at a join point, keeping their clients',
      labelNames: ['stream'],
      registers,
      collect() {
        this.reset();
        for (const s of stats().streams) this.inc({ stream: s.name }, s.peerResyncs);
      },
    });
    new Counter({
      name: 'voyandz_feed_read_bytes_total',
      help: "Bytes read from a feed program's stdout",
      labelNames: ['feed'],
      registers,
      collect() {
        this.reset();
        for (const s of stats().sources) if (s.kind === 'feed') this.inc({ feed: s.name }, s.bytesIn);
      },
    });
    new Gauge({
      name: 'voyandz_feed_up',
      help: 'Whether the feed program is running (1) or not (0)',
      labelNames: ['feed'],
      registers,
      collect() {
        this.reset();
        for (const s of stats().sources) if (s.kind === 'feed') this.set({ feed: s.name }, s.state === 'running' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'voyandz_program_backing_off',
      help: 'Whether a feed or shared-stream program died while needed and waits to be restarted (1) or not (0)',
      labelNames: ['name', 'kind'],
      registers,
      collect() {
        this.reset();
        for (const s of stats().sources) this.set({ name: s.name, kind: s.kind }, s.state === 'restarting' ? 1 : 0);
      },
    });
    new Counter({
      name: 'voyandz_program_restarts_total',
      help: 'Restarts of feed and shared-stream programs that died while needed',
      labelNames: ['name', 'kind'],
      registers,
      collect() {
        this.reset();
        for (const s of stats().sources) this.inc({ name: s.name, kind: s.kind }, s.restarts);
      },
    });
    new Counter({
      name: 'voyandz_program_stalls_total',
      help: 'Feed and shared-stream programs killed (and restarted) for writing nothing during stall_timeout while needed',
      labelNames: ['name', 'kind'],
      registers,
      collect() {
        this.reset();
        for (const s of stats().sources) this.inc({ name: s.name, kind: s.kind }, s.stalls);
      },
    });
    new Gauge({
      name: 'voyandz_worker_load',
      help: "Fraction of the last quarter second or more a worker's event loop was busy (0..1); shared streams' clients spill by it (spill_load)",
      labelNames: ['worker'],
      registers,
      collect() {
        this.set({ worker: String(workerId) }, stats().load);
      },
    });
    this.requests = new Counter({
      name: 'voyandz_http_requests_total',
      help: 'HTTP requests answered, by route and status',
      labelNames: ['route', 'status'],
      registers,
    });
  }

  countRequest(route: string, status: number): void {
    this.requests.inc({ route, status: String(status) });
  }

  /** One stats snapshot per scrape, shared by every collect callback. */
  async json(): Promise<unknown[]> {
    this.snapshot = null;
    try {
      return await this.registry.getMetricsAsJSON();
    } finally {
      this.snapshot = null;
    }
  }
}
