import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from './helpers/server.js';
import { capture, getText, sleep, waitFor } from './helpers/clients.js';
import { isProcessAlive as isAlive, pidsWithToken } from '../load-tests/proc.js';

/** A cheap MPEG-TS feed; `token` makes its process findable in /proc. */
const feed = (token: string, extra = ''): string => `
    command: >
      ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=160x120:rate=25
      -c:v mpeg1video -q:v 10 -f mpegts -metadata comment=${token} -${extra}`;

const copyStream = (feedName: string): string => `
    feed: ${feedName}
    command: ffmpeg -hide_banner -loglevel error -analyzeduration 500000 -i - -c copy -f mpegts -
    mimetype: video/mp2t`;

test('feed modes: on-demand stops after the last client, N seconds lingers, autostart runs with no client', async () => {
  const server = await startServer(`
logdir: $DIR
feeds:
  ondemand:${feed('life-ondemand')}
  linger:${feed('life-linger')}
    mode: 3
  auto:${feed('life-auto')}
    mode: autostart
streams:
  a:${copyStream('ondemand')}
  b:${copyStream('linger')}
`);
  try {
    // autostart: running before anyone asks
    await waitFor(() => pidsWithToken('life-auto').length === 1);
    assert.equal(pidsWithToken('life-ondemand').length, 0, 'on-demand feed idle without clients');

    const a = await capture(server.url('/stream/a'), { bytes: 20_000 });
    assert.equal(a.status, 200);
    await waitFor(() => pidsWithToken('life-ondemand').length === 0, 10000);

    const b = await capture(server.url('/stream/b'), { bytes: 20_000 });
    assert.equal(b.status, 200);
    const [lingering] = pidsWithToken('life-linger');
    assert.ok(lingering, 'linger feed running');
    await sleep(1500);
    assert.ok(isAlive(lingering), 'linger feed still running 1.5 s after the last client');
    await waitFor(() => !isAlive(lingering), 10000);

    // stderr of every program lands in logdir
    assert.ok(existsSync(join(server.dir, 'feed_ondemand.log')));
    assert.ok(existsSync(join(server.dir, 'stream_a.log')));
    assert.match(readFileSync(join(server.dir, 'feed_ondemand.log'), 'utf8'), /ffmpeg/);
  } finally {
    assert.equal(await server.stop(), 0);
  }
  assert.deepEqual(pidsWithToken('life-auto'), [], 'autostart feed stopped with the server');
});

test('feed chain and a feed shared by two streams run one program each', async () => {
  const server = await startServer(`
feeds:
  root:${feed('chain-root')}
  child:
    feed: root
    command: ffmpeg -hide_banner -loglevel error -analyzeduration 500000 -i - -c copy -f mpegts -metadata comment=chain-child -
streams:
  s1:${copyStream('root')}
  s2:${copyStream('root')}
  s3:${copyStream('child')}
`);
  try {
    const clients = ['/stream/s1', '/stream/s2', '/stream/s3', '/stream/s1'].map((path) =>
      capture(server.url(path), { ms: 4000 }),
    );
    await sleep(2500);
    assert.equal(pidsWithToken('chain-root').length, 1, 'one root feed program');
    assert.equal(pidsWithToken('chain-child').length, 1, 'one chained feed program');
    const results = await Promise.all(clients);
    for (const r of results) assert.ok(r.body.length > 5000, `client got ${r.body.length} bytes`);
    const stat = JSON.parse((await getText(server.url('/stat.json'))).text) as { feeds: { name: string; bytesRead: number }[] };
    assert.ok((stat.feeds.find((f) => f.name === 'child')?.bytesRead ?? 0) > 0);
  } finally {
    assert.equal(await server.stop(), 0);
  }
});

test('kill -9 of a feed program: it is restarted and the connected client keeps receiving', async () => {
  const server = await startServer(`
feeds:
  cam:${feed('restart-cam')}
streams:
  ts:${copyStream('cam')}
`);
  try {
    const client = capture(server.url('/stream/ts'), { ms: 9000 });
    const [first] = await waitFor(() => {
      const pids = pidsWithToken('restart-cam');
      return pids.length === 1 ? pids : undefined;
    });
    assert.ok(first);
    await sleep(1500);
    const statBefore = JSON.parse((await getText(server.url('/stat.json'))).text) as { streams: { name: string; bytesSent: number }[] };
    const receivedAtKill = statBefore.streams.find((s) => s.name === 'ts')?.bytesSent ?? 0;
    process.kill(first, 'SIGKILL');
    const second = await waitFor(() => pidsWithToken('restart-cam').find((pid) => pid !== first), 10000);
    assert.notEqual(second, first);
    const result = await client;
    const received = result.body.length;
    assert.ok(received > receivedAtKill + 5000, `client received ${received - receivedAtKill} bytes after the restart`);
    const stat = JSON.parse((await getText(server.url('/stat.json'))).text) as { feeds: { name: string; restarts: number }[] };
    assert.equal(stat.feeds.find((f) => f.name === 'cam')?.restarts, 1);
  } finally {
    assert.equal(await server.stop(), 0);
  }
});

