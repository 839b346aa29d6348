import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from './helpers/server.js';
import { capture, ffprobe, getText, save } from './helpers/clients.js';

const CAMERAS = fileURLToPath(new URL('../../config/cameras.yaml', import.meta.url));

test('config/cameras.yaml runs as shipped: generated feeds, templated streams and shots serve real media', async () => {
  // The test server picks its own address and port.
  const text = readFileSync(CAMERAS, 'utf8').replace(/^listen(addr|port):.*$/gm, '');
  const server = await startServer(text, { workers: 2 });
  try {
    const home = await getText(server.url('/'));
    for (const name of ['cam1', 'cam4.mjpeg', 'door', 'yard', 'door.mjpeg']) assert.match(home.text, new RegExp(`>${name.replace('.', '\\.')}<`));

    const [ts, png, mjpeg] = await Promise.all([
      capture(server.url('/stream/yard'), { ms: 4000 }),
      capture(server.url('/snapshot/cam3.png'), { ms: 20000 }),
      capture(server.url('/stream/door.mjpeg'), { ms: 4000 }),
    ]);
    assert.equal(ts.status, 200);
    const tsStreams = await ffprobe(save(join(server.dir, 'yard.ts'), ts.body));
    assert.deepEqual(tsStreams.map((s) => `${s.codec_type}/${s.codec_name}`), ['video/h264']);
    assert.equal(png.status, 200);
    assert.equal(png.headers['content-type'], 'image/png');
    const pngStreams = await ffprobe(save(join(server.dir, 'cam3.png'), png.body));
    assert.equal(pngStreams[0]?.codec_name, 'png');
    assert.equal(mjpeg.status, 200);
    assert.match(mjpeg.body.subarray(0, 200).toString('latin1'), /--ffmpeg\r?\nContent-type: image\/jpeg/i);
  } finally {
    await server.stop();
  }
});
