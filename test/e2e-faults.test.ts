import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from './helpers/server.js';
import { capture, getText, save, sleep, waitFor } from './helpers/clients.js';
import { openRequest, type OpenRequest } from './helpers/http-raw.js';
import { firstFrame } from './helpers/join.js';
import { assertCountersRose, assertSurvivorsKept, counterNames, metrics, timedCapture } from './helpers/owner-death.js';
import { isProcessAlive, processTree } from '../load-tests/proc.js';

const X264_TS = '-c:v libx264 -preset ultrafast -tune zerolatency -g 25 -pix_fmt yuv420p -f mpegts';

interface Stat {
  streams: { name: string; clients: number; pid: number | null; state: string }[];
  feeds: { name: string; pid: number | null; restarts: number; state: string }[];
  workers: { id: number; pid: number; clients: number }[];
}

async function stat(server: RunningServer): Promise<Stat> {
  return JSON.parse((await getText(server.url('/stat.json'))).text) as Stat;
}

test('kill -9 of the worker that runs a stream: clients on the other worker stay and get the stream back; counters never go down', async (t) => {
  const server = await startServer(
    `
feeds:
  cam:
    command: ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=320x240:rate=25 ${X264_TS} -metadata comment=faults-owner -
streams:
  ts:
    feed: cam
    command: ffmpeg -hide_banner -loglevel error -analyzeduration 500000 -i - -c copy -f mpegts -
    mimetype: video/mp2t
`,
    { workers: 2, workerMode: 'process', spillLoad: 0 },
  );
  const dir = mkdtempSync(join(tmpdir(), 'voyandz-faults-'));
  try {
    const t0 = Date.now();
    const clients = Array.from({ length: 8 }, () => timedCapture(server.url('/stream/ts'), 16000, t0));
    const spread = await waitFor(async () => {
      const s = await stat(server);
      const ts = s.streams.find((r) => r.name === 'ts');
      return ts?.clients === 8 && ts.pid !== null && s.workers.every((w) => w.clients > 0) ? s : undefined;
    }, 15000);
    await sleep(1000);
    const before = await metrics(server);
    const programPid = spread.streams.find((r) => r.name === 'ts')?.pid ?? -1;
    const owner = spread.workers.find((w) => processTree([w.pid]).includes(programPid));
    const survivor = spread.workers.find((w) => w !== owner);
    assert.ok(owner && survivor, 'one worker runs the stream, the other only serves clients');
    const killedAt = Date.now() - t0;
    process.kill(owner.pid, 'SIGKILL');

    await assertSurvivorsKept(t, server, clients, killedAt, survivor.clients, dir);

    const after = await waitFor(async () => {
      const s = await stat(server);
      return s.workers.length === 2 && s.workers.every((w) => w.pid !== owner.pid) ? s : undefined;
    }, 10000);
    assert.ok(after.workers.some((w) => w.id === owner.id), 'the dead worker was respawned');
    assertCountersRose(await counterNames(server), before, await metrics(server), 'after the worker kill');
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await server.stop();
  }
});

