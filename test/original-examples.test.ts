/**
 * The example configs of the original voyandz (its config/ folder), adapted
 * only where this machine differs: devices (a V4L2 camera -> a lavfi test
 * picture, ALSA -> a tone, NVENC -> libx264) in the files themselves, and
 * here the address, the port (also where a config reads its own streams),
 * the logdir and the folder of the looping videos (/opt/vid/, made here).
 * Every stream of every one must load and serve bytes a decoder accepts, at
 * /stream/NAME and at its url, as it did with the original.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { freePort } from '../load-tests/loopback.js';
import { startServer } from './helpers/server.js';
import { capture, getText } from './helpers/clients.js';

const run = promisify(execFile);
const FIXTURES = fileURLToPath(new URL('../../test/fixtures/original/', import.meta.url));
const examples = readdirSync(FIXTURES).sort();

/** The original's config/ folder: every example it has. */
const ORIGINAL_EXAMPLES = [
  '4x4',
  '4x4_only',
  '4x4_with_audio',
  'camera_to_mpjpeg',
  'camera_to_mpjpeg_with_feed_continuous',
  'camera_to_mpjpeg_with_feed_ondemand',
  'camera_to_mpjpeg_with_feed_timeout',
  'custom_url',
  'feed_autostart',
  'feed_chain',
  'full_stack',
  'minimal',
  'zerolatency_libx264_camera',
  'zerolatency_nvenc_camera',
];

/** The looping videos of the 4x4, custom_url and feed_chain examples: picture and sound in MPEG-TS. */
let videos = '';

before(async () => {
  videos = mkdtempSync(join(tmpdir(), 'voyandz-vid-'));
  await Promise.all(
    [['vid1', 'testsrc2', 440], ['vid2', 'smptebars', 660], ['bbb', 'rgbtestsrc', 880]].map(([name, source, tone]) =>
      run('ffmpeg', [
        '-hide_banner', '-loglevel', 'error',
        '-f', 'lavfi', '-i', `${String(source)}=size=320x240:rate=25`,
        '-f', 'lavfi', '-i', `sine=frequency=${String(tone)}:sample_rate=48000`,
        '-t', '4', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-c:a', 'mp2', '-ac', '2',
        '-f', 'mpegts', join(videos, `${String(name)}.ts`),
      ]),
    ),
  );
});

after(() => rmSync(videos, { recursive: true, force: true }));

/**
 * The adaptation: loopback (the test server's own address), a free port, a
 * temporary logdir, the videos made above, and a start_timeout for this
 * box: the 4x4 mosaics open four on-demand streams of the same server one
 * after the other, each starting its feed, and on this 2-core machine
 * running the whole suite that once took more than the default 10 s.
 */
function adapt(text: string, port: number): string {
  return `start_timeout: 30\n${text}`
    .replace(/^listenaddr:.*\n/m, '')
    .replace(/^listenport:.*\n/m, '')
    .replace(/^logdir:.*$/m, 'logdir: $DIR')
    .replaceAll('127.0.0.1:8090', `127.0.0.1:${port}`)
    .replaceAll('/opt/vid/', `${videos}/`);
}

interface Entry {
  command: string;
  type?: string;
  mimetype: string;
  url?: string;
}

/**
 * How ffprobe is told what it reads, as any player of these streams is:
 * multipart joined mid-way starts with its delimiter's CRLF, which probing
 * does not expect; raw MJPEG joined mid-way starts inside a picture; raw PCM
 * has no header at all, so its format is the one the command writes.
 */
function probeFormat(entry: Entry): string[] {
  if (entry.mimetype.startsWith('multipart/')) return ['-f', 'mpjpeg'];
  if (entry.mimetype === 'video/x-motion-jpeg') return ['-f', 'mjpeg'];
  const pcm = / -f (s16le) .*-ar (\d+) -ac (\d+)/.exec(entry.command);
  if (pcm !== null) return ['-f', pcm[1], '-ar', pcm[2], '-ac', pcm[3]];
  return [];
}

interface Decoded {
  codec: string;
  frames: number;
}

async function decode(file: string, format: string[]): Promise<Decoded> {
  const { stdout } = await run('ffprobe', ['-v', 'error', ...format, '-count_frames', '-show_streams', '-of', 'json', file]);
  const streams = (JSON.parse(stdout) as { streams: { codec_name: string; nb_read_frames?: string }[] }).streams;
  const best = streams.map((s) => ({ codec: s.codec_name, frames: Number(s.nb_read_frames ?? 0) })).sort((a, b) => b.frames - a.frames).at(0);
  return best ?? { codec: '', frames: 0 };
}

test('every example config of the original is here', () => {
  assert.deepEqual(examples, ORIGINAL_EXAMPLES);
});

for (const name of examples) {
  test(`original example ${name}: every stream serves decodable bytes at each of its paths`, async (t) => {
    const text = readFileSync(join(FIXTURES, name), 'utf8');
    const streams = Object.entries(((parse(text) ?? {}) as { streams?: Record<string, Entry> }).streams ?? {});
    const port = await freePort();
    const server = await startServer(adapt(text, port), { port, workers: 2 });
    try {
      assert.deepEqual(
        server.logs.filter((line) => (line.level ?? 0) >= 50).map((line) => line.msg),
        [],
        'no entry disabled, no error at start',
      );
      assert.equal((await getText(server.url('/'))).status, 200, 'the home page');
      const stat = JSON.parse((await getText(server.url('/stat.json'))).text) as { streams: { name: string; state: string }[] };
      assert.deepEqual(
        stat.streams.map((s) => [s.name, s.state === 'disabled']).sort(),
        streams.map(([stream]) => [stream, false]).sort(),
        'every stream of the file is there, none disabled',
      );
      const paths = streams.flatMap(([stream, entry]) => [
        { stream, entry, path: `/stream/${encodeURIComponent(stream)}` },
        ...(entry.url === undefined ? [] : [{ stream, entry, path: entry.url.startsWith('/') ? entry.url : `/${entry.url}` }]),
      ]);
      const started = Date.now();
      const results = await Promise.all(
        paths.map(async (at) => ({ ...at, got: await capture(server.url(at.path), at.entry.type === 'shot' ? {} : { bytes: 64 * 1024, ms: 10_000 }) })),
      );
      for (const { stream, entry, path, got } of results) {
        assert.equal(got.status, 200, `${path}: ${got.body.toString('latin1', 0, 300)}`);
        assert.equal(got.headers['content-type'], entry.mimetype, path);
        assert.ok(got.body.length > 0, `${path}: no bytes`);
        const file = join(server.dir, `${stream}-${results.findIndex((r) => r.path === path)}.capture`);
        writeFileSync(file, got.body);
        const decoded = await decode(file, probeFormat(entry));
        assert.ok(decoded.frames >= 1, `${path} (${entry.mimetype}, ${got.body.length} bytes): ${JSON.stringify(decoded)}`);
        t.diagnostic(`${path}: ${got.body.length} bytes, ${decoded.frames} ${decoded.codec} frames`);
      }
      t.diagnostic(`${paths.length} paths of ${streams.length} streams captured in ${Date.now() - started} ms`);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });
}
