/**
 * What a container join policy needs from a container: one incremental
 * parser per stream, fed every batch in order, keeping only the cached
 * header and the offset of the latest join point.
 */

export interface ContainerParser {
  /**
   * Consumes the next bytes of the stream (`offset`: absolute offset of
   * chunk[0]). Chunks split anywhere. Throws JoinParseError on data it
   * cannot make sense of; the caller then gives up on it.
   */
  feed(chunk: Buffer, offset: number): void;
  /** Bytes a joiner needs before the join point (header), or null when none is needed. */
  header(): Buffer | null;
  /** Absolute offset of the most recent join point, -1 when none seen. */
  readonly lastJoin: number;
  /** Join points seen so far. */
  readonly joins: number;
  /**
   * Of `joins`, those at the stream's very start (multipart's first
   * delimiter line); default 0. The policy offers the start itself, so a
   * stream with no join point beyond these, once its start left the ring,
   * is one the parser finds nothing in: it is joined raw at once.
   */
  readonly startJoins?: number;
  /**
   * The bytes so far end where the next unit may begin (a whole element,
   * box or tag; with a known-size group open — a Matroska Cluster, an MP4
   * fragment's moof without its mdat — only once the group is whole).
   * Read only for containers whose header comes once (see ContainerJoinPolicy.runState);
   * undefined where nobody asks.
   */
  readonly atBoundary?: boolean;
}

export class JoinParseError extends Error {}

/**
 * Holds the start of a unit (packet, element head, frame header) that a
 * chunk boundary cut, so parsers can always read a unit from one buffer.
 * Only small units go through it; payloads are skipped by count.
 */
export class Stash {
  readonly buf: Buffer;
  len = 0;

  constructor(readonly capacity: number) {
    this.buf = Buffer.alloc(capacity);
  }

  /** Appends up to `want - len` bytes of chunk[p..end); returns how many it took. */
  fill(chunk: Buffer, p: number, end: number, want: number): number {
    const n = Math.min(want - this.len, end - p);
    if (n <= 0) return 0;
    if (this.len + n > this.capacity) throw new JoinParseError('unit larger than the stash');
    chunk.copy(this.buf, this.len, p, p + n);
    this.len += n;
    return n;
  }
}

/** Collects bytes spread over chunks (a header being cached) into one Buffer. */
export class Collector {
  private parts: Buffer[] = [];
  private size = 0;

  constructor(readonly limit: number) {}

  get length(): number {
    return this.size;
  }

  add(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.size += bytes.length;
    if (this.size > this.limit) throw new JoinParseError(`header larger than ${this.limit} bytes`);
    // Copied: chunks are shared with sinks and the ring, and this outlives them.
    this.parts.push(Buffer.from(bytes));
  }

  take(): Buffer {
    const out = Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    return out;
  }
}
