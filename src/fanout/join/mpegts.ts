import { JoinParseError, Stash, type ContainerParser } from './parser.js';

/**
 * MPEG-TS: 188-byte packets. The header is the latest PAT and PMT packets;
 * a join point is a video packet that starts a PES (payload_unit_start) of a
 * keyframe, told by the adaptation field's random_access_indicator or, when
 * a muxer leaves that out, an IDR/SPS (H.264), IRAP/VPS (HEVC) or sequence
 * header (MPEG-1/2) at the start of the PES payload. Audio-only programs
 * join at the latest audio PES start.
 */

const PACKET = 188;
const SYNC = 0x47;
const MAX_RESYNC = 64 * 1024;

/** PMT stream_type values that carry video. */
const VIDEO_TYPES = new Set([0x01, 0x02, 0x10, 0x1b, 0x20, 0x24, 0x42, 0xd1, 0xea]);
/** PMT stream_type values that carry audio (MPEG audio, AAC, AC-3, E-AC-3, DTS, private PES). */
const AUDIO_TYPES = new Set([0x03, 0x04, 0x0f, 0x11, 0x81, 0x82, 0x87, 0x06]);

const enum Codec {
  Other,
  Mpeg2,
  H264,
  Hevc,
}

function codecOf(streamType: number): Codec {
  if (streamType === 0x1b || streamType === 0x20) return Codec.H264;
  if (streamType === 0x24) return Codec.Hevc;
  if (streamType === 0x01 || streamType === 0x02) return Codec.Mpeg2;
  return Codec.Other;
}

export class MpegTsParser implements ContainerParser {
  lastJoin = -1;
  joins = 0;
  private readonly stash = new Stash(PACKET);
  private pat: Buffer | null = null;
  private pmt: Buffer | null = null;
  private pmtPid = -1;
  private cached: Buffer | null = null;
  /** PID -> codec, for the video elementary streams of the program. */
  private video = new Map<number, Codec>();
  private audio = new Set<number>();
  /** Bytes skipped looking for sync since the last solid run of packets. */
  private lostBytes = 0;

  header(): Buffer | null {
    return this.cached;
  }

  feed(chunk: Buffer, offset: number): void {
    const end = chunk.length;
    let p = 0;
    const stash = this.stash;
    if (stash.len > 0) {
      const old = stash.len;
      p = stash.fill(chunk, 0, end, PACKET);
      if (stash.len < PACKET) return;
      stash.len = 0;
      if (stash.buf[0] === SYNC && (p >= end || chunk[p] === SYNC)) {
        this.packet(stash.buf, 0, offset + p - PACKET);
      } else {
        // The stashed bytes were not a packet after all: look again from just after them.
        p = this.resync(chunk, 0, end, old);
      }
    }
    while (end - p >= PACKET) {
      if (chunk[p] !== SYNC) {
        p = this.resync(chunk, p, end, 0);
        continue;
      }
      this.packet(chunk, p, offset + p);
      p += PACKET;
    }
    if (p < end) stash.fill(chunk, p, end, PACKET);
  }

  /**
   * Sync lost (a program restarted mid-packet, or a corrupt packet): the
   * next offset from `p` where sync bytes repeat every 188 bytes. Gives up
   * (raw joins) when none turns up in MAX_RESYNC bytes.
   */
  private resync(chunk: Buffer, p: number, end: number, carried: number): number {
    let i = p;
    for (; i < end; i++) {
      if (chunk[i] !== SYNC) continue;
      if ((i + PACKET >= end || chunk[i + PACKET] === SYNC) && (i + 2 * PACKET >= end || chunk[i + 2 * PACKET] === SYNC)) break;
    }
    this.lostBytes += carried + (i - p);
    if (this.lostBytes > MAX_RESYNC) throw new JoinParseError(`no MPEG-TS sync in ${MAX_RESYNC} bytes`);
    if (i < end && end - i >= 3 * PACKET) this.lostBytes = 0;
    return i;
  }

