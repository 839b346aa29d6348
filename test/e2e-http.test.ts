import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from './helpers/server.js';
import { capture, ffprobe, getText, rawExchange, save, sleep } from './helpers/clients.js';
import { pidsWithToken } from '../load-tests/proc.js';
import { ERRORS } from '../src/errors.js';

let server: RunningServer;
const dir = mkdtempSync(join(tmpdir(), 'voyandz-http-'));

before(async () => {
  server = await startServer(`
shot_timeout: 1
pages:
  config: false
feeds:
  cam:
    command: >
      ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=160x120:rate=25
      -c:v mpeg1video -q:v 10 -f mpegts -metadata comment=http-cam -
streams:
  ts:
    feed: cam
    command: ffmpeg -hide_banner -loglevel error -analyzeduration 500000 -i - -c copy -f mpegts -
    mimetype: video/mp2t
  webm:
    client: exclusive
    command: >
      ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=160x120:rate=25
      -c:v libvpx -deadline realtime -cpu-used 8 -b:v 200k -f webm -metadata comment=http-webm -
    mimetype: video/webm
  png:
    type: shot
    command: ffmpeg -hide_banner -loglevel error -f lavfi -i testsrc2=size=160x120 -frames:v 1 -c:v png -f image2pipe -
    mimetype: image/png
    url: /pic.png
  broken:
    type: shot
    command: sh -c 'echo kaputt-stderr >&2; exit 3'
    mimetype: image/png
  slow:
    type: shot
    command: sh -c 'sleep 30; echo http-slow-shot'
    mimetype: text/plain
`);
});

after(async () => {
  rmSync(dir, { recursive: true, force: true });
  assert.equal(await server.stop(), 0);
});

test('pages: home lists streams, stat works, disabled config is 403, unknown path 404', async () => {
  const home = await getText(server.url('/'));
  assert.equal(home.status, 200);
  assert.match(home.text, /href="\/stream\/ts"/);
  assert.match(home.text, /href="\/pic.png"/);
  const stat = await getText(server.url('/stat'));
  assert.equal(stat.status, 200);
  assert.match(stat.text, /uptime/);
  assert.equal((await getText(server.url('/config'))).status, 403);
  const missing = await getText(server.url('/nope'));
  assert.equal(missing.status, 404);
  assert.match(missing.text, /VOYANDZ_ERR_NOT_FOUND/);
});

