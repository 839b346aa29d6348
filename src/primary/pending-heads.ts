/**
 * Connections waiting for a request head (a new connection, or a keep-alive
 * one between requests), oldest first, capped at max_pending_heads. At the
 * cap, the oldest connection that has waited longer than SLOW_MS makes room
 * for the new one (a slowloris client holds its place only until a real
 * client needs it); when even the oldest is young — a real burst — the new
 * connection is refused and closed at once.
 */

/** A client sending a normal request has its head in well under this. */
const SLOW_MS = 1000;

interface Waiting {
  since: number;
  evict: () => void;
}

export class PendingHeads {
  /** Map order is insertion order: the first entry waited longest. */
  private readonly waiting = new Map<object, Waiting>();

  constructor(
    private readonly max: () => number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Start waiting for `connection`'s head. False: no room; the caller closes
   * it. `evict` is called if it is later pushed out to make room.
   */
  enter(connection: object, evict: () => void): boolean {
    this.waiting.delete(connection);
    if (this.waiting.size >= this.max()) {
      const oldest = this.waiting.entries().next();
      if (oldest.done || this.now() - oldest.value[1].since < SLOW_MS) return false;
      this.waiting.delete(oldest.value[0]);
      oldest.value[1].evict();
    }
    this.waiting.set(connection, { since: this.now(), evict });
    return true;
  }

  leave(connection: object): void {
    this.waiting.delete(connection);
  }

  get size(): number {
    return this.waiting.size;
  }
}
