import { Collector, JoinParseError } from './parser.js';
import { UnitParser, readUint } from './unit-parser.js';

/**
 * FLV. The header is the FLV file header, the latest onMetaData script tag
 * and the latest AVC/HEVC and AAC sequence headers (decoder configuration a
 * joiner cannot do without). A join point is a video keyframe tag (any
 * audio tag when the stream has no video).
 */

const TAG_AUDIO = 8;
const TAG_VIDEO = 9;
const TAG_SCRIPT = 18;
const FILE_HEAD = 13; // 9-byte header + PreviousTagSize0
const TAG_HEAD = 11;
const MAX_TAG_COPY = 1 << 20;

export class FlvParser extends UnitParser {
  private fileHead: Buffer | null = null;
  private hasVideo = true;
  private meta: Buffer | null = null;
  private videoConfig: Buffer | null = null;
  private audioConfig: Buffer | null = null;
  private cached: Buffer | null = null;
  private copying: Collector | null = null;
  private copyingKind = 0;

  constructor() {
    super(FILE_HEAD + TAG_HEAD);
  }

  header(): Buffer | null {
    if (this.cached === null && this.fileHead !== null) {
      const parts = [this.fileHead, this.meta, this.videoConfig, this.audioConfig].filter((p): p is Buffer => p !== null);
      this.cached = Buffer.concat(parts);
    }
    return this.cached;
  }

  protected unit(b: Buffer, i: number, lim: number, at: number): number {
    if (i + 3 > lim) return 0;
    if (b[i] === 0x46 && b[i + 1] === 0x4c && b[i + 2] === 0x56) {
      // "FLV": the stream (re)starts.
      if (i + FILE_HEAD > lim) return 0;
      this.fileHead = Buffer.from(b.subarray(i, i + FILE_HEAD));
      this.hasVideo = (b[i + 4] & 0x01) !== 0;
      this.meta = this.videoConfig = this.audioConfig = this.cached = null;
      this.skip = b.readUInt32BE(i + 5) - 9; // header may announce extra bytes
      if (this.skip < 0) throw new JoinParseError('FLV header offset too small');
      return FILE_HEAD;
    }
    if (this.fileHead === null) throw new JoinParseError('no FLV signature');
    if (i + TAG_HEAD > lim) return 0;
    const kind = b[i] & 0x1f;
    if (kind !== TAG_AUDIO && kind !== TAG_VIDEO && kind !== TAG_SCRIPT) throw new JoinParseError(`unknown FLV tag type ${kind}`);
    const size = readUint(b, i + 1, 3);
    const peek = Math.min(2, size);
    if (i + TAG_HEAD + peek > lim) return 0;
    const used = TAG_HEAD + peek;
    this.skip = size - peek + 4; // + PreviousTagSize
    const d0 = b[i + TAG_HEAD];
    const d1 = b[i + TAG_HEAD + 1];
    if (kind === TAG_SCRIPT) {
      this.copy(b, i, used, kind);
    } else if (kind === TAG_VIDEO) {
      const frameType = (d0 >> 4) & 0x07;
      const codec = d0 & 0x0f;
      const needsConfig = codec === 7 || codec === 12;
      if (needsConfig && peek === 2 && d1 === 0) this.copy(b, i, used, kind);
      else if (frameType === 1 && (!needsConfig || this.videoConfig !== null)) this.join(at);
    } else {
      if ((d0 >> 4) === 10 && peek === 2 && d1 === 0) this.copy(b, i, used, kind);
      else if (!this.hasVideo) this.join(at);
    }
    return used;
  }

  private copy(b: Buffer, i: number, used: number, kind: number): void {
    this.copying = new Collector(MAX_TAG_COPY);
    this.copyingKind = kind;
    this.copying.add(b.subarray(i, i + used));
    this.sink = this.copying;
  }

  protected override collected(): void {
    const copying = this.copying;
    if (copying === null) return;
    this.copying = null;
    const tag = copying.take();
    if (this.copyingKind === TAG_SCRIPT) {
      // Only onMetaData describes the stream; other script tags (cue points) are not replayed.
      if (tag.includes('onMetaData', TAG_HEAD, 'latin1')) this.meta = tag;
    } else if (this.copyingKind === TAG_VIDEO) {
      this.videoConfig = tag;
    } else {
      this.audioConfig = tag;
    }
    this.cached = null;
  }
}