test('clients handed to a worker that just died are given to the other worker: none is closed unanswered', async () => {
  const server = await startServer(
    `
streams:
  ts:
    command: ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=160x120:rate=25 -c:v mpeg1video -g 25 -f mpegts -
    mimetype: video/mp2t
`,
    { workers: 2, workerMode: 'process', spillLoad: 0 },
  );
  const primary = server.process.pid ?? -1;
  const first = openRequest({ port: server.port }, '/stream/ts');
  const late = Array.from({ length: 20 }, () => {
    const socket = connect(server.port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    return { socket, received, closed, text: (): string => Buffer.concat(received).toString('latin1', 0, 64) };
  });
  try {
    assert.equal((await first.answer).status, 200);
    // One client on one worker: the other one is the least busy, where new clients go.
    const s = await stat(server);
    const idle = s.workers.find((w) => w.clients === 0);
    assert.ok(idle, 'one worker has no client');
    // The primary has accepted the late connections and waits for their heads. Stopped, it
    // cannot see the worker die before their heads: when it runs again, the heads come
    // first in its event queue and the worker's end after, as when both happen in one turn.
    await sleep(300);
    process.kill(primary, 'SIGSTOP');
    try {
      for (const c of late) c.socket.write('GET /stream/ts HTTP/1.1\r\nHost: x\r\n\r\n');
      await sleep(100);
      process.kill(idle.pid, 'SIGKILL');
      await sleep(300);
    } finally {
      process.kill(primary, 'SIGCONT');
    }
    await waitFor(() => late.every((c) => c.received.reduce((n, b) => n + b.length, 0) > 10_000 || c.socket.destroyed) || undefined, 10_000, 100, 'every late client served or closed').catch(() => undefined);
    const unanswered = late.filter((c) => !c.text().startsWith('HTTP/1.1 200')).map((c) => JSON.stringify(c.text()));
    assert.deepEqual(unanswered, [], 'every client that came as the worker died was answered 200');
    assert.ok(late.every((c) => !c.socket.destroyed), 'and keeps receiving the stream');
  } finally {
    first.close();
    for (const c of late) c.socket.destroy();
    await server.stop();
  }
});

test('clients queued behind a stalled worker for longer than the acknowledgement limit are still served', async () => {
  // Node sends one descriptor at a time, each acknowledged by the worker's event loop: a worker
  // busy for a while (a burst of program spawns, here SIGSTOP) holds the others back in the
  // primary. Their wait for the acknowledgement starts when they are sent, not when queued.
  const server = await startServer(
    `
streams:
  ts:
    command: ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=160x120:rate=25 -c:v mpeg1video -g 25 -f mpegts -
    mimetype: video/mp2t
`,
    { workers: 1, workerMode: 'process' },
  );
  const first = openRequest({ port: server.port }, '/stream/ts');
  let queued: OpenRequest[] = [];
  try {
    assert.equal((await first.answer).status, 200);
    const worker = (await stat(server)).workers[0];
    process.kill(worker.pid, 'SIGSTOP');
    try {
      queued = Array.from({ length: 5 }, () => openRequest({ port: server.port }, '/stream/ts'));
      await sleep(11_000);
    } finally {
      process.kill(worker.pid, 'SIGCONT');
    }
    const answers = await Promise.all(queued.map((q) => q.answer.then((a) => a.status, (error: unknown) => String(error))));
    assert.deepEqual(answers, queued.map(() => 200), 'every queued client is answered 200');
    const before = queued.map((q) => q.received());
    await sleep(1500);
    assert.ok(queued.every((q, i) => q.received() > (before[i] ?? 0)), 'and keeps receiving the stream');
  } finally {
    first.close();
    for (const q of queued) q.close();
    await server.stop();
  }
});

test('a new run starts clean: the second viewer of an on-demand stream gets nothing of the first run', async () => {
  const server = await startServer(`
streams:
  ts:
    command: ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=320x240:rate=25 ${X264_TS} -metadata comment=faults-rerun -
    mimetype: video/mp2t
`);
  const dir = mkdtempSync(join(tmpdir(), 'voyandz-rerun-'));
  try {
    const first = await capture(server.url('/stream/ts'), { ms: 4000 });
    assert.equal(first.status, 200);
    const firstEnd = await firstFrame(save(join(dir, 'first.ts'), first.body), true);
    await waitFor(async () => (await stat(server)).streams.find((s) => s.name === 'ts')?.state === 'idle' || undefined, 10000);
    const second = await capture(server.url('/stream/ts'), { ms: 2000 });
    assert.equal(second.status, 200);
    const frame = await firstFrame(save(join(dir, 'second.ts'), second.body), true);
    assert.equal(frame.keyFrame, '1');
    // Each run of ffmpeg starts its timestamps over; a tail of the first run would be seconds later.
    assert.ok(Math.abs(frame.time - firstEnd.time) < 1, `second run's first frame at ${frame.time} s, first run's at ${firstEnd.time} s`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await server.stop();
  }
});

test('programs reading a feed join it at a keyframe: 100 snapshots of a running feed, 100 decodable PNGs', async () => {
  const server = await startServer(`
feeds:
  cam:
    command: ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=320x240:rate=25 ${X264_TS} -metadata comment=faults-snap -
    mode: continuous
streams:
  snapshot:
    type: shot
    feed: cam
    command: ffmpeg -hide_banner -loglevel error -i - -frames:v 1 -f image2pipe -c:v png -
    mimetype: image/png
`);
  try {
    // The first shot starts the feed; the rest find it running, at any point of its GOP.
    assert.equal((await capture(server.url('/stream/snapshot'), { ms: 15000 })).status, 200);
    const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47]);
    const statuses: number[] = [];
    for (let round = 0; round < 20; round++) {
      const shots = await Promise.all(Array.from({ length: 5 }, () => capture(server.url('/stream/snapshot'), { ms: 15000 })));
      for (const shot of shots) {
        statuses.push(shot.status);
        assert.ok(shot.status !== 200 || shot.body.subarray(0, 4).equals(PNG), 'a PNG');
      }
      await sleep(37); // land at different places of the GOP
    }
    assert.equal(statuses.filter((s) => s === 200).length, 100, `statuses: ${statuses.join(' ')}`);
  } finally {
    await server.stop();
  }
});

