import type { Container } from './container.js';
import { IN_BAND, RawJoinPolicy, type JoinPoint, type JoinPolicy, type RunState } from './policy.js';

/** Enough for two TS packets and any other container's magic. */
const SNIFF_BYTES = 2 * 188 + 1;
/** First bytes of every container recognised; anything else is raw at once. */
const MAY_START = new Set([0x1a, 0x00, 0x46, 0x49, 0x47, 0x2d, 0xff]);
/** Past this without a verdict the data is taken as raw. */
const GIVE_UP_BYTES = 64 * 1024;

/**
 * The container a stream's first bytes show, or undefined when they are not
 * enough to tell yet (`final`: no more are coming, decide now).
 */
function sniffContainer(head: Buffer, final: boolean): Container | 'raw' | undefined {
  if (head.length >= 4 && head.readUInt32BE(0) === 0x1a45dfa3) return 'matroska';
  if (head.length >= 8 && head.toString('latin1', 4, 8) === 'ftyp') return 'fmp4';
  if (head.length >= 4 && head.toString('latin1', 0, 3) === 'FLV' && head[3] === 1) return 'flv';
  if (head.length >= 3 && head.toString('latin1', 0, 3) === 'ID3') return 'mp3';
  if (head[0] === 0x47) {
    if (head.length > 2 * 188) return head[188] === 0x47 && head[376] === 0x47 ? 'mpegts' : 'raw';
    if (!final) return undefined;
  }
  if (head.length >= 2 && head[0] === 0x2d && head[1] === 0x2d) {
    const eol = head.indexOf('\r\n');
    if (eol > 2) return 'multipart';
    if (!final && head.length < 256) return undefined;
  }
  if (head.length >= 2 && head[0] === 0xff) {
    // ADTS: 12 sync bits, then layer 00; MPEG audio: 11 sync bits and a layer.
    if ((head[1] & 0xf6) === 0xf0) return 'adts';
    if ((head[1] & 0xe0) === 0xe0) return 'mp3';
  }
  // Too short to tell, but only if it could still become one: EBML, an MP4 box size, FLV, ID3, TS, '--', a sync.
  if (head.length < 8 && !final && MAY_START.has(head.at(0) ?? 0)) return undefined;
  return 'raw';
}

/**
 * The join policy of a feed, which has no mimetype: it looks at the first
 * bytes of each run, recognises the container, and from then on is that
 * container's policy (fed the bytes it saw while deciding). Until it knows,
 * readers are parked, and the bytes are kept for the policy it will become.
 */
export class SniffingJoinPolicy implements JoinPolicy {
  private inner: JoinPolicy | null = null;
  private held: { chunk: Buffer; offset: number }[] = [];
  private heldBytes = 0;
  /** joinsSeen must only grow: what earlier runs' policies counted, plus one per verdict. */
  private base = 0;

  constructor(private readonly policyFor: (container: Container | 'raw', head: Buffer) => JoinPolicy) {}

  get name(): string {
    return this.inner === null ? 'sniffing' : this.inner.name;
  }

  get joinsSeen(): number {
    return this.base + (this.inner?.joinsSeen ?? 0);
  }

  observe(chunk: Buffer, offset: number): void {
    if (this.inner !== null) {
      this.inner.observe(chunk, offset);
      return;
    }
    this.held.push({ chunk, offset });
    this.heldBytes += chunk.length;
    if (this.heldBytes < SNIFF_BYTES && this.heldBytes < GIVE_UP_BYTES) {
      const verdict = sniffContainer(this.head(), false);
      if (verdict === undefined) return;
      this.become(verdict);
      return;
    }
    this.become(sniffContainer(this.head(), true) ?? 'raw');
  }

  joinPoint(ringStart: number, ringEnd: number, since?: number): JoinPoint | null {
    if (this.inner === null) return null;
    // In the current policy's own count; a sink parked before it existed gets its latest join point.
    return this.inner.joinPoint(ringStart, ringEnd, since === undefined ? undefined : since - this.base);
  }

  retainFrom(ringEnd: number): number {
    if (this.inner !== null) return this.inner.retainFrom(ringEnd);
    return this.held.length > 0 ? this.held[0].offset : ringEnd;
  }

  runState(): RunState {
    if (this.inner === null) return { kind: 'unknown', header: null, atBoundary: true, lastJoin: -1 };
    return this.inner.runState?.() ?? IN_BAND;
  }

  reset(): void {
    this.base += this.inner?.joinsSeen ?? 0;
    this.inner = null;
    this.held = [];
    this.heldBytes = 0;
  }

  private head(): Buffer {
    return this.held.length === 1 ? this.held[0].chunk : Buffer.concat(this.held.map((h) => h.chunk));
  }

  private become(container: Container | 'raw'): void {
    const inner = container === 'raw' ? new RawJoinPolicy() : this.policyFor(container, this.head());
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const { chunk, offset } of held) inner.observe(chunk, offset);
    this.base++;
    this.inner = inner;
  }
}
