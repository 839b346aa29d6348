import { Collector, JoinParseError } from './parser.js';
import { UnitParser } from './unit-parser.js';

/**
 * WebM / Matroska. The header is the EBML header, a Segment head of unknown
 * size, Info and Tracks (SeekHead, Cues, Tags are left out: their positions
 * mean nothing to a joiner). A join point is a Cluster whose first video
 * block is a SimpleBlock with the keyframe flag (any Cluster when there is
 * no video track). Elements are walked flat: Segment and Cluster are entered
 * (ffmpeg writes them with unknown size when live), everything else is
 * skipped by its size, so any nesting ffmpeg writes is handled alike.
 */

const ID_EBML = 0x1a45dfa3;
const ID_SEGMENT = 0x18538067;
const ID_INFO = 0x1549a966;
const ID_TRACKS = 0x1654ae6b;
const ID_CLUSTER = 0x1f43b675;
const ID_SIMPLE_BLOCK = 0xa3;
const ID_TRACK_ENTRY = 0xae;
const ID_TRACK_NUMBER = 0xd7;
const ID_TRACK_TYPE = 0x83;
const TRACK_TYPE_VIDEO = 1;

/** Segment head rewritten with "unknown size": a joiner gets an open-ended live segment. */
const SEGMENT_UNKNOWN = Buffer.from([0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
const MAX_HEADER = 1 << 20;
/** Longest head: 4-byte ID + 8-byte size; block peek: 8-byte track + 2 + flags. */
const MAX_UNIT = 16;

interface Vint {
  value: number;
  length: number;
  unknown: boolean;
}

/** EBML variable-size integer at b[i]; null when it runs past lim. `keepMarker` for IDs. */
function vint(b: Buffer, i: number, lim: number, keepMarker: boolean): Vint | null {
  if (i >= lim) return null;
  const first = b[i];
  if (first === 0) throw new JoinParseError('invalid EBML variable-size integer');
  const length = Math.clz32(first) - 23;
  if (i + length > lim) return null;
  let value = keepMarker ? first : first & (0xff >> length);
  let allOnes = value === 0xff >> length;
  for (let k = 1; k < length; k++) {
    value = value * 256 + b[i + k];
    if (b[i + k] !== 0xff) allOnes = false;
  }
  return { value, length, unknown: !keepMarker && allOnes };
}

type State = 'head' | 'block';

export class MatroskaParser extends UnitParser {
  private state: State = 'head';
  private blockSize = 0;
  private cached: Buffer | null = null;
  private head = new Collector(MAX_HEADER);
  private tracks: Collector | null = null;
  private videoTracks = new Set<number>();
  private clusterStart = -1;
  /** Offset one past the open Cluster when its size is known; -1 when none or unknown (it ends where the next begins). */
  private clusterEnd = -1;
  private clusterDecided = true;

  constructor() {
    super(MAX_UNIT);
  }

  header(): Buffer | null {
    return this.cached;
  }

  protected unit(b: Buffer, i: number, lim: number, at: number): number {
    return this.state === 'block' ? this.block(b, i, lim) : this.element(b, i, lim, at);
  }

  private element(b: Buffer, i: number, lim: number, at: number): number {
    const id = vint(b, i, lim, true);
    if (id === null) return 0;
    if (id.length > 4) throw new JoinParseError('EBML ID longer than 4 bytes');
    const size = vint(b, i + id.length, lim, false);
    if (size === null) return 0;
    const used = id.length + size.length;
    if (id.value !== ID_EBML && this.head.length === 0 && this.cached === null) {
      throw new JoinParseError('stream does not start with an EBML header');
    }
    switch (id.value) {
      case ID_EBML:
        // A new stream (first one, or the program restarted): a new header comes.
        this.cached = null;
        this.head = new Collector(MAX_HEADER);
        this.clusterStart = -1;
        this.clusterDecided = true;
        this.collect(this.head, b, i, used, size);
        return used;
      case ID_SEGMENT:
        if (this.cached === null) this.head.add(SEGMENT_UNKNOWN);
        return used;
      case ID_INFO:
        if (this.cached === null) this.collect(this.head, b, i, used, size);
        else this.skipOver(size);
        return used;
      case ID_TRACKS:
        if (this.cached === null) {
          this.head.add(b.subarray(i, i + used));
          this.tracks = new Collector(MAX_HEADER);
          this.collect(this.tracks, b, i, 0, size);
        } else {
          this.skipOver(size);
        }
        return used;
      case ID_CLUSTER:
        if (this.cached === null) {
          if (this.head.length === 0) throw new JoinParseError('Cluster before any EBML header');
          this.cached = this.head.take();
        }
        this.clusterStart = at;
        this.clusterEnd = size.unknown ? -1 : at + used + size.value;
        this.clusterDecided = false;
        return used;
      case ID_SIMPLE_BLOCK:
        if (size.unknown) throw new JoinParseError('SimpleBlock of unknown size');
        if (this.clusterDecided) {
          this.skip = size.value;
        } else {
          this.state = 'block';
          this.blockSize = size.value;
        }
        return used;
      default:
        this.skipOver(size);
        return used;
    }
  }

  /** First bytes of a SimpleBlock: track number, timecode, flags. */
  private block(b: Buffer, i: number, lim: number): number {
    const track = vint(b, i, lim, false);
    if (track === null) return 0;
    const need = track.length + 3;
    if (need > this.blockSize) throw new JoinParseError('SimpleBlock too short');
    if (i + need > lim) return 0;
    this.state = 'head';
    this.skip = this.blockSize - need;
    if (this.videoTracks.size === 0 || this.videoTracks.has(track.value)) {
      this.clusterDecided = true;
      if ((b[i + track.length + 2] & 0x80) !== 0 && this.cached !== null) this.join(this.clusterStart);
    }
    return need;
  }

  /** A Cluster of known size cut short would swallow the next one's bytes in a player. */
  protected override groupsClosed(): boolean {
    return this.state === 'head' && (this.clusterEnd < 0 || this.position >= this.clusterEnd);
  }

  private skipOver(size: Vint): void {
    if (size.unknown) throw new JoinParseError('element of unknown size outside Segment/Cluster');
    this.skip = size.value;
  }

  private collect(into: Collector, b: Buffer, i: number, headLength: number, size: Vint): void {
    if (size.unknown) throw new JoinParseError('header element of unknown size');
    into.add(b.subarray(i, i + headLength));
    this.skip = size.value;
    this.sink = into;
  }

  protected override collected(): void {
    const tracks = this.tracks;
    if (tracks === null || this.sink !== null) return;
    this.tracks = null;
    const body = tracks.take();
    this.head.add(body);
    this.videoTracks = videoTracksOf(body);
  }
}

/** Track numbers of the video TrackEntries in a Tracks payload. */
function videoTracksOf(body: Buffer): Set<number> {
  const video = new Set<number>();
  let i = 0;
  while (i < body.length) {
    const id = vint(body, i, body.length, true);
    const size = id && vint(body, i + id.length, body.length, false);
    if (!id || !size || size.unknown) break;
    const start = i + id.length + size.length;
    const end = Math.min(body.length, start + size.value);
    if (id.value === ID_TRACK_ENTRY) {
      let number = -1;
      let type = -1;
      let j = start;
      while (j < end) {
        const cid = vint(body, j, end, true);
        const csize = cid && vint(body, j + cid.length, end, false);
        if (!cid || !csize || csize.unknown) break;
        const cstart = j + cid.length + csize.length;
        if (cstart + csize.value > end) break;
        if (cid.value === ID_TRACK_NUMBER || cid.value === ID_TRACK_TYPE) {
          let v = 0;
          for (let k = 0; k < csize.value && k < 6; k++) v = v * 256 + body[cstart + k];
          if (cid.value === ID_TRACK_NUMBER) number = v;
          else type = v;
        }
        j = cstart + csize.value;
      }
      if (type === TRACK_TYPE_VIDEO && number >= 0) video.add(number);
    }
    i = end;
  }
  return video;
}
