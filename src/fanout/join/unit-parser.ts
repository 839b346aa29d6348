import { JoinParseError, Stash, type Collector, type ContainerParser } from './parser.js';

/**
 * Skeleton of the element/box/tag/frame parsers: the stream is a sequence of
 * small heads ("units": an EBML element head, a box head, an FLV tag head, an
 * audio frame header) each followed by a payload the parser mostly skips by
 * count. A head cut by a chunk boundary is completed in a small stash, so
 * unit() always sees it whole; payload bytes are only touched when a
 * subclass collects them (the cached header).
 */
export abstract class UnitParser implements ContainerParser {
  lastJoin = -1;
  joins = 0;
  /** Payload bytes still to pass over before the next head. */
  protected skip = 0;
  /** While set, skipped bytes are added to it; collected() runs when the skip ends. */
  protected sink: Collector | null = null;
  /** Absolute offset one past the last byte fed. */
  protected position = 0;
  private readonly stash: Stash;

  constructor(maxHead: number) {
    this.stash = new Stash(maxHead);
  }

  abstract header(): Buffer | null;

  /**
   * Parses the head starting at b[i] (stream offset `at`), with b[i..lim)
   * available. Returns the bytes it consumed (> 0), or 0 when it needs more
   * than lim - i; may set skip/sink for the payload.
   */
  protected abstract unit(b: Buffer, i: number, lim: number, at: number): number;

  /** The sink got all the bytes it was set up for. */
  protected collected(): void {}

  /** See ContainerParser.atBoundary: no head or payload half read, and the subclass has no group open. */
  get atBoundary(): boolean {
    return this.skip === 0 && this.stash.len === 0 && this.groupsClosed();
  }

  /** A subclass with known-size groups (Matroska Clusters, MP4 fragments) says whether one is open. */
  protected groupsClosed(): boolean {
    return true;
  }

  protected join(at: number): void {
    this.lastJoin = at;
    this.joins++;
  }

  feed(chunk: Buffer, offset: number): void {
    this.position = offset + chunk.length;
    const end = chunk.length;
    const stash = this.stash;
    let p = 0;
    while (p < end) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, end - p);
        if (this.sink !== null) this.sink.add(chunk.subarray(p, p + n));
        this.skip -= n;
        p += n;
        if (this.skip === 0) this.finishSink();
        continue;
      }
      const old = stash.len;
      let used: number;
      if (old === 0) {
        used = this.unit(chunk, p, end, offset + p);
        if (used === 0) {
          stash.fill(chunk, p, end, stash.capacity);
          return;
        }
        p += used;
      } else {
        stash.fill(chunk, p, end, stash.capacity);
        used = this.unit(stash.buf, 0, stash.len, offset + p - old);
        if (used === 0) {
          if (stash.len >= stash.capacity) throw new JoinParseError('unit head too long');
          return; // all of the chunk went into the stash
        }
        stash.len = 0;
        p += used - old;
      }
      if (this.skip === 0) this.finishSink();
    }
  }

  private finishSink(): void {
    if (this.sink === null) return;
    this.sink = null;
    this.collected();
  }
}

/** Reads a big-endian unsigned integer of `n` bytes (n <= 6 keeps it exact). */
export function readUint(b: Buffer, i: number, n: number): number {
  let v = 0;
  for (let k = 0; k < n; k++) v = v * 256 + b[i + k];
  return v;
}
