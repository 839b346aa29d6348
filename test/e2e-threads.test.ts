import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from './helpers/server.js';
import { capture, ffprobe, getText, save, sleep, waitFor } from './helpers/clients.js';
import { parsePrometheus } from './helpers/metrics.js';
import { isProcessAlive, listProcessGroup, pidsWithToken, processTree } from '../load-tests/proc.js';

const feed = (token: string): string => `
    command: >
      ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=320x240:rate=25
      -c:v libx264 -preset ultrafast -tune zerolatency -g 25 -f mpegts -metadata comment=${token} -`;

const copy = (name: string, feedName: string, extra = ''): string => `
  ${name}:
    feed: ${feedName}
    command: ffmpeg -hide_banner -loglevel error -analyzeduration 500000 -i - -c copy -f mpegts -
    mimetype: video/mp2t${extra}`;

const CONFIG = `
worker_mode: thread
stat_clients: true
pages:
  stat: true
feeds:
  cam:${feed('threads-cam')}
streams:${copy('ts', 'cam')}${copy('solo', 'cam', '\n    client: exclusive')}
`;

interface Stat {
  server: { pid: number; workerMode: string; rss: number };
  streams: { name: string; clients: number; pid: number | null }[];
  workers: { id: number; pid: number; threadId: number | null; rss: number | null; clients: number; load: number; restarts: number }[];
  clients?: { stream: string; worker: number }[];
}

const stat = async (url: string): Promise<Stat> => JSON.parse((await getText(url)).text) as Stat;

