/**
 * The console's memory: clients and output bitrate of every stream,
 * sampled every few seconds over the last 15 minutes, kept in the primary
 * (a worker that dies or a reload loses nothing of it).
 */
export const HISTORY_SAMPLE_MS = 5000;
const HISTORY_SAMPLES = (15 * 60 * 1000) / HISTORY_SAMPLE_MS;

export interface StreamSample {
  clients: number;
  bitrate: number;
}

export class StatHistory {
  private readonly series = new Map<string, StreamSample[]>();

  record(streams: readonly ({ name: string } & StreamSample)[]): void {
    const seen = new Set<string>();
    for (const { name, clients, bitrate } of streams) {
      seen.add(name);
      let list = this.series.get(name);
      if (!list) {
        list = [];
        this.series.set(name, list);
      }
      list.push({ clients, bitrate });
      if (list.length > HISTORY_SAMPLES) list.shift();
    }
    // Streams gone from the config (a reload) take their history with them.
    for (const name of this.series.keys()) if (!seen.has(name)) this.series.delete(name);
  }

  /** Oldest first; empty for a stream never sampled. */
  of(name: string): readonly StreamSample[] {
    return this.series.get(name) ?? [];
  }
}
