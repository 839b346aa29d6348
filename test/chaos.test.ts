import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startServer, type RunningServer } from './helpers/server.js';
import { getText, save, sleep, waitFor } from './helpers/clients.js';
import { parsePrometheus, type Sample } from './helpers/metrics.js';
import { isProcessAlive, processTree } from '../load-tests/proc.js';

const run = promisify(execFile);

const CONFIG = `
feeds:
  cam:
    command: ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=160x120:rate=25 -c:v mpeg1video -q:v 12 -g 25 -f mpegts -metadata comment=chaos -
  base:
    command: ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=160x120:rate=25 -c:v mpeg1video -q:v 12 -g 25 -f mpegts -metadata comment=chaos -
  chained:
    feed: base
    command: ffmpeg -hide_banner -loglevel error -analyzeduration 500000 -i - -c copy -f mpegts -metadata comment=chaos -
streams:
  ts:
    feed: cam
    command: ffmpeg -hide_banner -loglevel error -analyzeduration 500000 -i - -c copy -f mpegts -metadata comment=chaos -
    mimetype: video/mp2t
  chain:
    feed: chained
    command: ffmpeg -hide_banner -loglevel error -analyzeduration 500000 -i - -c copy -f mpegts -metadata comment=chaos -
    mimetype: video/mp2t
  webm:
    command: >
      ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=160x120:rate=25
      -c:v libvpx -deadline realtime -cpu-used 8 -g 25 -b:v 100k -f webm -metadata comment=chaos -
    mimetype: video/webm
`;
const STREAMS = ['ts', 'chain', 'webm'] as const;

interface Stat {
  server: { pid: number };
  totals: { clients: number };
  streams: { name: string; pid: number | null }[];
  feeds: { name: string; pid: number | null }[];
  workers: { id: number; pid: number }[];
}

/** One viewer: reconnects when the server closes it, keeps what its first connection received. */
class Viewer {
  socket: Socket | null = null;
  connections = 0;
  closes: number[] = [];
  /** ms from a close to the first stream byte of the next connection. */
  reconnectMs: number[] = [];
  /** Per connection, what it received (kept viewers only). */
  bodies: Buffer[][] = [];
  private stopped = false;

  constructor(
    readonly stream: string,
    private readonly port: number,
    private readonly keep: boolean,
  ) {}

  open(): void {
    if (this.stopped) return;
    const socket = connect(this.port, '127.0.0.1');
    this.socket = socket;
    this.connections++;
    const received: Buffer[] = [];
    if (this.keep) this.bodies.push(received);
    const since = this.closes.at(-1);
    let head = true;
    socket.on('error', () => undefined);
    socket.write(`GET /stream/${this.stream} HTTP/1.1\r\nHost: x\r\n\r\n`);
    socket.on('data', (chunk: Buffer) => {
      let body = chunk;
      if (head) {
        const end = chunk.indexOf('\r\n\r\n');
        if (end < 0) return;
        head = false;
        body = chunk.subarray(end + 4);
        if (since !== undefined) this.reconnectMs.push(Date.now() - since);
      }
      if (this.keep) received.push(body);
    });
    socket.once('close', () => {
      if (this.stopped || this.socket !== socket) return;
      this.closes.push(Date.now());
      this.socket = null;
      this.open();
    });
  }

  get open_(): boolean {
    return this.socket !== null;
  }

  stop(): void {
    this.stopped = true;
    this.socket?.destroy();
  }
}

async function stat(server: RunningServer): Promise<Stat> {
  return JSON.parse((await getText(server.url('/stat.json'))).text) as Stat;
}

