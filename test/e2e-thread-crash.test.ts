import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from './helpers/server.js';
import { getText, sleep, waitFor } from './helpers/clients.js';
import { NodeInspector, type InspectedThread } from './helpers/node-inspector.js';
import { assertCountersRose, assertSurvivorsKept, counterNames, metrics, timedCapture } from './helpers/owner-death.js';
import { sampleValue } from './helpers/metrics.js';
import { freePort } from '../load-tests/loopback.js';

const X264_TS = '-c:v libx264 -preset ultrafast -tune zerolatency -g 25 -pix_fmt yuv420p -f mpegts';

interface Stat {
  server: { pid: number; workerMode: string };
  streams: { name: string; clients: number; pid: number | null }[];
  feeds: { name: string; pid: number | null }[];
  workers: { id: number; pid: number; threadId: number | null; clients: number; restarts: number }[];
}

const stat = async (server: RunningServer): Promise<Stat> => JSON.parse((await getText(server.url('/stat.json'))).text) as Stat;

/** Children of `parent` that exited and that nobody waited for. */
function zombieChildren(parent: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((entry) => {
      try {
        const text = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const [state, ppid] = text.slice(text.lastIndexOf(')') + 2).split(' ');
        return state === 'Z' && Number(ppid) === parent ? [Number(entry)] : [];
      } catch {
        return [];
      }
    });
}

/** The pids of the programs a worker thread spawned (its ChildProcess handles). */
async function programsOf(inspector: NodeInspector, thread: InspectedThread): Promise<number[]> {
  const pids = await inspector.evaluate(thread, "process._getActiveHandles().flatMap((h) => h.constructor.name === 'ChildProcess' && typeof h.pid === 'number' ? [h.pid] : [])");
  return Array.isArray(pids) ? pids.filter((pid): pid is number => typeof pid === 'number') : [];
}

test('an uncaught error in the worker thread that runs a stream ends only that thread: clients on the other thread stay and get the stream back; its programs are killed and reaped; the restart is counted', async (t) => {
  const inspectPort = await freePort();
  const server = await startServer(
    `
worker_mode: thread
feeds:
  cam:
    command: ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=320x240:rate=25 ${X264_TS} -metadata comment=thread-crash -
streams:
  ts:
    feed: cam
    command: ffmpeg -hide_banner -loglevel error -analyzeduration 500000 -i - -c copy -f mpegts -
    mimetype: video/mp2t
`,
    { workers: 2, spillLoad: 0, env: { NODE_OPTIONS: `--inspect=127.0.0.1:${inspectPort}` } },
  );
  const dir = mkdtempSync(join(tmpdir(), 'voyandz-thread-crash-'));
  const inspector = await NodeInspector.connect(inspectPort);
  try {
    const t0 = Date.now();
    const clients = Array.from({ length: 8 }, () => timedCapture(server.url('/stream/ts'), 16000, t0));
    const spread = await waitFor(async () => {
      const s = await stat(server);
      const ts = s.streams.find((r) => r.name === 'ts');
      return ts?.clients === 8 && ts.pid !== null && s.workers.every((w) => w.clients > 0) ? s : undefined;
    }, 15000);
    await sleep(1000);
    assert.equal(spread.server.workerMode, 'thread');
    const before = await metrics(server);
    const streamProgram = spread.streams.find((r) => r.name === 'ts')?.pid ?? -1;
    const feedProgram = spread.feeds.find((r) => r.name === 'cam')?.pid ?? -1;

    // The thread that spawned the stream's program owns it; the other only serves clients through the peer link.
    const owned = await Promise.all(inspector.threads().map(async (thread) => ({ thread, programs: await programsOf(inspector, thread) })));
    const ownerThread = owned.find((o) => o.programs.includes(streamProgram));
    assert.ok(ownerThread, `a thread runs the stream's program ${streamProgram}: ${JSON.stringify(owned)}`);
    assert.ok(ownerThread.programs.includes(feedProgram), 'and its feed');
    const owner = spread.workers.find((w) => w.threadId === ownerThread.thread.threadId);
    const survivor = spread.workers.find((w) => w !== owner);
    assert.ok(owner && survivor, `/stat.json names the threads: ${JSON.stringify(spread.workers)}`);
    assert.ok(spread.workers.every((w) => w.pid === spread.server.pid && w.restarts === 0));

    const diedAt = Date.now() - t0;
    await inspector.evaluate(ownerThread.thread, "setImmediate(() => { throw new Error('thrown by e2e-thread-crash'); }), 'armed'");

    await assertSurvivorsKept(t, server, clients, diedAt, survivor.clients, dir);

    assert.equal(server.process.exitCode, null, 'the server runs on');
    const after = await waitFor(async () => {
      const s = await stat(server);
      return s.workers.length === 2 && s.workers.find((w) => w.id === owner.id)?.restarts === 1 ? s : undefined;
    }, 10000);
    assert.equal(after.server.pid, spread.server.pid);
    assert.equal(after.workers.find((w) => w.id === survivor.id)?.restarts, 0, 'the other thread was not restarted');
    assert.ok(after.workers.find((w) => w.id === owner.id)?.threadId !== owner.threadId, 'a new thread in its place');
    const logged = server.logs.find((line) => line.code === 'VOYANDZ_ERR_WORKER_EXIT' && line.worker === owner.id);
    assert.ok(logged, 'the death is logged with its code');
    assert.ok(server.logs.some((line) => String(line.msg).includes('thrown by e2e-thread-crash')), 'the uncaught error is logged');

    const now = await metrics(server);
    assert.equal(sampleValue(now, 'voyandz_worker_restarts_total', { worker: String(owner.id) }), 1);
    assertCountersRose(await counterNames(server), before, now, 'after the thread crash');

    // The dead thread's programs: killed, and waited for (libuv waited only from the dead thread's loop).
    await waitFor(() => (!existsSync(`/proc/${streamProgram}`) && !existsSync(`/proc/${feedProgram}`)) || undefined, 10000, 100, 'the old programs reaped');
    assert.deepEqual(zombieChildren(spread.server.pid), [], 'no zombie left');
  } finally {
    inspector.close();
    rmSync(dir, { recursive: true, force: true });
    await server.stop();
  }
});