test('stall watchdog: a program that goes silent while needed is killed, restarted, logged and counted', async () => {
  const server = await startServer(`
feeds:
  stuck:
    command: sh -c 'printf hello; exec sleep 60'
    stall_timeout: 1
streams:
  s:
    feed: stuck
    command: cat
    mimetype: application/octet-stream
`);
  try {
    const got = await capture(server.url('/stream/s'), { ms: 5000 });
    assert.equal(got.status, 200);
    assert.ok((got.body.toString().match(/hello/g) ?? []).length >= 2, `the feed ran again: ${got.body.toString()}`);
    const line = await server.waitForLog((l) => l.code === 'VOYANDZ_ERR_PROGRAM_STALLED' && l.feed === 'stuck', 1000);
    assert.match(String(line.msg), /wrote nothing for 1 s/);
    const stalls = (await metrics(server)).find((s) => s.name === 'voyandz_program_stalls_total' && s.labels.name === 'stuck');
    assert.ok(stalls && stalls.value >= 1, `stalls counted: ${stalls?.value}`);
  } finally {
    await server.stop();
  }
});

test('an ended response is reaped: a client that never closes is no longer counted', async () => {
  const server = await startServer(`
streams:
  short:
    command: sh -c 'printf data; sleep 1'
    mimetype: application/octet-stream
    resurrect: false
`);
  try {
    const socket = connect({ port: server.port, host: '127.0.0.1', allowHalfOpen: true });
    socket.on('error', () => undefined);
    socket.write('GET /stream/short HTTP/1.1\r\nHost: x\r\n\r\n');
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    await waitFor(() => received.includes('data') || undefined, 5000);
    const ended = new Promise<void>((resolve) => socket.once('end', resolve));
    await ended; // the server ended the response; this client never closes its side
    const gone = await waitFor(async () => ((await stat(server)).streams.find((s) => s.name === 'short')?.clients === 0 ? true : undefined), 6000);
    assert.equal(gone, true);
    socket.destroy();
  } finally {
    await server.stop();
  }
});

for (const mode of ['process', 'thread'] as const) {
  test(`a primary killed with -9 leaves nothing (worker ${mode}s): ${mode === 'process' ? 'its workers stop their programs and remove the runtime folder' : 'its programs end on their broken pipes; the next start removes the runtime folder'}`, async () => {
    const config = `
feeds:
  cam:
    command: ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=160x120:rate=25 ${X264_TS} -metadata comment=faults-orphan -
    mode: autostart
`;
    const server = await startServer(config, { workers: 2, workerMode: mode, spillLoad: 0 });
    let runtimeDir: string;
    try {
      const started = await server.waitForLog((l) => typeof l.runtimeDir === 'string');
      runtimeDir = String(started.runtimeDir);
      const tree = await waitFor(() => {
        const pids = processTree([server.process.pid ?? -1]);
        // The primary, ffmpeg, and 2 worker processes (threads are no processes).
        return pids.length >= (mode === 'process' ? 4 : 2) ? pids : undefined;
      });
      assert.ok(existsSync(runtimeDir));
      server.process.kill('SIGKILL');
      await waitFor(() => tree.every((pid) => !isProcessAlive(pid)) || undefined, 10000);
    } finally {
      await server.stop();
    }
    if (mode === 'process') {
      assert.equal(existsSync(runtimeDir), false, 'runtime folder removed');
      return;
    }
    // Nothing of the killed process is left to remove it: the next server does (its pid file names a dead owner).
    assert.ok(existsSync(runtimeDir), 'the killed server\'s folder is still there');
    const next = await startServer(config, { workers: 1, workerMode: mode });
    try {
      await next.waitForLog((l) => typeof l.runtimeDir === 'string');
      assert.equal(existsSync(runtimeDir), false, 'the next start removed it');
    } finally {
      await next.stop();
    }
  });
}
