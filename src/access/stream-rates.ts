/**
 * What one client of each stream costs in bits per second, for
 * max_bandwidth: measured by the workers (bytes sent per stream, and the
 * rate of a shared stream's program), gathered every few seconds. A stream's
 * last measured rate is kept after its clients leave, so the next client is
 * reckoned at it; a stream never measured costs 0 until it has been.
 */
import type { WorkerStats } from '../stats/types.js';

export class StreamRates {
  private readonly perClient = new Map<string, number>();

  update(workers: readonly WorkerStats[]): void {
    const sent = new Map<string, { bits: number; clients: number }>();
    const program = new Map<string, number>();
    for (const worker of workers) {
      for (const row of worker.streams) {
        const total = sent.get(row.name) ?? { bits: 0, clients: 0 };
        total.bits += row.bitrate;
        total.clients += row.clients;
        sent.set(row.name, total);
      }
      // A shared stream's program output is what each of its clients receives.
      for (const source of worker.sources) if (source.kind === 'stream') program.set(source.name, Math.max(program.get(source.name) ?? 0, source.bitrate));
    }
    for (const [name, total] of sent) {
      const measured = Math.max(total.clients > 0 ? total.bits / total.clients : 0, program.get(name) ?? 0);
      if (measured > 0) this.perClient.set(name, measured);
    }
  }

  of(stream: string): number {
    return this.perClient.get(stream) ?? 0;
  }

  /** Bits per second the clients counted in `clients` take. */
  inUse(clients: ReadonlyMap<string, number>): number {
    let total = 0;
    for (const [stream, count] of clients) total += count * this.of(stream);
    return total;
  }
}
