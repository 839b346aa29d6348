/**
 * The one buffer a stream keeps for all of its clients: the batches that
 * arrived recently, each with the absolute stream offset of its first byte
 * and the time it arrived. Clients hold offsets into it, never copies.
 *
 * Offsets keep growing for the life of the ring (across program restarts
 * too), so a cursor never has to be rebased when the front is trimmed.
 */

/** Below this many dead slots, compacting would cost more than it frees. */
const COMPACT_MIN_HEAD = 256;

const EMPTY = Buffer.alloc(0);

export class StreamRing {
  // Parallel arrays rather than an array of records: no object per chunk.
  private bufs: Buffer[] = [];
  private offs: number[] = [];
  private times: number[] = [];
  /** Index of the oldest chunk still held; slots before it are dead. */
  private head = 0;
  private endOffset = 0;

  /** Offset of the oldest byte held (== end when empty). */
  get start(): number {
    return this.head < this.bufs.length ? this.offs[this.head] : this.endOffset;
  }

  /** Offset one past the newest byte held: the live edge. */
  get end(): number {
    return this.endOffset;
  }

  get bufferedBytes(): number {
    return this.endOffset - this.start;
  }

  /** Number of chunks held. Indices below are 0..length-1, oldest first. */
  get length(): number {
    return this.bufs.length - this.head;
  }

  /** Takes ownership of `chunk`: it is shared, never copied. */
  append(chunk: Buffer, time: number): void {
    if (chunk.length === 0) return;
    this.bufs.push(chunk);
    this.offs.push(this.endOffset);
    this.times.push(time);
    this.endOffset += chunk.length;
  }

  chunkAt(i: number): Buffer {
    return this.bufs[this.head + i];
  }

  startAt(i: number): number {
    return this.offs[this.head + i];
  }

  /** Index of the chunk that holds byte `offset`, or -1 when it is not held. */
  indexOf(offset: number): number {
    const offs = this.offs;
    let lo = this.head;
    let hi = offs.length - 1;
    if (lo > hi || offset < offs[lo] || offset >= this.endOffset) return -1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (offs[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo - this.head;
  }

  /** Arrival time of the byte at `offset`, or NaN when it is not held. */
  arrivalOf(offset: number): number {
    const i = this.indexOf(offset);
    return i < 0 ? Number.NaN : this.times[this.head + i];
  }

  /**
   * Drops whole chunks from the front: every chunk that ends at or before
   * `offset`, and every chunk that arrived before `olderThan`. A chunk that
   * `offset` falls inside is kept whole.
   */
  trim(offset: number, olderThan = Number.NEGATIVE_INFINITY): void {
    const bufs = this.bufs;
    const offs = this.offs;
    const times = this.times;
    let h = this.head;
    const n = bufs.length;
    while (h < n && (offs[h] + bufs[h].length <= offset || times[h] < olderThan)) {
      // Release the Buffer now; the slot itself goes at the next compaction.
      bufs[h] = EMPTY;
      h++;
    }
    this.head = h;
    if (h === n) {
      this.bufs.length = 0;
      this.offs.length = 0;
      this.times.length = 0;
      this.head = 0;
    } else if (h >= COMPACT_MIN_HEAD && h * 2 >= n) {
      this.bufs.splice(0, h);
      this.offs.splice(0, h);
      this.times.splice(0, h);
      this.head = 0;
    }
  }

  /** Forgets every chunk; offsets keep counting from the current end. */
  clear(): void {
    this.trim(this.endOffset);
  }
}
