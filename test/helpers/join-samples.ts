import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One container voyandz finds join points in, and how ffmpeg makes it live. */
export interface JoinSample {
  name: string;
  mimetype: string;
  /** ffmpeg output options (codecs, muxer), written to stdout ("-"). */
  output: string;
  video: boolean;
  /** The container carries stream timestamps (elementary audio and mpjpeg restart at 0 per reader). */
  timed: boolean;
}

const X264 = '-c:v libx264 -preset ultrafast -tune zerolatency -g 25 -pix_fmt yuv420p';

export const JOIN_SAMPLES: JoinSample[] = [
  { name: 'mpegts', mimetype: 'video/mp2t', output: `${X264} -c:a aac -b:a 64k -f mpegts`, video: true, timed: true },
  {
    name: 'webm',
    mimetype: 'video/webm',
    output: '-c:v libvpx -deadline realtime -cpu-used 8 -g 25 -b:v 400k -c:a libopus -b:a 48k -f webm',
    video: true,
    timed: true,
  },
  {
    name: 'fmp4',
    mimetype: 'video/mp4',
    output: `${X264} -c:a aac -b:a 64k -movflags frag_keyframe+empty_moov+default_base_moof -f mp4`,
    video: true,
    timed: true,
  },
  { name: 'flv', mimetype: 'video/x-flv', output: `${X264} -c:a aac -b:a 64k -f flv`, video: true, timed: true },
  { name: 'mpjpeg', mimetype: 'multipart/x-mixed-replace;boundary=ffmpeg', output: '-an -c:v mjpeg -q:v 8 -f mpjpeg', video: true, timed: false },
  { name: 'mp3', mimetype: 'audio/mpeg', output: '-vn -c:a libmp3lame -b:a 64k -f mp3', video: false, timed: false },
  { name: 'adts', mimetype: 'audio/aac', output: '-vn -c:a aac -b:a 64k -f adts', video: false, timed: false },
];

/** lavfi inputs: a moving test picture and a tone. */
export const TEST_INPUTS = '-f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i sine=frequency=440:sample_rate=48000';

/** `seconds` of the sample's container, as ffmpeg writes it to a pipe; `size` overrides the picture size. */
export async function recordSample(sample: JoinSample, seconds: number, size?: string): Promise<Buffer> {
  const inputs = size === undefined ? TEST_INPUTS : TEST_INPUTS.replace('320x240', size);
  const args = ['-hide_banner', '-loglevel', 'error', ...inputs.split(' '), '-t', String(seconds), ...sample.output.split(' '), '-'];
  const { stdout } = await run('ffmpeg', args, { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 });
  return stdout;
}
