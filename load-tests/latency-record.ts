/**
 * The latency probe's wire format: fixed-size records, each starting with
 *
 *   0  magic "VOYLAT\0\1"   8 bytes
 *   8  record size          u32 LE (header included)
 *  12  sequence number      u32 LE
 *  16  monotonic ms         f64 LE (CLOCK_MONOTONIC, shared by every process of the machine)
 *  24  wall-clock ms        f64 LE (Date.now(), for people reading a capture)
 *
 * then zero padding. The monotonic clock is what latency is computed from:
 * it is the same clock in the feed and in the clients, with µs resolution,
 * and never jumps. A reader that joins mid-record finds the next magic.
 */

export const MAGIC = Buffer.from('VOYLAT\x00\x01', 'latin1');
export const HEADER_BYTES = 32;

/** CLOCK_MONOTONIC in ms, comparable between processes of one machine. */
export function monoMs(): number {
  const [s, ns] = process.hrtime();
  return s * 1e3 + ns / 1e6;
}

export function writeHeader(record: Buffer, seq: number, mono: number, wall: number): void {
  MAGIC.copy(record, 0);
  record.writeUInt32LE(record.length, 8);
  record.writeUInt32LE(seq >>> 0, 12);
  record.writeDoubleLE(mono, 16);
  record.writeDoubleLE(wall, 24);
}

/**
 * Follows one client's byte stream and reports the emission time of each
 * record header as it completes. Before the first magic it buffers (once,
 * a few KB); after it, it only copies the 32 header bytes of each record.
 */
export class RecordTracker {
  private synced = false;
  private pending: Buffer | null = null;
  private readonly header = Buffer.allocUnsafe(HEADER_BYTES);
  /** Position inside the current record. */
  private pos = 0;
  private size = HEADER_BYTES;
  resyncs = 0;

  /** Feeds bytes [start, end) of `buf`; calls `onRecord(monoMs)` per complete header. */
  feed(buf: Buffer, start: number, end: number, onRecord: (mono: number) => void): void {
    let i = start;
    if (!this.synced) {
      i = this.sync(buf, start, end);
      if (i < 0) return;
    }
    while (i < end) {
      if (this.pos < HEADER_BYTES) {
        const n = Math.min(HEADER_BYTES - this.pos, end - i);
        buf.copy(this.header, this.pos, i, i + n);
        this.pos += n;
        i += n;
        if (this.pos === HEADER_BYTES) {
          if (this.header.compare(MAGIC, 0, MAGIC.length, 0, MAGIC.length) !== 0) {
            // Lost framing (should not happen on a byte-exact stream): find the next magic.
            this.resyncs++;
            this.synced = false;
            this.pending = null;
            i = this.sync(buf, i, end);
            if (i < 0) return;
            continue;
          }
          this.size = Math.max(HEADER_BYTES, this.header.readUInt32LE(8));
          onRecord(this.header.readDoubleLE(16));
        }
      } else {
        const n = Math.min(this.size - this.pos, end - i);
        this.pos += n;
        i += n;
      }
      if (this.pos === this.size) this.pos = 0;
    }
  }

  /** Looks for the magic; on success the header is rewound to its start and the index of its first byte returned, else -1. */
  private sync(buf: Buffer, start: number, end: number): number {
    const fresh = buf.subarray(start, end);
    const data = this.pending ? Buffer.concat([this.pending, fresh]) : fresh;
    const at = data.indexOf(MAGIC);
    if (at < 0) {
      // Keep just enough to find a magic split over two reads.
      this.pending = Buffer.from(data.subarray(Math.max(0, data.length - (MAGIC.length - 1))));
      return -1;
    }
    this.synced = true;
    this.pos = 0;
    const fromPending = this.pending ? this.pending.length : 0;
    this.pending = null;
    if (at >= fromPending) return start + (at - fromPending);
    // The magic began in the kept bytes: replay them into the header first.
    const head = data.subarray(at, fromPending);
    head.copy(this.header, 0);
    this.pos = head.length;
    return start;
  }
}
