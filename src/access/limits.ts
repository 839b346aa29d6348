/**
 * The primary's count of stream clients, against max_clients (server and
 * per stream), max_bandwidth and max_clients_per_ip. Every client the
 * primary hands to a worker is admitted here first and holds a slot until
 * the worker reports it closed, the hand-off fails, or its worker dies (the
 * worker pool reports all three as `release`): counts cannot drift, whatever
 * the workers do. Limits are passed at each admission, so a reload applies
 * to the next client without recounting.
 */

export interface Limits {
  maxClients: number | null;
  streamMaxClients: number | null;
  maxBandwidth: number | null;
  maxClientsPerIp: number | null;
}

export interface Candidate {
  stream: string;
  client: string;
  /** Estimated bits per second one more client of this stream costs (0: not known yet). */
  bitsPerSecond: number;
}

export type Admission =
  | { ok: true; id: number }
  | { ok: false; limit: 'max_clients'; scope: 'server' | 'stream'; max: number }
  | { ok: false; limit: 'max_bandwidth'; max: number }
  | { ok: false; limit: 'per_ip'; max: number };

interface Slot {
  stream: string;
  client: string;
}

export class ClientLedger {
  private nextId = 1;
  private readonly slots = new Map<number, Slot>();
  private readonly perStream = new Map<string, number>();
  private readonly perClient = new Map<string, number>();

  /** `bandwidthInUse`: bits/s the current clients take (see stream-rates.ts). */
  admit(candidate: Candidate, limits: Limits, bandwidthInUse: () => number): Admission {
    const { stream, client } = candidate;
    if (limits.maxClients !== null && this.slots.size >= limits.maxClients) return { ok: false, limit: 'max_clients', scope: 'server', max: limits.maxClients };
    if (limits.streamMaxClients !== null && (this.perStream.get(stream) ?? 0) >= limits.streamMaxClients) {
      return { ok: false, limit: 'max_clients', scope: 'stream', max: limits.streamMaxClients };
    }
    if (limits.maxBandwidth !== null && candidate.bitsPerSecond > 0 && bandwidthInUse() + candidate.bitsPerSecond > limits.maxBandwidth) {
      return { ok: false, limit: 'max_bandwidth', max: limits.maxBandwidth };
    }
    if (limits.maxClientsPerIp !== null && (this.perClient.get(client) ?? 0) >= limits.maxClientsPerIp) {
      return { ok: false, limit: 'per_ip', max: limits.maxClientsPerIp };
    }
    const id = this.nextId++;
    this.slots.set(id, { stream, client });
    bump(this.perStream, stream, 1);
    bump(this.perClient, client, 1);
    return { ok: true, id };
  }

  /** Idempotent: a slot released twice (closed, then its worker died) is freed once. */
  release(id: number): void {
    const slot = this.slots.get(id);
    if (!slot) return;
    this.slots.delete(id);
    bump(this.perStream, slot.stream, -1);
    bump(this.perClient, slot.client, -1);
  }

  get total(): number {
    return this.slots.size;
  }

  streamCount(stream: string): number {
    return this.perStream.get(stream) ?? 0;
  }

  /** Clients per stream, streams with none left out. */
  streams(): ReadonlyMap<string, number> {
    return this.perStream;
  }

  get addresses(): number {
    return this.perClient.size;
  }
}

function bump(map: Map<string, number>, key: string, by: number): void {
  const next = (map.get(key) ?? 0) + by;
  if (next <= 0) map.delete(key);
  else map.set(key, next);
}
