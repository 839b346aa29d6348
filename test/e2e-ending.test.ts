import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { request } from 'undici';
import { startServer } from './helpers/server.js';
import { agent, ffprobe, save } from './helpers/clients.js';

/** Reads a response to its end, or gives up after `ms`: did it end, what came, and when. */
async function readToEnd(url: string, ms: number): Promise<{ status: number; body: Buffer; ended: boolean; afterMs: number }> {
  const started = Date.now();
  const response = await request(url, { dispatcher: agent });
  const chunks: Buffer[] = [];
  const ended = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      response.body.destroy();
      resolve(false);
    }, ms);
    response.body.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.body.on('end', () => {
      clearTimeout(timer);
      resolve(true);
    });
    response.body.on('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  return { status: response.statusCode, body: Buffer.concat(chunks), ended, afterMs: Date.now() - started };
}

const TICKS = `sh -c 'for i in 1 2 3 4; do echo tick $i; sleep 0.3; done'`;
const CLIP = `ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=160x120:rate=25 -t 2 -c:v mpeg1video -f mpegts -`;

test('a finite program with resurrect: on-failure plays once and its response ends; always restarts it', async () => {
  const server = await startServer(`
streams:
  once:
    command: ${TICKS}
    mimetype: text/plain
    resurrect: on-failure
  clip:
    command: ${CLIP}
    mimetype: video/mp2t
    resurrect: on-failure
  forever:
    command: ${TICKS}
    mimetype: text/plain
  failing:
    command: sh -c 'echo partial; exit 3'
    mimetype: text/plain
    resurrect: never
`);
  try {
    const [once, clip, forever, failing] = await Promise.all([
      readToEnd(server.url('/stream/once'), 8000),
      readToEnd(server.url('/stream/clip'), 10000),
      readToEnd(server.url('/stream/forever'), 3500),
      readToEnd(server.url('/stream/failing'), 8000),
    ]);
    assert.equal(once.status, 200);
    assert.ok(once.ended, 'the response of a program that ended with code 0 ends');
    assert.equal(once.body.toString(), 'tick 1\ntick 2\ntick 3\ntick 4\n');

    assert.ok(clip.ended, 'the clip response ends');
    const streams = await ffprobe(save(join(server.dir, 'clip.ts'), clip.body));
    assert.equal(streams[0]?.codec_name, 'mpeg1video');

    assert.equal(forever.ended, false, 'resurrect: always (the default) restarts it');
    assert.match(forever.body.toString(), /tick 4\ntick 1\n/, 'it started over');

    assert.ok(failing.ended, 'resurrect: never ends the response of a failed program too');
    assert.equal(failing.body.toString(), 'partial\n');
  } finally {
    assert.equal(await server.stop(), 0);
  }
});

test('a feed that ends with no-resurrect: true ends the responses of every stream reading it', async () => {
  const server = await startServer(`
feeds:
  clip:
    command: ${CLIP}
    no-resurrect: true
streams:
  copy:
    feed: clip
    command: ffmpeg -hide_banner -loglevel error -analyzeduration 500000 -i - -c copy -f mpegts -
    mimetype: video/mp2t
  private:
    feed: clip
    client: exclusive
    command: ffmpeg -hide_banner -loglevel error -analyzeduration 500000 -i - -c copy -f mpegts -
    mimetype: video/mp2t
`);
  try {
    const [copy, own] = await Promise.all([readToEnd(server.url('/stream/copy'), 12000), readToEnd(server.url('/stream/private'), 12000)]);
    for (const [name, result] of [['shared', copy], ['exclusive', own]] as const) {
      assert.equal(result.status, 200, name);
      assert.ok(result.ended, `${name}: the response ends with its feed (after ${result.afterMs} ms)`);
      assert.ok(result.body.length > 10_000, `${name}: got ${result.body.length} bytes first`);
    }
    // The worker's log line may arrive after the response has ended: wait for it.
    await server.waitForLog((line) => /program of stream copy .* not restarted \(the feed it reads ended\)/.test(String(line.msg)));
  } finally {
    assert.equal(await server.stop(), 0);
  }
});
