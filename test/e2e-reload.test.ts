import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer } from './helpers/server.js';
import { capture, getText, sleep, waitFor } from './helpers/clients.js';

const cam = `
  cam:
    command: >
      ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=160x120:rate=25
      -c:v mpeg1video -q:v 10 -f mpegts -metadata comment=reload-cam -`;

const copyStream = (name: string): string => `
  ${name}:
    feed: cam
    command: ffmpeg -hide_banner -loglevel error -analyzeduration 500000 -i - -c copy -f mpegts -
    mimetype: video/mp2t`;

test('SIGHUP reloads the config: new streams appear, removed ones 404, unchanged ones keep their clients, a bad file changes nothing', async () => {
  const server = await startServer(`feeds:${cam}\nstreams:${copyStream('a')}${copyStream('c')}\n`, { workers: 2 });
  const file = join(server.dir, 'voyandz.yaml');
  const header = readFileSync(file, 'utf8').split('feeds:')[0] ?? '';
  try {
    const client = capture(server.url('/stream/a'), { ms: 9000 });
    await sleep(2500);
    const statBefore = JSON.parse((await getText(server.url('/stat.json'))).text) as { streams: { name: string; bytesSent: number }[] };
    const sentAtReload = statBefore.streams.find((s) => s.name === 'a')?.bytesSent ?? 0;
    assert.ok(sentAtReload > 0, 'stream a flows before the reload');

    writeFileSync(file, `${header}feeds:${cam}\nstreams:${copyStream('a')}${copyStream('b')}\n`);
    const reloaded = server.waitForLog((line) => line.msg === 'config reloaded', 10000);
    server.process.kill('SIGHUP');
    await reloaded;

    assert.equal((await getText(server.url('/stream/c'))).status, 404, 'removed stream is gone');
    const b = await capture(server.url('/stream/b'), { bytes: 10_000 });
    assert.equal(b.status, 200);
    assert.ok(b.body.length >= 10_000, 'new stream serves data');

    const a = await client;
    assert.equal(a.status, 200);
    assert.ok(a.body.length > sentAtReload + 10_000, `client of unchanged stream a got ${a.body.length - sentAtReload} bytes after the reload`);

    writeFileSync(file, `${header}max_lag: 0\nstreams:\n  broken:\n    feed: nope\n`);
    const failed = server.waitForLog((line) => typeof line.msg === 'string' && line.msg.startsWith('reload failed'), 10000);
    server.process.kill('SIGHUP');
    const failure = await failed;
    assert.match(String(failure.errors), /max_lag: must be a number of seconds > 0/);
    assert.match(String(failure.errors), /streams\.broken/);
    assert.equal((await getText(server.url('/')).then((r) => r.text)).includes('/stream/b'), true, 'running config kept');

    // An error inside one entry is handled as at start: that entry is disabled, the rest is applied.
    writeFileSync(file, `${header}feeds:${cam}\nstreams:${copyStream('b')}\n  broken:\n    feed: nope\n`);
    const reloads = (): number => server.logs.filter((line) => line.msg === 'config reloaded').length;
    const before = reloads();
    server.process.kill('SIGHUP');
    await waitFor(() => reloads() > before, 10000, 100, 'the second reload');
    assert.equal((await getText(server.url('/stream/a'))).status, 404, 'the rest of the new config is applied');
    const broken = await getText(server.url('/stream/broken'));
    assert.equal(broken.status, 503);
    assert.match(broken.text, /VOYANDZ_ERR_STREAM_DISABLED/);
  } finally {
    assert.equal(await server.stop(), 0);
  }
});