async function counters(server: RunningServer): Promise<Map<string, number>> {
  const text = (await getText(server.url('/metrics'))).text;
  const names = new Set([...text.matchAll(/^# TYPE (\S+) counter$/gm)].map((m) => m[1]));
  const key = (s: Sample): string => `${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`;
  return new Map(parsePrometheus(text).filter((s) => names.has(s.name)).map((s) => [key(s), s.value]));
}

function assertRose(before: Map<string, number>, after: Map<string, number>, when: string): void {
  for (const [key, value] of before) {
    const later = after.get(key);
    assert.ok(later !== undefined && later >= value, `${when}: ${key} ${value} → ${later}`);
  }
}

test('chaos: programs and workers killed every 5 s under 150 viewers; viewers stay or come back, counters rise, nothing leaks', async (t) => {
  const server = await startServer(CONFIG, { workers: 2, workerMode: 'process', spillLoad: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'voyandz-chaos-'));
  const viewers: Viewer[] = [];
  try {
    for (let i = 0; i < 150; i++) {
      const stream = STREAMS[i % STREAMS.length] ?? 'ts';
      const viewer = new Viewer(stream, server.port, i < 12);
      viewers.push(viewer);
      viewer.open();
      if (i % 25 === 24) await sleep(200);
    }
    await waitFor(async () => ((await stat(server)).totals.clients === 150 ? true : undefined), 20000);
    let before = await counters(server);

    const tsOwner = async (): Promise<{ owner: Stat['workers'][number]; other: Stat['workers'][number] }> => {
      const s = await stat(server);
      const program = s.streams.find((r) => r.name === 'ts')?.pid ?? -1;
      const owner = s.workers.find((w) => processTree([w.pid]).includes(program));
      const other = s.workers.find((w) => w !== owner);
      assert.ok(owner && other, 'the owner of ts is known');
      return { owner, other };
    };
    /** Each stream's owner: the worker whose process tree holds its program. */
    const owners = async (): Promise<Map<string, number>> => {
      const s = await stat(server);
      const trees = s.workers.map((w) => ({ pid: w.pid, tree: processTree([w.pid]) }));
      return new Map(s.streams.map((r) => [r.name, trees.find((w) => r.pid !== null && w.tree.includes(r.pid))?.pid ?? -1]));
    };
    // A viewer of a stream whose pipeline lived on is back at once; one whose pipeline died with the worker waits for it.
    const reconnects = { live: [] as number[], restarted: [] as number[] };
    const kills: { what: string; pid: number; worker: boolean; at?: number }[] = [];
    const steps: (() => Promise<{ what: string; pid: number; worker: boolean }>)[] = [
      async () => ({ what: 'feed program cam', pid: (await stat(server)).feeds.find((f) => f.name === 'cam')?.pid ?? -1, worker: false }),
      async () => ({ what: 'stream program chain', pid: (await stat(server)).streams.find((r) => r.name === 'chain')?.pid ?? -1, worker: false }),
      async () => ({ what: 'owner worker of ts', pid: (await tsOwner()).owner.pid, worker: true }),
      async () => ({ what: 'the other worker', pid: (await tsOwner()).other.pid, worker: true }),
    ];
    for (const step of steps) {
      await sleep(5000);
      const kill = await step();
      assert.ok(kill.pid > 0, `${kill.what} is running`);
      kills.push(kill);
      const closedBefore = viewers.reduce((n, v) => n + v.closes.length, 0);
      const owned = await owners();
      const seen = viewers.map((v) => v.reconnectMs.length);
      kills[kills.length - 1] = { ...kill, at: Date.now() };
      process.kill(kill.pid, 'SIGKILL');
      // The stats count exactly the viewers connected, within a few seconds of the kill.
      let seenState = '';
      await waitFor(async () => {
        const s = await stat(server);
        const open = viewers.filter((v) => v.open_).length;
        // Every viewer the kill closed is back: connected again and receiving.
        const notBack = viewers.filter((v) => v.reconnectMs.length !== v.closes.length);
        seenState = `${s.workers.length} workers, ${s.totals.clients} clients counted, ${open} viewers open, ${notBack.length} closed and not receiving yet (${notBack.map((v) => v.stream).join(' ')})`;
        return notBack.length === 0 && s.workers.length === 2 && s.totals.clients === open && open === 150 ? true : undefined;
      }, 10_000, 100).catch(() => assert.fail(`after killing ${kill.what}, stats and viewers did not agree within 10 s: ${seenState}`));
      // The bound is 2 s on a quiet machine; a shared one is given 10 s, and the figure is reported.
      t.diagnostic(`killing ${kill.what}: every viewer back and counted ${Date.now() - (kills.at(-1)?.at ?? 0)} ms after the kill`);
      viewers.forEach((v, i) => reconnects[owned.get(v.stream) === kill.pid ? 'restarted' : 'live'].push(...v.reconnectMs.slice(seen[i])));
      const closed = viewers.reduce((n, v) => n + v.closes.length, 0) - closedBefore;
      if (!kill.worker) assert.equal(closed, 0, `killing ${kill.what} closed ${closed} viewers`);
      const after = await counters(server);
      assertRose(before, after, `after killing ${kill.what}`);
      before = after;
    }
    await sleep(3000);

    for (const [kind, list] of Object.entries(reconnects)) {
      const sorted = [...list].sort((a, b) => a - b);
      const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
      t.diagnostic(`${list.length} reconnects to a ${kind} pipeline: p50 ${at(0.5)} ms, p90 ${at(0.9)} ms, slowest ${at(1)} ms`);
    }
    assert.equal(viewers.reduce((n, v) => n + v.reconnectMs.length, 0), reconnects.live.length + reconnects.restarted.length, 'every reconnect was seen after a kill');
    const slowestLive = Math.max(0, ...reconnects.live);
    assert.ok(slowestLive < 2000, `viewers of a stream still running came back within ${slowestLive} ms`);
    // The pipeline is back within 2 s of the kill; the viewer's own start (a keyframe, the head) comes on top.
    const slowestRestarted = Math.max(0, ...reconnects.restarted);
    assert.ok(slowestRestarted < 4000, `viewers of a stream whose worker died came back within ${slowestRestarted} ms`);
    // Each worker was killed once, so every viewer was closed once at most; what its
    // longest connection received (across the program kills) decodes.
    const killedAt = kills.map((k) => `${k.what} at ${k.at}`).join(', ');
    const overClosed = viewers.filter((v) => v.closes.length > 2).map((v) => `${v.stream} closed at ${v.closes.join(', ')}`);
    assert.deepEqual(overClosed, [], `no viewer was closed more than once per worker kill (kills: ${killedAt})`);
    const kept = viewers.filter((v) => v.bodies.length > 0 && v.stream !== 'webm');
    for (const v of kept.slice(0, 4)) {
      const longest = v.bodies.map((b) => Buffer.concat(b)).sort((a, b) => b.length - a.length)[0] ?? Buffer.alloc(0);
      assert.ok(longest.length > 100_000, `${v.stream}: a connection that lasted (${longest.length} bytes)`);
      const file = save(join(dir, `${v.stream}-${viewers.indexOf(v)}.ts`), longest);
      const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', file]);
      assert.match(stdout, /mpeg1video/, `${v.stream}: what a kept viewer got decodes`);
    }
  } finally {
    for (const v of viewers) v.stop();
    const pids = processTree([server.process.pid ?? -1]);
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
    await waitFor(() => pids.every((pid) => !isProcessAlive(pid)) || undefined, 10000, 200, 'every server process gone');
  }
});