test('worker_mode thread: one process; a shared stream to 22 clients over both threads (the peer link), an exclusive one, stats, metrics, a reload, a clean stop', async () => {
  const server = await startServer(CONFIG, { workers: 2, spillLoad: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'voyandz-threads-'));
  const serverPid = server.process.pid ?? 0;
  // Every program is a child of the one process, in a group of its own (the pool reaps the groups of a thread that dies).
  const groups = new Set<number>();
  const recordPrograms = (): void => {
    for (const pid of processTree([serverPid])) if (pid !== serverPid) groups.add(pid);
  };
  try {
    await server.waitForLog((line) => line.workerMode === 'thread' && line.msg === 'started 2 worker thread(s)');

    // The first client starts the feed (owned by one thread); the others are spread over both, the owner's peer reading it through the peer link.
    const first = capture(server.url('/stream/ts'), { ms: 7000 });
    await sleep(1500);
    const others = Array.from({ length: 21 }, () => capture(server.url('/stream/ts'), { ms: 4500 }));
    const solo = capture(server.url('/stream/solo'), { bytes: 60_000, ms: 8000 });

    const during = await waitFor(async () => {
      const s = await stat(server.url('/stat.json'));
      return s.streams.find((r) => r.name === 'ts')?.clients === 22 ? s : undefined;
    });
    assert.equal(during.server.workerMode, 'thread');
    assert.ok(during.server.rss > 0);
    assert.equal(during.workers.length, 2);
    for (const w of during.workers) {
      assert.equal(w.pid, serverPid, 'a worker thread runs in the server process');
      assert.equal(w.rss, null, 'no RSS of its own');
      assert.ok(typeof w.threadId === 'number' && w.threadId > 0, 'its thread id');
      assert.equal(w.restarts, 0);
      assert.ok(w.clients > 0, `worker ${w.id} carries clients of the shared stream`);
    }
    assert.deepEqual([...new Set((during.clients ?? []).filter((c) => c.stream === 'ts').map((c) => c.worker))].sort(), [0, 1]);
    assert.equal(pidsWithToken('threads-cam').length, 1, 'one feed program');
    recordPrograms();
    const page = await getText(server.url('/stat'));
    assert.match(page.text, /worker mode: thread/);

    // Per-thread runtime series, but the process's CPU, memory and descriptors only once (the primary's).
    const samples = parsePrometheus((await getText(server.url('/metrics'))).text);
    const processSeries = samples.filter((s) => s.name === 'process_max_fds');
    assert.deepEqual(processSeries.map((s) => s.labels.role), ['primary']);
    const heaps = samples.filter((s) => s.name === 'nodejs_heap_size_used_bytes').map((s) => `${s.labels.role}${s.labels.worker}`);
    assert.deepEqual(heaps.sort(), ['primary', 'worker0', 'worker1']);
    const restarts = samples.filter((s) => s.name === 'voyandz_worker_restarts_total').map((s) => `${s.labels.worker}=${s.value}`);
    assert.deepEqual(restarts.sort(), ['0=0', '1=0'], 'every worker has its restart series from the start');

    const captures = [await first, ...(await Promise.all(others))];
    const reference = captures[0]?.body ?? Buffer.alloc(0);
    assert.ok(reference.length > 50_000, `first client got ${reference.length} bytes`);
    for (const [i, c] of captures.entries()) {
      assert.equal(c.status, 200);
      assert.ok(c.body.length > 10_000, `client ${i} got ${c.body.length} bytes`);
      // Past the join header (PAT + PMT), the same bytes as the first client's, whichever thread served it.
      const skip = i === 0 ? 0 : 2 * 188;
      const at = reference.indexOf(c.body.subarray(skip, skip + 2048));
      assert.ok(at >= 0, `client ${i}'s bytes are in the reference stream`);
      const overlap = Math.min(c.body.length - skip, reference.length - at);
      assert.ok(c.body.subarray(skip, skip + overlap).equals(reference.subarray(at, at + overlap)), `client ${i} bytes identical`);
    }
    assert.equal((await ffprobe(save(join(dir, 'ts.ts'), reference)))[0]?.codec_name, 'h264');
    assert.equal((await ffprobe(save(join(dir, 'c7.ts'), captures[7]?.body ?? Buffer.alloc(0))))[0]?.codec_name, 'h264');
    const exclusive = await solo;
    assert.equal(exclusive.status, 200);
    assert.equal((await ffprobe(save(join(dir, 'solo.ts'), exclusive.body)))[0]?.codec_name, 'h264');

    // A reload reaches both threads: a new stream serves, the removed one is gone.
    const file = join(server.dir, 'voyandz.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('  solo:', '  fresh:'));
    const reloaded = server.waitForLog((line) => line.msg === 'config reloaded', 10000);
    server.process.kill('SIGHUP');
    await reloaded;
    assert.equal((await getText(server.url('/stream/solo'))).status, 404);

    // Clients of both threads and their programs at the stop.
    let flowing = 0;
    const held = ['/stream/ts', '/stream/ts', '/stream/ts', '/stream/ts', '/stream/fresh'].map((path) => {
      let first = true;
      return capture(server.url(path), { ms: 20_000 }, () => {
        if (first) flowing++;
        first = false;
      });
    });
    const ended = Promise.allSettled(held);
    await waitFor(() => flowing === held.length, 15_000, 100, 'bytes to every held client');
    recordPrograms();
    assert.ok(groups.size >= 4, `the feed, the shared stream and two exclusive streams ran programs: ${[...groups].join(' ')}`);
    const stopped = Date.now();
    assert.equal(await server.stop(), 0);
    const ends = await ended;
    assert.ok(Date.now() - stopped < 15_000, 'clients ended with the server');
    for (const c of ends) assert.equal(c.status === 'fulfilled' ? c.value.status : c.reason, 200);
  } finally {
    if (server.process.exitCode === null) await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(!isProcessAlive(serverPid));
  for (const pgid of groups) assert.deepEqual(listProcessGroup(pgid), [], `program group ${pgid} ended with the server`);
  assert.deepEqual(pidsWithToken('threads-cam'), []);
});

test('worker_mode thread without the addon\'s dup (VOYANDZ_NATIVE_DUP=0): a warning, then worker processes', async () => {
  const server = await startServer(CONFIG, { workers: 2, env: { VOYANDZ_NATIVE_DUP: '0' } });
  try {
    const warning = await server.waitForLog((line) => line.code === 'VOYANDZ_ERR_THREADS_UNAVAILABLE');
    assert.equal(warning.level, 40);
    assert.match(String(warning.msg), /VOYANDZ_NATIVE_DUP=0.*running worker processes instead/);
    await server.waitForLog((line) => line.msg === 'started 2 worker process(es)');
    const s = await stat(server.url('/stat.json'));
    assert.equal(s.server.workerMode, 'process');
    for (const w of s.workers) {
      assert.notEqual(w.pid, server.process.pid, 'a worker is a process of its own');
      assert.ok((w.rss ?? 0) > 0);
    }
    const c = await capture(server.url('/stream/ts'), { bytes: 20_000, ms: 10_000 });
    assert.equal(c.status, 200);
    assert.ok(c.body.length >= 20_000);
  } finally {
    assert.equal(await server.stop(), 0);
  }
});
