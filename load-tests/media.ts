/**
 * The bench's test media: a short ~2 Mbit/s CBR MPEG-TS made with lavfi,
 * looped by the servers' sources with -c copy (no encoding at bench time).
 */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';

export interface Media {
  file: string;
  seconds: number;
  /** Average bitrate of the file, what a live (-re) client should receive. */
  kbps: number;
}

/** `kbps`: the CBR target, video and audio together; `name` keeps files of different rates apart. */
export function makeMedia(dir: string, seconds = 20, kbps = 2000, name = 'bench-2mbit'): Media {
  const file = join(dir, `${name}.ts`);
  const audio = Math.min(96, Math.round(kbps / 4));
  const video = `${kbps - audio - 54}k`;
  // CBR with filler NALs (nal-hrd=cbr): the filler survives -c copy, so the
  // looped stream's rate stays flat and "lagging" can be judged on it.
  execFileSync(
    'ffmpeg',
    [
      '-hide_banner', '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25',
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-t', String(seconds),
      '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-g', '50',
      '-b:v', video, '-minrate', video, '-maxrate', video, '-bufsize', `${Math.round((kbps - audio) / 2)}k`, '-x264-params', 'nal-hrd=cbr',
      '-c:a', 'aac', '-b:a', `${audio}k`,
      '-f', 'mpegts', file,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], timeout: 180_000 },
  );
  const probed = execFileSync(
    'ffprobe',
    ['-v', 'error', '-show_entries', 'format=duration', '-of', 'default=nw=1:nk=1', file],
    { encoding: 'utf8', timeout: 30_000 },
  );
  const duration = Number(probed.trim()) || seconds;
  return { file, seconds: duration, kbps: Math.round((statSync(file).size * 8) / duration / 1000) };
}

/** ffmpeg reading the media in a loop and writing MPEG-TS to `out`; live paces it at its bitrate. */
export function loopArgs(media: Media, live: boolean, out: string[]): string[] {
  return [
    'ffmpeg', '-hide_banner', '-loglevel', 'error', '-nostdin',
    ...(live ? ['-re'] : []),
    '-stream_loop', '-1', '-i', media.file, '-c', 'copy', ...out,
  ];
}
