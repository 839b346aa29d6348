import { spawn } from 'node:child_process';
import { boundaryOf } from '../../src/fanout/join/multipart.js';
import { killProcessGroup } from '../../src/pipeline/process-tree.js';

/** Enough of a stream from its latest keyframe for ffmpeg to decode one picture. */
export const THUMBNAIL_INPUT_BYTES = 4 * 1024 * 1024;
/** How long to wait for the rest of a picture in flight (an mpjpeg part, a fragment). */
export const THUMBNAIL_CAPTURE_MS = 1500;
/** Video containers hold a decodable picture well within this much from a keyframe. */
const VIDEO_PROBE_BYTES = 256 * 1024;
const THUMBNAIL_TIMEOUT_MS = 5000;
const MAX_JPEG_BYTES = 1024 * 1024;

interface ThumbnailMaker {
  /** The bytes from the join point on hold a whole picture. */
  enough(bytes: Buffer): boolean;
  make(bytes: Buffer): Promise<Buffer | null>;
}

/**
 * How to get a JPEG of the first picture of a stream's bytes from its latest
 * join point (header first). mpjpeg needs no decoding: its first whole part
 * is a JPEG already. Anything else is one short ffmpeg run, killed after a
 * few seconds. The JPEG is null when there is no picture (audio, an
 * undecodable stream).
 */
export function thumbnailMaker(mimetype: string): ThumbnailMaker {
  const boundary = boundaryOf(mimetype);
  if (boundary !== undefined) {
    return { enough: (bytes) => firstPart(bytes, boundary) !== null, make: (bytes) => Promise.resolve(firstPart(bytes, boundary)) };
  }
  return { enough: (bytes) => bytes.length >= VIDEO_PROBE_BYTES, make: decodeFirstPicture };
}

/** The body of the first part after a `--boundary` line: its headers end at the blank line, its body at the next delimiter. */
function firstPart(bytes: Buffer, boundary: string): Buffer | null {
  const delimiter = Buffer.from(`--${boundary}`);
  const start = bytes.indexOf(delimiter);
  if (start < 0) return null;
  const body = bytes.indexOf('\r\n\r\n', start);
  if (body < 0) return null;
  const end = bytes.indexOf(delimiter, body + 4);
  if (end < 0) return null;
  let stop = end;
  if (bytes[stop - 1] === 0x0a) stop--;
  if (bytes[stop - 1] === 0x0d) stop--;
  return Buffer.from(bytes.subarray(body + 4, stop));
}

function decodeFirstPicture(bytes: Buffer): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const child = spawn(
      'ffmpeg',
      ['-hide_banner', '-loglevel', 'error', '-i', '-', '-an', '-frames:v', '1', '-vf', 'scale=320:-2', '-q:v', '5', '-f', 'image2pipe', '-c:v', 'mjpeg', '-'],
      { stdio: ['pipe', 'pipe', 'ignore'], detached: true },
    );
    const parts: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (jpeg: Buffer | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (child.pid !== undefined && child.exitCode === null) killProcessGroup(child.pid, 'SIGKILL');
      resolve(jpeg);
    };
    const timer = setTimeout(() => finish(null), THUMBNAIL_TIMEOUT_MS);
    child.on('error', () => finish(null));
    child.stdin.on('error', () => undefined);
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_JPEG_BYTES) finish(null);
      else parts.push(chunk);
    });
    child.on('close', (code) => finish(code === 0 && size > 0 ? Buffer.concat(parts) : null));
    child.stdin.end(bytes);
  });
}
