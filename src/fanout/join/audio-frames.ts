import { JoinParseError } from './parser.js';
import { UnitParser } from './unit-parser.js';

/**
 * Elementary audio streams: MPEG audio (MP3) and ADTS AAC. Every frame
 * starts with a sync word and can be decoded on its own, so each frame start
 * is a join point; frames are walked by their length (never by searching for
 * a sync word, which audio data can contain). When a frame header is not
 * where the last frame said (a restart mid-frame, corruption), the parser
 * slides byte by byte to the next valid header and trusts it once the frame
 * after it checks out too. No header. A leading ID3v2 tag (ffmpeg's MP3
 * muxer writes one) is skipped.
 *
 * Burst on connect: a joiner starts `burstSeconds` of audio (counted in
 * frame durations, so always at a frame start) before the latest frame, as
 * Icecast's burst-size: a player's buffer fills at once and it starts
 * playing, instead of waiting for that much audio to trickle in live.
 */

const BITRATES_V1 = [
  [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
  [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
  [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
];
const BITRATES_V2 = [
  [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
  [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
  [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
];
const SAMPLE_RATES = [44100, 48000, 32000];
const ADTS_SAMPLE_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];
/** Looking this long for a frame header means it is not this format: raw joins. */
const MAX_RESYNC = 64 * 1024;

export type AudioFraming = 'mp3' | 'adts';

export class AudioFrameParser extends UnitParser {
  private started = false;
  /** False right after a resync, until a second frame confirms the first. */
  private locked = true;
  private lostBytes = 0;
  /** Offsets and durations (s) of the frames held for the burst, oldest first; the sum of the durations after the first stays below the burst. */
  private readonly starts: number[] = [];
  private readonly durations: number[] = [];
  private held = 0;

  constructor(
    readonly framing: AudioFraming,
    private readonly burstSeconds = 0,
  ) {
    super(10);
  }

  header(): Buffer | null {
    return null;
  }

  protected unit(b: Buffer, i: number, lim: number, at: number): number {
    if (!this.started && this.framing === 'mp3') {
      if (i + 3 > lim) return 0;
      if (b[i] === 0x49 && b[i + 1] === 0x44 && b[i + 2] === 0x33) {
        if (i + 10 > lim) return 0;
        const size = ((b[i + 6] & 0x7f) << 21) | ((b[i + 7] & 0x7f) << 14) | ((b[i + 8] & 0x7f) << 7) | (b[i + 9] & 0x7f);
        this.skip = size + ((b[i + 5] & 0x10) !== 0 ? 10 : 0);
        return 10;
      }
    }
    this.started = true;
    const length = this.framing === 'mp3' ? mp3FrameLength(b, i, lim) : adtsFrameLength(b, i, lim);
    if (length === 0) return 0;
    if (length < 0) {
      this.locked = false;
      if (++this.lostBytes > MAX_RESYNC) throw new JoinParseError(`no ${this.framing} frame header in ${MAX_RESYNC} bytes`);
      return 1;
    }
    const head = Math.min(length, this.framing === 'mp3' ? 4 : 7);
    this.skip = length - head;
    if (this.locked) {
      this.lostBytes = 0;
      this.frameAt(at, this.framing === 'mp3' ? mp3FrameSeconds(b, i) : adtsFrameSeconds(b, i));
    } else {
      this.locked = true; // the next header, if where this one says, confirms it
    }
    return head;
  }

  /** A confirmed frame: the join point moves to the oldest frame still within the burst. */
  private frameAt(at: number, seconds: number): void {
    const starts = this.starts;
    const durations = this.durations;
    starts.push(at);
    durations.push(seconds);
    this.held += seconds;
    while (starts.length > 1 && this.held - (durations[0] ?? 0) >= this.burstSeconds) {
      this.held -= durations.shift() ?? 0;
      starts.shift();
    }
    this.join(starts[0] ?? at);
  }
}

/** Playing time of the MPEG audio frame whose valid header is at b[i]. */
function mp3FrameSeconds(b: Buffer, i: number): number {
  const b1 = b[i + 1];
  const version = (b1 >> 3) & 3;
  const layer = 4 - ((b1 >> 1) & 3);
  const v1 = version === 3;
  const rate = SAMPLE_RATES[(b[i + 2] >> 2) & 3] / (v1 ? 1 : version === 2 ? 2 : 4);
  const samples = layer === 1 ? 384 : layer === 3 && !v1 ? 576 : 1152;
  return samples / rate;
}

/** Playing time of the ADTS frame whose valid header is at b[i]: 1024 samples per raw data block. */
function adtsFrameSeconds(b: Buffer, i: number): number {
  const rate = ADTS_SAMPLE_RATES[(b[i + 2] >> 2) & 0x0f] ?? 44100;
  return (1024 * ((b[i + 6] & 0x03) + 1)) / rate;
}

/** Length of the MPEG audio frame at b[i]; 0 when its header is not all there, -1 when it is no header. */
function mp3FrameLength(b: Buffer, i: number, lim: number): number {
  if (i + 4 > lim) return 0;
  const b1 = b[i + 1];
  if (b[i] !== 0xff || (b1 & 0xe0) !== 0xe0) return -1;
  const version = (b1 >> 3) & 3; // 0: 2.5, 2: 2, 3: 1
  const layer = 4 - ((b1 >> 1) & 3); // 1..3
  const b2 = b[i + 2];
  const bitrateIndex = b2 >> 4;
  const rateIndex = (b2 >> 2) & 3;
  if (version === 1 || layer === 4 || bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3) return -1;
  const v1 = version === 3;
  const kbps = (v1 ? BITRATES_V1 : BITRATES_V2)[layer - 1][bitrateIndex];
  const rate = SAMPLE_RATES[rateIndex] / (v1 ? 1 : version === 2 ? 2 : 4);
  const pad = (b2 >> 1) & 1;
  if (layer === 1) return (Math.floor((12 * kbps * 1000) / rate) + pad) * 4;
  const factor = layer === 3 && !v1 ? 72 : 144;
  return Math.floor((factor * kbps * 1000) / rate) + pad;
}

/** Length of the ADTS frame at b[i]; 0 when its header is not all there, -1 when it is no header. */
function adtsFrameLength(b: Buffer, i: number, lim: number): number {
  if (i + 7 > lim) return 0;
  if (b[i] !== 0xff || (b[i + 1] & 0xf6) !== 0xf0) return -1;
  const length = ((b[i + 3] & 0x03) << 11) | (b[i + 4] << 3) | (b[i + 5] >> 5);
  return length < 7 ? -1 : length;
}
