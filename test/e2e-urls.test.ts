import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, type RunningServer } from './helpers/server.js';
import { capture, getText, rawExchange } from './helpers/clients.js';

const say = (word: string): string => `sh -c 'while :; do echo ${word}; sleep 0.2; done'`;

let server: RunningServer;

before(async () => {
  server = await startServer(`
logdir: $DIR
pages:
  config: true
feeds:
  f:
    command: ${say('feed')}
    mode: 5
    note: a key of the user's own
streams:
  zeta:
    command: ${say('zeta')}
    mimetype: text/plain
    url: plain/zeta
  alpha:
    command: ${say('alpha')}
    mimetype: text/plain
    url: /stream/not-a-stream
  cam 1:
    command: ${say('cam1')}
    mimetype: text/plain
  kamera_ż:
    feed: f
    command: cat
    mimetype: text/plain
  pic:
    type: shot
    command: echo shot
    mimetype: text/plain
  Beta:
    command: ${say('beta')}
    mimetype: text/plain
  delta:
    command: cat
    mimetype: text/plain
    feed: nope
`, { workers: 2, spillLoad: 0 });
});

after(async () => {
  assert.equal(await server.stop(), 0);
});

async function firstLine(path: string): Promise<string> {
  const got = await capture(server.url(path), { bytes: 4 });
  assert.equal(got.status, 200, path);
  return got.body.toString().split('\n')[0] ?? '';
}

test('a stream answers at /stream/NAME and at its url; names with spaces and any letters, percent-encoded', async () => {
  assert.equal(await firstLine('/stream/zeta'), 'zeta');
  assert.equal(await firstLine('/plain/zeta'), 'zeta');
  assert.equal(await firstLine('/stream/alpha'), 'alpha');
  assert.equal(await firstLine('/stream/not-a-stream'), 'alpha');
  assert.equal(await firstLine('/stream/cam%201'), 'cam1');
  assert.equal(await firstLine('/stream/kamera_%C5%BC'), 'feed');
  assert.ok(existsSync(join(server.dir, 'stream_cam%201.log')), 'log file name made safe');
  assert.ok(existsSync(join(server.dir, 'stream_kamera_ż.log')), 'letters of any script stay');
});

test('a name with a space crosses the peer link: clients on both workers are served', async () => {
  const lines = await Promise.all(Array.from({ length: 4 }, () => firstLine('/stream/cam%201')));
  assert.deepEqual(lines, ['cam1', 'cam1', 'cam1', 'cam1']);
  const stat = JSON.parse((await getText(server.url('/stat.json'))).text) as { workers: { id: number }[] };
  assert.equal(stat.workers.length, 2);
});

test('the home page lists streams by name, ignoring case as the original did, disabled ones in their place, with both links; /stat.json has both paths', async () => {
  const home = (await getText(server.url('/'))).text;
  const names = [...home.matchAll(/<li>(?:<a href="[^"]*">)?([^<]*?)(?:<\/a>| <small)/g)].map((m) => m[1]);
  assert.deepEqual(names, ['alpha', 'Beta', 'cam 1', 'delta', 'kamera_ż', 'pic', 'zeta']);
  assert.match(home, /<a href="\/stream\/cam%201">cam 1<\/a>/);
  assert.match(home, /<a href="\/stream\/kamera_%C5%BC">kamera_ż<\/a>/);
  assert.match(home, /<a href="\/stream\/zeta">zeta<\/a> \(alt URL: <a href="\/plain\/zeta">\/plain\/zeta<\/a>\)/);
  const stat = JSON.parse((await getText(server.url('/stat.json'))).text) as { streams: { name: string; url: string; altUrl?: string }[] };
  const zeta = stat.streams.find((s) => s.name === 'zeta');
  assert.deepEqual([zeta?.url, zeta?.altUrl], ['/stream/zeta', '/plain/zeta']);
});

test('/config shows the keys as written (mode: 5, url as written, user keys) and what voyandz made of them', async () => {
  const config = JSON.parse((await getText(server.url('/config'))).text) as {
    logdir: string;
    pages: Record<string, unknown>;
    feeds: Record<string, Record<string, unknown>>;
    streams: Record<string, Record<string, unknown>>;
  };
  assert.deepEqual(config.pages, { home: true, stat: true, config: true }, 'every page, as the original showed them (only config: true is written)');
  assert.equal(config.feeds.f.mode, 5);
  assert.equal(config.feeds.f.note, "a key of the user's own");
  assert.equal(config.streams.zeta.url, 'plain/zeta');
  assert.deepEqual(config.streams.zeta.urls, ['/stream/zeta', '/plain/zeta']);
  assert.deepEqual(config.streams.pic.argv, ['echo', 'shot']);
  assert.equal(config.streams['cam 1'].url, '/stream/cam 1', 'no url written: the path voyandz serves it at');
});

test('HEAD on a stream and on a shot: 200, the content type, no Content-Length, no program started', async () => {
  for (const path of ['/stream/zeta', '/stream/pic']) {
    const reply = await rawExchange(server.port, [`HEAD ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`]);
    const head = reply.split('\r\n\r\n')[0] ?? '';
    assert.match(head, /^HTTP\/1\.1 200 OK\r\n/, path);
    assert.match(head, /\r\nContent-Type: text\/plain\r\n/, path);
    assert.doesNotMatch(head, /content-length/i, path);
    assert.equal(reply.slice(head.length + 4), '', `${path}: no body`);
  }
});