test('SIGTERM with clients and programs running: exit 0, no program left behind, feed readers end by end of input', async (t) => {
  const logdir = mkdtempSync(join(tmpdir(), 'voyandz-stop-'));
  const server = await startServer(`
workers: 2
logdir: ${logdir}
feeds:
  cam:${feed('term-cam')}
  other:${feed('term-other')}
streams:
  ts:${copyStream('cam')}
  ts2:${copyStream('other')}
  excl:
    feed: cam
    client: exclusive
    command: ffmpeg -hide_banner -loglevel error -analyzeduration 500000 -i - -c copy -f mpegts -metadata comment=term-excl -
    mimetype: video/mp2t
`);
  try {
    // A client still waiting for its stream's first byte may see the connection close: not a failure here.
    const clients = ['/stream/ts', '/stream/ts2', '/stream/excl', '/stream/ts'].map((path) =>
      capture(server.url(path), { ms: 20000 }).catch((error: unknown) => error),
    );
    await waitFor(() => pidsWithToken('term-').length >= 3, 15000);
    await sleep(1500); // past ffmpeg's probing: the programs copy packets
    const stopping = Date.now();
    const stopped = server.stop();
    await waitFor(() => pidsWithToken('term-').length === 0, 10000, 20);
    t.diagnostic(`every program gone ${Date.now() - stopping} ms after SIGTERM`);
    assert.equal(await stopped, 0);
    await Promise.all(clients);
    assert.deepEqual(pidsWithToken('term-'), [], 'no program survives the server');
    // Their feed ended, then their stdin was closed: they ended as at the end of any input, no signal needed.
    for (const name of ['stream_ts.log', 'stream_ts2.log', 'stream_excl.log']) {
      const notes = readFileSync(join(logdir, name), 'utf8').match(/voyandz: (?!start).*/g) ?? [];
      assert.match(notes.at(-1) ?? '', /exit code 0 after \d+ ms/, `${name}: ${notes.join(' | ')}`);
    }
  } finally {
    rmSync(logdir, { recursive: true, force: true });
  }
});

test('a failing feed is restarted with a growing back-off and its stderr logged; resurrect: false leaves it dead', async () => {
  const server = await startServer(`
start_timeout: 3
feeds:
  flaky:
    command: sh -c 'echo flaky-camera-unplugged >&2; exit 4'
  once:
    command: sh -c 'echo once-camera-gone >&2; exit 5'
    resurrect: false
streams:
  a:
    feed: flaky
    command: cat
    mimetype: application/octet-stream
  b:
    feed: once
    command: cat
    mimetype: application/octet-stream
`);
  try {
    const [a, b] = await Promise.all([
      capture(server.url('/stream/a'), { ms: 3500 }),
      capture(server.url('/stream/b'), { ms: 1500 }),
    ]);
    // Never an empty 200: the feed of a never sends a byte (504 after start_timeout); the feed of b
    // ends for good, so b's program ends before sending anything (502).
    assert.equal(a.status, 504);
    assert.match(a.body.toString(), /^VOYANDZ_ERR_STREAM_START_TIMEOUT: stream a: its program sent nothing within 3 s/);
    assert.equal(b.status, 502);
    assert.match(b.body.toString(), /^VOYANDZ_ERR_STREAM_FAILED: stream b: its program /);
    const flakyLogs = server.logs.filter((l) => l.feed === 'flaky' && l.code === 'VOYANDZ_ERR_PROGRAM_EXIT');
    assert.ok(flakyLogs.length >= 1, 'the failure is logged');
    assert.match(String(flakyLogs[0]?.msg), /exited with code 4 before producing a byte; restarting in 500 ms/);
    assert.match(String(flakyLogs[0]?.stderr), /flaky-camera-unplugged/);
    // 0.5 + 1 + 2 s of back-off fit in 3.5 s: three or four restarts, not hundreds, and one log line.
    const stat = JSON.parse((await getText(server.url('/stat.json'))).text) as { feeds: { name: string; restarts: number; state: string }[] };
    const flaky = stat.feeds.find((f) => f.name === 'flaky');
    assert.ok(flaky && flaky.restarts >= 2 && flaky.restarts <= 5, `flaky restarted ${flaky?.restarts} times`);
    assert.equal(flakyLogs.length, 1, 'later failures are rate-limited');
    const once = stat.feeds.find((f) => f.name === 'once');
    assert.equal(once?.restarts, 0);
    assert.equal(once.state, 'dead');
    const onceLog = server.logs.find((l) => l.feed === 'once' && l.code === 'VOYANDZ_ERR_PROGRAM_EXIT');
    assert.match(String(onceLog?.msg), /not restarted \(resurrect: never\)/);
    assert.match(String(onceLog?.stderr), /once-camera-gone/);
  } finally {
    assert.equal(await server.stop(), 0);
  }
});
