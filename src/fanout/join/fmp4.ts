import { Collector, JoinParseError } from './parser.js';
import { UnitParser, readUint } from './unit-parser.js';

/**
 * Fragmented MP4 (ffmpeg -movflags frag_keyframe+empty_moov+default_base_moof).
 * The header is ftyp + moov; a join point is a moof whose first sample of
 * the video track is a sync sample (sample_is_non_sync_sample clear, from
 * trun, tfhd or the moov's trex defaults, in that order). With no video
 * track every fragment is a join point. moof boxes are small and are read
 * whole; mdat payloads are skipped by size.
 */

const MAX_HEADER = 4 << 20;
const MAX_MOOF = 4 << 20;
const NON_SYNC = 0x00010000;

function type(b: Buffer, i: number): string {
  return b.toString('latin1', i + 4, i + 8);
}

interface Box {
  type: string;
  start: number;
  end: number;
}

/** Child boxes of b[start..end); stops quietly at a box that does not fit. */
function* boxes(b: Buffer, start: number, end: number): Generator<Box> {
  let i = start;
  while (i + 8 <= end) {
    let size = b.readUInt32BE(i);
    let head = 8;
    if (size === 1) {
      if (i + 16 > end) return;
      size = readUint(b, i + 8, 8);
      head = 16;
    } else if (size === 0) {
      size = end - i;
    }
    if (size < head || i + size > end) return;
    yield { type: type(b, i), start: i + head, end: i + size };
    i += size;
  }
}

function child(b: Buffer, box: Box, name: string): Box | undefined {
  for (const c of boxes(b, box.start, box.end)) if (c.type === name) return c;
  return undefined;
}

export class Fmp4Parser extends UnitParser {
  private cached: Buffer | null = null;
  private head = new Collector(MAX_HEADER);
  private moov: Collector | null = null;
  private moof: Collector | null = null;
  private moofStart = -1;
  /** A moof came and its mdat is not whole yet: the fragment is open. */
  private fragmentOpen = false;
  private videoTracks = new Set<number>();
  /** trex default_sample_flags by track_ID. */
  private trexFlags = new Map<number, number>();

  constructor() {
    super(16);
  }

  header(): Buffer | null {
    return this.cached;
  }

  protected unit(b: Buffer, i: number, lim: number, at: number): number {
    if (i + 8 > lim) return 0;
    let size = b.readUInt32BE(i);
    let head = 8;
    if (size === 1) {
      if (i + 16 > lim) return 0;
      size = readUint(b, i + 8, 8);
      head = 16;
    }
    if (size === 0) throw new JoinParseError('MP4 box running to end of file in a live stream');
    if (size < head) throw new JoinParseError('MP4 box smaller than its head');
    const name = type(b, i);
    if (name !== 'ftyp' && this.head.length === 0 && this.cached === null) {
      throw new JoinParseError('stream does not start with an ftyp box');
    }
    const headBytes = b.subarray(i, i + head);
    this.skip = size - head;
    if (name === 'moof') this.fragmentOpen = true;
    else if (name === 'mdat') this.fragmentOpen = false;
    if (name === 'ftyp') {
      // A new stream (first one, or the program restarted).
      this.cached = null;
      this.head = new Collector(MAX_HEADER);
      this.head.add(headBytes);
      this.sink = this.head;
    } else if (name === 'moov') {
      if (this.head.length === 0) throw new JoinParseError('moov before ftyp');
      this.moov = new Collector(MAX_HEADER);
      this.moov.add(headBytes);
      this.sink = this.moov;
    } else if (name === 'moof' && this.cached !== null) {
      this.moofStart = at;
      this.moof = new Collector(MAX_MOOF);
      this.moof.add(headBytes);
      this.sink = this.moof;
    }
    return head;
  }

  /** A moof without its mdat is half a fragment. */
  protected override groupsClosed(): boolean {
    return !this.fragmentOpen;
  }

  protected override collected(): void {
    if (this.moov !== null) {
      const moov = this.moov.take();
      this.moov = null;
      this.readMoov(moov);
      this.head.add(moov);
      this.cached = this.head.take();
    } else if (this.moof !== null) {
      const moof = this.moof.take();
      this.moof = null;
      if (this.startsWithSync(moof)) this.join(this.moofStart);
    }
  }

  private readMoov(b: Buffer): void {
    const root: Box = { type: 'moov', start: 8, end: b.length };
    for (const box of boxes(b, root.start, root.end)) {
      if (box.type === 'trak') {
        const tkhd = child(b, box, 'tkhd');
        const mdia = child(b, box, 'mdia');
        const hdlr = mdia && child(b, mdia, 'hdlr');
        if (!tkhd || !hdlr || hdlr.start + 12 > hdlr.end) continue;
        const version = b[tkhd.start];
        const idAt = tkhd.start + (version === 1 ? 20 : 12);
        if (idAt + 4 > tkhd.end) continue;
        if (type(b, hdlr.start + 4) === 'vide') this.videoTracks.add(b.readUInt32BE(idAt));
      } else if (box.type === 'mvex') {
        for (const trex of boxes(b, box.start, box.end)) {
          if (trex.type !== 'trex' || trex.start + 24 > trex.end) continue;
          this.trexFlags.set(b.readUInt32BE(trex.start + 4), b.readUInt32BE(trex.start + 20));
        }
      }
    }
  }

  /** Does the fragment's video (or, with no video, any) track start with a sync sample? */
  private startsWithSync(b: Buffer): boolean {
    const root: Box = { type: 'moof', start: 8, end: b.length };
    for (const traf of boxes(b, root.start, root.end)) {
      if (traf.type !== 'traf') continue;
      const tfhd = child(b, traf, 'tfhd');
      if (!tfhd || tfhd.start + 8 > tfhd.end) continue;
      const trackId = b.readUInt32BE(tfhd.start + 4);
      if (this.videoTracks.size > 0 && !this.videoTracks.has(trackId)) continue;
      let flags = this.trexFlags.get(trackId) ?? 0;
      const tfFlags = b.readUIntBE(tfhd.start + 1, 3);
      if (tfFlags & 0x20) {
        let at = tfhd.start + 8;
        if (tfFlags & 0x01) at += 8;
        if (tfFlags & 0x02) at += 4;
        if (tfFlags & 0x08) at += 4;
        if (tfFlags & 0x10) at += 4;
        if (at + 4 <= tfhd.end) flags = b.readUInt32BE(at);
      }
      const trun = child(b, traf, 'trun');
      if (trun && trun.start + 8 <= trun.end) {
        const trFlags = b.readUIntBE(trun.start + 1, 3);
        let at = trun.start + 8;
        if (trFlags & 0x01) at += 4;
        if (trFlags & 0x04) {
          if (at + 4 <= trun.end) flags = b.readUInt32BE(at);
        } else if (trFlags & 0x400) {
          let sample = at;
          if (trFlags & 0x100) sample += 4;
          if (trFlags & 0x200) sample += 4;
          if (sample + 4 <= trun.end) flags = b.readUInt32BE(sample);
        }
      }
      return (flags & NON_SYNC) === 0;
    }
    return false;
  }
}