  private packet(b: Buffer, i: number, at: number): void {
    const b1 = b[i + 1];
    if ((b1 & 0x40) === 0) return; // only packets starting a PES or section matter
    const pid = ((b1 & 0x1f) << 8) | b[i + 2];
    const afc = (b[i + 3] >> 4) & 3;
    if ((afc & 1) === 0) return; // no payload
    let payload = i + 4;
    let randomAccess = false;
    if (afc & 2) {
      const length = b[i + 4];
      randomAccess = length > 0 && (b[i + 5] & 0x40) !== 0;
      payload += 1 + length;
    }
    const packetEnd = i + PACKET;
    if (payload >= packetEnd) return;
    if (pid === 0) {
      this.onPat(b, i, payload, packetEnd);
    } else if (pid === this.pmtPid) {
      this.onPmt(b, i, payload, packetEnd);
    } else if (this.cached !== null) {
      const codec = this.video.get(pid);
      const join =
        codec !== undefined
          ? randomAccess || startsKeyframe(b, payload, packetEnd, codec)
          : this.video.size === 0 && this.audio.has(pid);
      if (join) {
        this.lastJoin = at;
        this.joins++;
      }
    }
  }

  private onPat(b: Buffer, i: number, payload: number, end: number): void {
    const t = payload + 1 + b[payload];
    if (t + 8 > end || b[t] !== 0x00) return;
    const sectionEnd = Math.min(end, t + 3 + (((b[t + 1] & 0x0f) << 8) | b[t + 2]) - 4);
    let pmtPid = -1;
    for (let e = t + 8; e + 4 <= sectionEnd; e += 4) {
      const program = (b[e] << 8) | b[e + 1];
      if (program === 0) continue; // network PID
      pmtPid = ((b[e + 2] & 0x1f) << 8) | b[e + 3];
      break;
    }
    if (pmtPid < 0) return;
    this.pat = Buffer.from(b.subarray(i, i + PACKET));
    if (pmtPid !== this.pmtPid) {
      this.pmtPid = pmtPid;
      this.pmt = null;
      this.cached = null;
    } else {
      this.rebuild();
    }
  }

  private onPmt(b: Buffer, i: number, payload: number, end: number): void {
    const t = payload + 1 + b[payload];
    if (t + 12 > end || b[t] !== 0x02) return;
    const sectionEnd = Math.min(end, t + 3 + (((b[t + 1] & 0x0f) << 8) | b[t + 2]) - 4);
    const video = new Map<number, Codec>();
    const audio = new Set<number>();
    let e = t + 12 + (((b[t + 10] & 0x0f) << 8) | b[t + 11]);
    while (e + 5 <= sectionEnd) {
      const type = b[e];
      const pid = ((b[e + 1] & 0x1f) << 8) | b[e + 2];
      if (VIDEO_TYPES.has(type)) video.set(pid, codecOf(type));
      else if (AUDIO_TYPES.has(type)) audio.add(pid);
      e += 5 + (((b[e + 3] & 0x0f) << 8) | b[e + 4]);
    }
    this.video = video;
    this.audio = audio;
    this.pmt = Buffer.from(b.subarray(i, i + PACKET));
    this.rebuild();
  }

  private rebuild(): void {
    if (this.pat === null || this.pmt === null) return;
    // Reuse the cached header while the tables do not change: joiners share it.
    const cached = this.cached;
    if (cached !== null && cached.subarray(0, PACKET).equals(this.pat) && cached.subarray(PACKET).equals(this.pmt)) return;
    this.cached = Buffer.concat([this.pat, this.pmt]);
  }
}

/**
 * Looks at the start of a PES payload in this one packet for a start code
 * that only keyframes carry. Muxers put the SPS/IDR right after the PES
 * header, well inside the first packet.
 */
function startsKeyframe(b: Buffer, payload: number, end: number, codec: Codec): boolean {
  if (codec === Codec.Other || payload + 9 > end) return false;
  if (b[payload] !== 0 || b[payload + 1] !== 0 || b[payload + 2] !== 1) return false;
  let i = payload + 9 + b[payload + 8];
  for (; i + 3 < end; i++) {
    if (b[i] !== 0 || b[i + 1] !== 0 || b[i + 2] !== 1) continue;
    const nal = b[i + 3];
    if (codec === Codec.H264) {
      const type = nal & 0x1f;
      if (type === 5 || type === 7) return true;
      if (type === 1) return false; // a non-IDR slice came first
    } else if (codec === Codec.Hevc) {
      const type = (nal >> 1) & 0x3f;
      if ((type >= 16 && type <= 21) || type === 32) return true;
      if (type < 16) return false;
    } else {
      if (nal === 0xb3) return true;
      if (nal === 0x00) return false; // picture start code before any sequence header
    }
  }
  return false;
}
