import { performance, type EventLoopUtilization } from 'node:perf_hooks';

/** Shorter windows would report the spike of one hand-off burst, not the load. */
const WINDOW_MS = 250;

/**
 * How busy this worker's event loop is: the fraction of the last window (at
 * least WINDOW_MS) it spent running rather than waiting. The primary places
 * shared streams' clients by it (src/cluster/placement.ts); /stat.json and
 * /metrics show it. It is sampled only when a hand-off is acknowledged or
 * stats are asked for, so it costs nothing while nobody looks and no client
 * arrives; the first sample after a quiet spell averages over all of it.
 */
export class LoadMeter {
  private mark: EventLoopUtilization = performance.eventLoopUtilization();
  private last = 0;

  sample(): number {
    const since = performance.eventLoopUtilization(this.mark);
    if (since.idle + since.active >= WINDOW_MS) {
      this.last = since.utilization;
      this.mark = performance.eventLoopUtilization();
    }
    return this.last;
  }
}
