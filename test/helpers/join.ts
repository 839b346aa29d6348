import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { capture } from './clients.js';

const run = promisify(execFile);

export interface TimedCapture {
  body: Buffer;
  /** performance.now() when the request was sent. */
  sentAt: number;
  /** Cumulative byte count after each chunk, with its arrival time (ms after sentAt). */
  marks: { ms: number; bytes: number }[];
}

/** GET a stream for `ms` milliseconds, noting when each byte arrived. */
export async function captureTimed(url: string, ms: number): Promise<TimedCapture> {
  const sentAt = performance.now();
  const marks: { ms: number; bytes: number }[] = [];
  let bytes = 0;
  const { body } = await capture(url, { ms }, (chunk) => {
    bytes += chunk.length;
    marks.push({ ms: performance.now() - sentAt, bytes });
  });
  return { body, sentAt, marks };
}

export interface FirstFrame {
  keyFrame: string | undefined;
  pictType: string | undefined;
  /** Presentation time of the first decoded frame, seconds (NaN when the container has none). */
  time: number;
}

/** The first frame ffmpeg decodes from a file (video when `video`, else audio). */
export async function firstFrame(file: string, video: boolean): Promise<FirstFrame> {
  const { stdout } = await run('ffprobe', [
    '-v', 'error', '-select_streams', video ? 'v:0' : 'a:0', '-show_frames', '-read_intervals', '%+#1',
    '-show_entries', 'frame=key_frame,pict_type,best_effort_timestamp_time', '-of', 'default=noprint_wrappers=1', file,
  ]);
  const f = Object.fromEntries(stdout.trim().split('\n').map((l) => l.split('=') as [string, string]));
  return { keyFrame: f.key_frame, pictType: f.pict_type, time: Number(f.best_effort_timestamp_time) };
}

/**
 * Bytes a player needs for its first frame: up to the end of the first
 * packet of the stream (its position and size as ffprobe sees them). TS
 * spreads a packet over 188-byte packets with 4+ byte heads: scaled up.
 */
export async function firstFrameEnd(file: string, video: boolean, ts: boolean): Promise<number> {
  const { stdout } = await run('ffprobe', [
    '-v', 'error', '-select_streams', video ? 'v:0' : 'a:0', '-show_packets', '-read_intervals', '%+#1',
    '-show_entries', 'packet=pos,size', '-of', 'default=noprint_wrappers=1', file,
  ]);
  const p = Object.fromEntries(stdout.trim().split('\n').map((l) => l.split('=') as [string, string]));
  const pos = Number(p.pos);
  const size = Number(p.size);
  if (!Number.isFinite(pos) || !Number.isFinite(size)) return Number.NaN;
  return Math.ceil(pos + (ts ? (size * 188) / 180 : size));
}

/** When (ms after the request) the capture held its first `bytes` bytes. */
export function arrivalOf(c: TimedCapture, bytes: number): number {
  for (const m of c.marks) if (m.bytes >= bytes) return m.ms;
  return Number.NaN;
}