test('HEAD on a stream answers headers and starts no program', async () => {
  const head = await getText(server.url('/stream/ts'), 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-type'], 'video/mp2t');
  // A close-delimited stream has no length; 0 would tell a player the stream is empty.
  assert.equal(head.headers['content-length'], undefined);
  await sleep(500);
  assert.deepEqual(pidsWithToken('http-cam'), []);
});

test('exclusive WebM: two clients each get a stream that decodes from byte 0', async () => {
  const [one, two] = await Promise.all([
    capture(server.url('/stream/webm'), { ms: 3000 }),
    capture(server.url('/stream/webm'), { ms: 3000 }),
  ]);
  for (const [i, c] of [one, two].entries()) {
    assert.ok(c);
    assert.equal(c.status, 200);
    assert.equal(c.body.readUInt32BE(0), 0x1a45dfa3, 'EBML magic at byte 0');
    const streams = await ffprobe(save(join(dir, `webm${i}.webm`), c.body));
    assert.equal(streams[0]?.codec_name, 'vp8');
  }
  await sleep(500);
  assert.deepEqual(pidsWithToken('http-webm'), [], 'per-client programs stop with their clients');
});

test('shots: 200 with the image, 500 with stderr, 504 and the program killed', async () => {
  const png = await capture(server.url('/pic.png'), {});
  assert.equal(png.status, 200);
  assert.equal(png.headers['content-type'], 'image/png');
  assert.equal(png.body.subarray(1, 4).toString('latin1'), 'PNG');
  assert.equal(Number(png.headers['content-length']), png.body.length);

  const broken = await getText(server.url('/stream/broken'));
  assert.equal(broken.status, 500);
  assert.match(broken.text, /kaputt-stderr/);

  const slow = await getText(server.url('/stream/slow'));
  assert.equal(slow.status, 504);
  await sleep(1000);
  assert.deepEqual(pidsWithToken('http-slow-shot'), []);
});

test('two pipelined GETs in one packet are both answered', async () => {
  const reply = await rawExchange(server.port, [
    'GET /stat.json HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
  ]);
  const statuses = reply.match(/^HTTP\/1\.1 \d{3}/gm) ?? [];
  assert.deepEqual(statuses, ['HTTP/1.1 200', 'HTTP/1.1 200']);
  assert.match(reply, /"uptimeSeconds"/);
  assert.match(reply, /<!DOCTYPE html>/);
});

test('a page and a stream pipelined in one packet: the page, then the stream', async () => {
  const reply = await rawExchange(
    server.port,
    ['GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /stream/ts HTTP/1.1\r\nHost: x\r\n\r\n'],
    { waitMs: 2500 },
  );
  const statuses = reply.match(/^HTTP\/1\.1 \d{3}/gm) ?? [];
  assert.deepEqual(statuses, ['HTTP/1.1 200', 'HTTP/1.1 200']);
  assert.match(reply, /Content-Type: video\/mp2t/);
});

test('a request head split over several packets', async () => {
  const reply = await rawExchange(server.port, ['GE', 'T /stat.json HTT', 'P/1.1\r\nHo', 'st: x\r\nConnection: close\r\n', '\r\n'], {
    gapMs: 100,
  });
  assert.match(reply, /^HTTP\/1\.1 200/);
});

test('keep-alive page request, then a stream request on the same connection', async () => {
  const reply = await rawExchange(
    server.port,
    ['GET /stat.json HTTP/1.1\r\nHost: x\r\n\r\n', 'GET /stream/ts HTTP/1.1\r\nHost: x\r\n\r\n'],
    { gapMs: 500, waitMs: 2500 },
  );
  const statuses = reply.match(/^HTTP\/1\.1 \d{3}/gm) ?? [];
  assert.deepEqual(statuses, ['HTTP/1.1 200', 'HTTP/1.1 200']);
  const body = reply.slice(reply.lastIndexOf('\r\n\r\n') + 4);
  assert.ok(body.length > 188, 'stream bytes follow on the same connection');
  assert.equal(body.charCodeAt(0), 0x47, 'MPEG-TS sync byte');
});

test('oversized head 431, garbage 400, wrong method 405; the primary keeps serving', async () => {
  const big = await rawExchange(server.port, [`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`]);
  assert.match(big, /^HTTP\/1\.1 431/);
  const garbage = await rawExchange(server.port, [Buffer.from([0, 1, 2, 255, 13, 10, 13, 10])]);
  assert.match(garbage, /^HTTP\/1\.1 400/);
  const post = await rawExchange(server.port, ['DELETE / HTTP/1.1\r\nHost: x\r\n\r\n']);
  assert.match(post, /^HTTP\/1\.1 405/);
  // Empty lines before a request are ignored (RFC 9112 §2.2): the request after them is answered.
  const leading = await rawExchange(server.port, ['\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n']);
  assert.match(leading, /^HTTP\/1\.1 200/);
  assert.equal((await getText(server.url('/'))).status, 200);
});

/** Status line, then the body of a raw answer. */
function answer(raw: string): { status: number; body: string; head: string } {
  const end = raw.indexOf('\r\n\r\n');
  return { status: Number(raw.slice(9, 12)), head: raw.slice(0, end), body: raw.slice(end + 4) };
}

test('every error answer comes from the errors table: its status, a body starting with its code, one Date', async () => {
  const cases: [string, string | Buffer, keyof typeof ERRORS][] = [
    ['unknown path', 'GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n', 'NOT_FOUND'],
    ['disabled page', 'GET /config HTTP/1.1\r\nHost: x\r\n\r\n', 'PAGE_DISABLED'],
    ['wrong method', 'DELETE / HTTP/1.1\r\nHost: x\r\n\r\n', 'METHOD_NOT_ALLOWED'],
    ['oversized head', `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`, 'HEADER_TOO_LARGE'],
    ['garbage', Buffer.from([0, 1, 2, 255, 13, 10, 13, 10]), 'BAD_REQUEST'],
    ['bare LF line ends', 'GET / HTTP/1.1\nHost: x\n\n', 'BAD_REQUEST'],
    ['two Host headers', 'GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n', 'BAD_REQUEST'],
    ['NUL in a header value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n', 'BAD_REQUEST'],
    ['a request body', 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc', 'BAD_REQUEST'],
    ['malformed percent-encoding', 'GET /stream/%zz HTTP/1.1\r\nHost: x\r\n\r\n', 'BAD_URL'],
    ['failing shot', 'GET /stream/broken HTTP/1.1\r\nHost: x\r\n\r\n', 'SHOT_FAILED'],
    ['slow shot', 'GET /stream/slow HTTP/1.1\r\nHost: x\r\n\r\n', 'SHOT_TIMEOUT'],
  ];
  for (const [what, request, key] of cases) {
    const reply = answer(await rawExchange(server.port, [request], { waitMs: key === 'SHOT_TIMEOUT' ? 3000 : 1500 }));
    const error = ERRORS[key];
    assert.equal(reply.status, error.status, `${what}: status`);
    assert.ok(reply.body.startsWith(`${error.code}: `), `${what}: body starts with ${error.code}: ${JSON.stringify(reply.body.slice(0, 80))}`);
    assert.equal(reply.head.match(/^Date: /gim)?.length, 1, `${what}: one Date header`);
  }
});

test('absolute-form request targets are answered like their path', async () => {
  const reply = answer(await rawExchange(server.port, [`GET http://127.0.0.1:${server.port}/stat.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`]));
  assert.equal(reply.status, 200);
  assert.match(reply.body, /"streams"/);
});
