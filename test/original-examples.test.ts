/**
 * The example configs of the original voyandz (its config/ folder), adapted
 * only where this machine differs: devices (a V4L2 camera -> a lavfi test
 * picture, ALSA -> a tone, NVENC -> libx264) in the files themselves, and
 * here the address, the port and the logdir. Every stream of every one must
 * serve bytes a decoder accepts, as it did with the original.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../load-tests/loopback.js';
import { startServer } from './helpers/server.js';
import { capture, getText } from './helpers/clients.js';

const run = promisify(execFile);
const FIXTURES = fileURLToPath(new URL('../../test/fixtures/original/', import.meta.url));
const examples = readdirSync(FIXTURES).sort();

/** The adaptation: loopback only, a free port (also where a config reads its own streams), a temporary logdir. */
function adapt(text: string, port: number): string {
  return text
    .replace(/^listenaddr:.*\n/m, '')
    .replace(/^listenport:.*\n/m, '')
    .replace(/^logdir:.*$/m, 'logdir: $DIR')
    .replaceAll('127.0.0.1:8090', `127.0.0.1:${port}`);
}

interface Decoded {
  codec: string;
  frames: number;
}

/** Decodes a capture; multipart joined mid-way starts with its delimiter's CRLF, which probing does not expect. */
async function decode(file: string, mimetype: string): Promise<Decoded> {
  const format = mimetype.startsWith('multipart/') ? ['-f', 'mpjpeg'] : [];
  const { stdout } = await run('ffprobe', ['-v', 'error', ...format, '-count_frames', '-show_streams', '-of', 'json', file]);
  const streams = (JSON.parse(stdout) as { streams: { codec_name: string; nb_read_frames?: string }[] }).streams;
  const best = streams.map((s) => ({ codec: s.codec_name, frames: Number(s.nb_read_frames ?? 0) })).sort((a, b) => b.frames - a.frames).at(0);
  return best ?? { codec: '', frames: 0 };
}

test('the original\'s 13 example configs are here', () => {
  assert.equal(examples.length, 13, examples.join(', '));
});

for (const name of examples) {
  test(`original example ${name}: every stream serves decodable bytes`, async (t) => {
    const port = await freePort();
    const server = await startServer(adapt(readFileSync(join(FIXTURES, name), 'utf8'), port), { port, workers: 2 });
    try {
      assert.deepEqual(
        server.logs.filter((line) => (line.level ?? 0) >= 50).map((line) => line.msg),
        [],
        'no entry disabled, no error at start',
      );
      const stat = JSON.parse((await getText(server.url('/stat.json'))).text) as { streams: { name: string; url: string; type: string }[] };
      assert.ok(stat.streams.length > 0);
      const started = Date.now();
      const results = await Promise.all(
        stat.streams.map(async (stream) => {
          const got = await capture(server.url(encodeURI(stream.url)), stream.type === 'shot' ? {} : { bytes: 64 * 1024, ms: 8000 });
          return { stream, got };
        }),
      );
      for (const { stream, got } of results) {
        assert.equal(got.status, 200, stream.name);
        assert.ok(got.body.length > 0, `${stream.name}: no bytes`);
        const file = join(server.dir, `${stream.name}.capture`);
        writeFileSync(file, got.body);
        const mimetype = String(got.headers['content-type']);
        const decoded = await decode(file, mimetype);
        assert.ok(decoded.frames >= 1, `${stream.name} (${mimetype}, ${got.body.length} bytes): ${JSON.stringify(decoded)}`);
        t.diagnostic(`${stream.name}: ${got.body.length} bytes, ${decoded.frames} ${decoded.codec} frames`);
      }
      t.diagnostic(`all streams captured in ${Date.now() - started} ms`);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });
}
