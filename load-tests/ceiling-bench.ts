/**
 * The default `npm run bench`: voyandz (1 and 2 worker threads, 2 worker
 * processes) next to the C
 * ceiling (fanout_ref), same source, same load client, same run, so every
 * figure is also a ratio measured minutes apart at most. Each fan-out run:
 *
 *   0 ──ramp── R ──settle── R+S ══steady window W══ R+S+W ── end
 *
 * "ramp" = the connect storm: CPU from the first connect to 1 s after the
 * last (the primary's share of it, less its idle rate, per connection; with
 * worker threads the primary is the process's main thread);
 * "steady" = CPU over the window ÷ bytes the kernel had acknowledged on the
 * server's port over the same window (ss). CPU is
 * user + system of every server process from /proc (primary and workers;
 * the source programs, ffmpeg and latency-feed, are left out — fanout_ref's
 * source runs outside it too).
 */
import { readFileSync } from 'node:fs';
import { latencyStreamYaml } from './latency-probe.js';
import { runLoad } from './load-client.js';
import { loopArgs, makeMedia, type Media } from './media.js';
import { openNetClient, type ClientCounters } from './net-client.js';
import { bytesAckedOnPort, cmdline, cpuBetween, cpuSnapshot, processTree, pssOf, rssOf, treeRss, type CpuSnapshot } from './proc.js';
import { profileRow, type ProfileRow } from './profile-run.js';
import { startCeiling, type Instruments } from './reference.js';
import { runSlowReaderProbe } from './slow-reader-probe.js';
import { LATENCY_FEED, startVoyandz, type ServerUnderTest } from './servers.js';
import { runStreamload } from './streamload-run.js';
import { summarize } from './stats.js';

/**
 * voyandz as it ships: `worker_mode: thread` (workers are threads of the one server process);
 * `-process`: with `worker_mode: process` (a process per worker);
 * `-spread`: with `spill_load: 0` (a stream's clients over both workers from the first, instead of on the worker running it until its loop is half busy, placement.ts);
 * `-js`: the same server with VOYANDZ_NATIVE_WRITER=0, to show what the native fan-out writer buys in the same run;
 * `-send`: with VOYANDZ_NATIVE_WRITER=send, the native writer without io_uring.
 */
export type Contender =
  | 'ceiling'
  | 'voyandz-1'
  | 'voyandz-2'
  | 'voyandz-2-spread'
  | 'voyandz-1-process'
  | 'voyandz-2-process'
  | 'voyandz-1-js'
  | 'voyandz-2-js'
  | 'voyandz-1-send';
const SOURCES = /ffmpeg|latency-feed/;
const LAT_RATE = 50;
const LAT_BITRATE = 2_000_000;

export interface CompareOptions {
  tools: Instruments;
  media: Media;
  dir: string;
  /** Client counts of the steady fan-out rows. */
  sizes: number[];
  /** Fan-out rows are repeated this many times (servers restarted), to show the spread. */
  repeat: number;
  rampSeconds: number;
  settleSeconds: number;
  windowSeconds: number;
  /** Clients of the connect-storm row, all opened within 1 s; 0: none. */
  stormClients: number;
  latencyClients: number[];
  /** Many-streams scenario: streams × clients per stream; 0 streams: none. */
  manyStreams: number;
  clientsPerStream: number;
  /** The scenarios to run (all by default; `--only` narrows them to iterate on one). */
  parts: ReadonlySet<BenchPart>;
  /** Servers of the fan-out rows, in this order. */
  contenders: readonly Contender[];
  log: (text: string) => void;
}

export type BenchPart = 'idle' | 'fanout' | 'storm' | 'latency' | 'many' | 'slow' | 'profile';
export const BENCH_PARTS: readonly BenchPart[] = ['idle', 'fanout', 'storm', 'latency', 'many', 'slow', 'profile'];
export const CONTENDERS: readonly Contender[] = ['ceiling', 'voyandz-1', 'voyandz-2', 'voyandz-2-spread', 'voyandz-1-process', 'voyandz-2-process', 'voyandz-1-js', 'voyandz-2-js', 'voyandz-1-send'];
/** What `npm run bench` runs unless told otherwise. */
export const DEFAULT_CONTENDERS: readonly Contender[] = ['ceiling', 'voyandz-1', 'voyandz-2', 'voyandz-2-spread', 'voyandz-2-process', 'voyandz-1-js'];

const modeOf = (kind: Exclude<Contender, 'ceiling'>): WorkerMode => (kind.endsWith('-process') ? 'process' : 'thread');

export interface FanoutRow {
  contender: Contender;
  clients: number;
  repeat: number;
  /** 'steady' rows: ramp over rampSeconds; 'storm': every client within 1 s. */
  kind: 'steady' | 'storm';
  held: number;
  lagging: number;
  laggingAfterFirstByte: number;
  failed: number;
  closedEarly: number;
  steadyGbps: number;
  steadyCpuPerGB: number;
  steadyCpuPercent: number;
  /** voyandz: the primary's share of steadyCpuPercent (the rest is the workers'); null for the ceiling. */
  steadyPrimaryCpuPercent: number | null;
  /** Whole server over the ramp (first connect → 1 s after the last). */
  rampCpuSeconds: number;
  /** voyandz: the primary's CPU over the ramp less its idle rate, per connection (ms). */
  primaryMsPerConnection: number | null;
  ttfbP50Ms: number;
  ttfbP99Ms: number;
  rssMB: number;
  clientCpuSeconds: number;
}

type WorkerMode = 'process' | 'thread';

interface IdleRow {
  workers: number;
  /** Absent in results written before thread mode: process. */
  mode?: WorkerMode;
  primaryCpuPercent: number;
  treeCpuPercent: number;
  rssMB: number;
  /** The same processes' PSS: the node binary's shared text counted once, not once per process. */
  pssMB: number;
  perProcessMB: { name: string; mb: number; pssMB: number }[];
}

export interface LatencyCompareRow {
  contender: Contender;
  clients: number;
  /** Runs of one N alternate between the servers (see latencyRows). */
  round: number;
  lagging: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  samples: number;
}

interface ManyStreamsRow {
  contender: Contender;
  streams: number;
  clientsPerStream: number;
  /** voyandz: from opening one client per stream until every stream delivered a byte (on-demand program starts); null: not all did in 60 s. */
  startAllMs: number | null;
  /** voyandz: streams whose keeper got no byte in 60 s, and the primary's count of hand-offs no worker acknowledged in time. */
  streamsNeverFlowing: number | null;
  handoffsLost: number | null;
  held: number;
  lagging: number | null;
  disconnectedEarly: number;
  refused: number;
  gbps: number;
  cpuPerGB: number;
  cpuPercent: number;
  /** Server CPU per stream (% of a core) and RSS per stream over the idle server. */
  cpuPercentPerStream: number;
  rssMB: number;
  rssPerStreamMB: number | null;
  statJsonMs: { p50: number; p99: number } | null;
  metricsMs: { p50: number; p99: number } | null;
}

/** One slow-reader probe run: the server's RSS with readers only, or with stalled clients among them. */
interface SlowReaderRow {
  stalled: number;
  readers: number;
  /** Stalled clients dropped for lag by the end. */
  dropped: number;
  readersLagging: number | null;
  rssMB: { before: number; peak: number; end: number };
}

export interface CompareResults {
  /** Worker processes. */
  idle: IdleRow | null;
  /** Worker threads (absent in results written before thread mode). */
  idleThread?: IdleRow | null;
  fanout: FanoutRow[];
  latency: LatencyCompareRow[];
  many: ManyStreamsRow[];
  slow: SlowReaderRow[];
  /** voyandz ×1 under --cpu-prof at the first fan-out size: native writer with io_uring, with send(), then the JS one. */
  profiles: ProfileRow[];
  loadavg: { before: number[]; after: number[] };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function loadavg(): number[] {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
}

function serverCpu(server: ServerUnderTest): CpuSnapshot {
  return cpuSnapshot([server.pid], SOURCES);
}

/**
 * The primary's CPU between two snapshots. With worker threads it is the
 * process's main thread (the primary's event loop) alone: the process is
 * the whole server.
 */
function primaryCpu(a: CpuSnapshot, b: CpuSnapshot, pid: number, mode: WorkerMode): number {
  const of = (s: CpuSnapshot): Map<number, [number, number]> => (mode === 'thread' ? s.mainThread : s.perPid);
  const x = of(a).get(pid) ?? [0, 0];
  const y = of(b).get(pid) ?? x;
  return y[0] + y[1] - x[0] - x[1];
}

function tsConfig(media: Media, name = 'ts'): string {
  return `  ${name}:\n    command: ${loopArgs(media, true, ['-f', 'mpegts', '-']).join(' ')}\n    mimetype: video/mp2t\n`;
}

async function start(kind: Contender, opts: CompareOptions, body: () => string, ceilingSource: () => string[], contentType = 'video/mp2t'): Promise<ServerUnderTest> {
  if (kind === 'ceiling') return startCeiling(opts.tools.fanoutRef, ceilingSource(), contentType);
  const writer = kind.endsWith('-js') ? '0' : kind.endsWith('-send') ? 'send' : null;
  const mode = `worker_mode: ${modeOf(kind)}\n${kind.endsWith('-spread') ? 'spill_load: 0\n' : ''}`;
  return startVoyandz({ dir: opts.dir, workers: kind.startsWith('voyandz-1') ? 1 : 2, readyPath: '/stat.json', body: mode + body(), ...(writer === null ? {} : { env: { VOYANDZ_NATIVE_WRITER: writer } }) });
}

const IDLE_SETTLE_MS = 40_000;

/** Primary CPU per second with no client, on a 2-worker server at rest; also its idle RSS. */
async function idleRow(opts: CompareOptions, mode: WorkerMode, seconds = 20): Promise<IdleRow> {
  const server = await start(mode === 'process' ? 'voyandz-2-process' : 'voyandz-2', opts, () => `streams:\n${tsConfig(opts.media)}`, () => []);
  try {
    // Start-up work is not idling: the config thread's 5 s linger and its exit, the forks, and V8's
    // memory reducer, whose GCs shrink each heap in the half minute after start (measured: the primary
    // spent 130 ms in the 10 s from 13 s on, 10-30 ms per 10 s from 40 s on).
    await sleep(IDLE_SETTLE_MS);
    const a = serverCpu(server);
    await sleep(seconds * 1000);
    const b = serverCpu(server);
    const tree = processTree([server.pid]).filter((pid) => pid === server.pid || !SOURCES.test(cmdline(pid)));
    return {
      workers: 2,
      mode,
      primaryCpuPercent: (primaryCpu(a, b, server.pid, mode) / seconds) * 100,
      treeCpuPercent: (cpuBetween(a, b).total / seconds) * 100,
      rssMB: treeRss([server.pid], SOURCES) / 1e6,
      pssMB: tree.reduce((sum, pid) => sum + pssOf(pid), 0) / 1e6,
      perProcessMB: tree.map((pid) => ({
        name: pid === server.pid ? (mode === 'thread' ? 'primary + 2 worker threads' : 'primary') : /stream-worker/.test(cmdline(pid)) ? 'worker' : cmdline(pid).slice(0, 40),
        mb: rssOf(pid) / 1e6,
        pssMB: pssOf(pid) / 1e6,
      })),
    };
  } finally {
    await server.stop();
  }
}

async function fanoutRun(server: ServerUnderTest, kind: Contender, n: number, storm: boolean, opts: CompareOptions, idlePrimaryPerSecond: (mode: WorkerMode) => number, repeat: number): Promise<FanoutRow> {
  const ramp = storm ? 1 : opts.rampSeconds;
  const w0 = ramp + opts.settleSeconds;
  const w1 = w0 + opts.windowSeconds;
  const snaps: { r0?: CpuSnapshot; r1?: CpuSnapshot; a?: CpuSnapshot; b?: CpuSnapshot; rss: number; bytesA: number; bytesB: number } = { rss: 0, bytesA: 0, bytesB: 0 };
  const rampEnd = ramp + 1;
  const report = await runStreamload(opts.tools.streamload, {
    url: kind === 'ceiling' ? server.url('/ts') : server.url('/stream/ts'),
    clients: n,
    rampMs: ramp * 1000,
    durationSeconds: w1 + 0.5,
    expectBps: opts.media.kbps * 1000,
    marks: [
      { at: 0, run: () => (snaps.r0 = serverCpu(server)) },
      { at: rampEnd, run: () => (snaps.r1 = serverCpu(server)) },
      // Bytes from the kernel's count on the server's port: streamload's own rate spans [ramp, end], which would also hold
      // late joiners' catch-up bursts (a voyandz joiner starts at the ring's latest keyframe) outside the CPU window.
      { at: w0, run: () => ((snaps.bytesA = bytesAckedOnPort(server.port)), (snaps.a = serverCpu(server))) },
      { at: w1, run: () => ((snaps.b = serverCpu(server)), (snaps.bytesB = bytesAckedOnPort(server.port)), (snaps.rss = treeRss([server.pid], SOURCES))) },
    ],
  });
  await sleep(1000); // the server closes this run's clients before the next
  const steadyCpu = snaps.a && snaps.b ? cpuBetween(snaps.a, snaps.b).total : Number.NaN;
  const windowBytes = snaps.bytesB - snaps.bytesA;
  const rampCpu = snaps.r0 && snaps.r1 ? cpuBetween(snaps.r0, snaps.r1).total : Number.NaN;
  const mode = kind === 'ceiling' ? null : modeOf(kind);
  const primaryRamp = mode !== null && snaps.r0 && snaps.r1 ? primaryCpu(snaps.r0, snaps.r1, server.pid, mode) : null;
  return {
    contender: kind,
    clients: n,
    repeat,
    kind: storm ? 'storm' : 'steady',
    held: Math.max(0, report.held),
    lagging: report.lagging,
    laggingAfterFirstByte: report.laggingAfterFirstByte,
    failed: report.failed,
    closedEarly: report.closedEarly,
    steadyGbps: (windowBytes * 8) / opts.windowSeconds / 1e9,
    steadyCpuPerGB: steadyCpu / (windowBytes / 1e9),
    steadyCpuPercent: (steadyCpu / opts.windowSeconds) * 100,
    steadyPrimaryCpuPercent: mode !== null && snaps.a && snaps.b ? (primaryCpu(snaps.a, snaps.b, server.pid, mode) / opts.windowSeconds) * 100 : null,
    rampCpuSeconds: rampCpu,
    primaryMsPerConnection: primaryRamp === null || mode === null ? null : (Math.max(0, primaryRamp - idlePrimaryPerSecond(mode) * rampEnd) / n) * 1000,
    ttfbP50Ms: report.ttfbP50Ms,
    ttfbP99Ms: report.ttfbP99Ms,
    rssMB: snaps.rss / 1e6,
    clientCpuSeconds: report.clientCpuSeconds,
  };
}

/** One server per contender, every size in turn; repeats restart it. */
async function fanoutRows(opts: CompareOptions, idlePrimaryPerSecond: (mode: WorkerMode) => number): Promise<FanoutRow[]> {
  const rows: FanoutRow[] = [];
  for (let r = 1; r <= opts.repeat; r++) {
    for (const kind of opts.contenders) {
      const runs: { n: number; storm: boolean }[] = opts.parts.has('fanout') ? opts.sizes.map((n) => ({ n, storm: false })) : [];
      // The storm is the primary's hand-off, the same whatever writes the stream: one voyandz server runs it.
      if (opts.parts.has('storm') && opts.stormClients > 0 && (kind === 'ceiling' || kind === 'voyandz-2')) runs.push({ n: opts.stormClients, storm: true });
      if (runs.length === 0) continue;
      const server = await start(kind, opts, () => `max_lag: 10\nstreams:\n${tsConfig(opts.media)}`, () => loopArgs(opts.media, true, ['-f', 'mpegts', '-']));
      // voyandz starts a stream's program on its first client: one keeper for the server's life, so no run pays that.
      const keeper = kind === 'ceiling' ? null : openNetClient(server.url('/stream/ts'), null);
      try {
        await sleep(2000);
        for (const { n, storm } of runs) {
          const row = await fanoutRun(server, kind, n, storm, opts, idlePrimaryPerSecond, r);
          opts.log(
            `${kind} ${storm ? 'storm' : 'steady'} N=${n}: held ${row.held} lagging ${row.lagging} (after 1st byte ${row.laggingAfterFirstByte}) failed ${row.failed} ` +
              `${row.steadyCpuPerGB.toFixed(3)} s/GB (${row.steadyCpuPercent.toFixed(0)} %${row.steadyPrimaryCpuPercent === null ? '' : `, primary ${row.steadyPrimaryCpuPercent.toFixed(1)} %`}) ${row.steadyGbps.toFixed(2)} Gbit/s ` +
              `ramp ${row.rampCpuSeconds.toFixed(2)} s${row.primaryMsPerConnection === null ? '' : ` primary ${row.primaryMsPerConnection.toFixed(3)} ms/conn`} ` +
              `ttfb p99 ${row.ttfbP99Ms.toFixed(0)} ms rss ${row.rssMB.toFixed(0)} MB`,
          );
          rows.push(row);
        }
      } finally {
        keeper?.close();
        await server.stop();
      }
    }
  }
  return rows;
}

/**
 * Rounds of the latency rows: each N is measured this many times on each server, alternating. At N=100 a
 * round's p99 is about its 4th-worst batch of 300, so one stall anywhere (a GC of the Node feed or load
 * client, the scheduler) moves it: single rounds ranged 1.04-2.37x of the ceiling's in one run. Five
 * rounds give the median something to stand on.
 */
const LATENCY_ROUNDS = 5;

/**
 * Added latency of a time-stamped 2 Mbit/s record stream: latency-feed |
 * fanout_ref vs latency-feed as a voyandz stream. Both servers run side by
 * side (each idle while the other is measured) and the runs alternate,
 * ceiling then voyandz, round after round: whatever else loads the machine
 * then weighs on both alike, where one block each would catch the machine
 * in two different moods.
 */
async function latencyRows(opts: CompareOptions): Promise<LatencyCompareRow[]> {
  const rows: LatencyCompareRow[] = [];
  const servers: { kind: 'ceiling' | 'voyandz-1'; server: ServerUnderTest; url: string }[] = [];
  let keeper: ReturnType<typeof openNetClient> | null = null;
  try {
    for (const kind of ['ceiling', 'voyandz-1'] as const) {
      const server = await start(
        kind,
        opts,
        () => latencyStreamYaml(LAT_RATE, LAT_BITRATE),
        () => [process.execPath, LATENCY_FEED, '--rate', String(LAT_RATE), '--bitrate', String(LAT_BITRATE)],
        'application/octet-stream',
      );
      servers.push({ kind, server, url: kind === 'ceiling' ? server.url('/lat') : server.url('/stream/lat') });
    }
    // voyandz starts the stream's program on its first client: a keeper holds it, as the ceiling's source always runs.
    keeper = openNetClient(servers[1].url, null);
    await sleep(1500);
    for (const n of opts.latencyClients) {
      for (let round = 1; round <= LATENCY_ROUNDS; round++) {
        for (const { kind, url } of servers) {
          const r = await runLoad({ urls: [url], clients: n, rampSeconds: Math.min(2, n / 500), settleSeconds: 2, durationSeconds: 6, expectKbps: LAT_BITRATE / 1000, tolerance: 0.1, latency: true, engine: 'net' });
          const row = { contender: kind, clients: n, round, lagging: r.lagging, p50Ms: r.latencyMs?.p50 ?? null, p99Ms: r.latencyMs?.p99 ?? null, samples: r.latencyMs?.count ?? 0 };
          opts.log(`latency ${kind} N=${n} round ${round}: p50 ${row.p50Ms} ms p99 ${row.p99Ms} ms lagging ${row.lagging}`);
          rows.push(row);
          await sleep(1000);
        }
      }
    }
  } finally {
    keeper?.close();
    await Promise.all(servers.map(({ server }) => server.stop()));
  }
  return rows;
}

/** Response times (ms) of `count` sequential GETs of a page, while the load runs. */
async function pageTimes(url: string, count: number): Promise<{ p50: number; p99: number } | null> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      await res.arrayBuffer();
      if (res.ok) times.push(performance.now() - t0);
    } catch {
      // counted as missing
    }
    await sleep(100);
  }
  if (times.length === 0) return null;
  const s = summarize(times);
  return { p50: s.p50, p99: s.p99 };
}

/** voyandz_handoffs_lost_total from /metrics; null when it cannot be read. */
async function handoffsLost(url: string): Promise<number | null> {
  try {
    const text = await (await fetch(url, { signal: AbortSignal.timeout(5000) })).text();
    const m = /^voyandz_handoffs_lost_total(?:\{[^}]*\})? (\d+)/m.exec(text);
    return m ? Number(m[1]) : 0;
  } catch {
    return null;
  }
}

/** Many shared streams, each a looping file with -c copy, a few clients each: voyandz ×2 vs one fanout_ref per stream. */
async function manyStreamsRows(opts: CompareOptions, idleRssMB: number | null): Promise<ManyStreamsRow[]> {
  const rows: ManyStreamsRow[] = [];
  const streams = opts.manyStreams;
  // 500 kbit/s: ffmpeg writes 32 KiB blocks, ~2 a second; a window of ≥ 10 s keeps "lagging" clear of that granularity.
  const media = makeMedia(opts.dir, 10, 500, 'many');
  const windowSeconds = Math.max(10, opts.windowSeconds);
  const clients = streams * opts.clientsPerStream;
  for (const kind of ['ceiling', 'voyandz-2'] as const) {
    opts.log(`many streams: ${kind}, ${streams} streams × ${opts.clientsPerStream} clients (${media.kbps} kbit/s each)`);
    let servers: ServerUnderTest[] = [];
    let keepers: ClientCounters[] = [];
    try {
      if (kind === 'ceiling') {
        for (let i = 0; i < streams; i++) servers.push(await startCeiling(opts.tools.fanoutRef, loopArgs(media, true, ['-f', 'mpegts', '-']), 'video/mp2t'));
      } else {
        let body = 'max_lag: 10\npages:\n  stat: true\nstreams:\n';
        for (let i = 0; i < streams; i++) body += tsConfig(media, `s${i}`);
        servers = [await startVoyandz({ dir: opts.dir, workers: 2, readyPath: '/stat.json', body })];
      }
      const urls = kind === 'ceiling' ? servers.map((s) => s.url('/ts')) : Array.from({ length: streams }, (_, i) => servers[0].url(`/stream/s${i}`));
      // voyandz starts a stream's program on its first client: a keeper per stream first, and the load once every stream flows,
      // as the ceiling's sources run before it is loaded. How long that took is reported.
      const t0 = performance.now();
      keepers = kind === 'ceiling' ? [] : urls.map((url) => openNetClient(url, null));
      for (let i = 0; i < 600 && keepers.some((k) => k.bytes === 0); i++) await sleep(100);
      const startAllMs = keepers.length > 0 && keepers.every((k) => k.bytes > 0) ? performance.now() - t0 : null;
      const streamsNeverFlowing = kind === 'ceiling' ? null : keepers.filter((k) => k.bytes === 0).length;
      const roots = servers.map((s) => s.pid);
      const snap: { a?: CpuSnapshot; b?: CpuSnapshot; rss: number } = { rss: 0 };
      let pages: Promise<[{ p50: number; p99: number } | null, { p50: number; p99: number } | null]> = Promise.resolve([null, null]);
      const r = await runLoad({
        urls,
        clients,
        rampSeconds: 3,
        settleSeconds: 3,
        durationSeconds: windowSeconds,
        expectKbps: media.kbps,
        tolerance: 0.1,
        latency: false,
        engine: 'net',
        onWindowStart: () => {
          snap.a = cpuSnapshot(roots, SOURCES);
          for (const k of keepers) k.markStart();
          if (kind !== 'ceiling') pages = (async () => [await pageTimes(servers[0].url('/stat.json'), 20), await pageTimes(servers[0].url('/metrics'), 20)] as const)().then((x) => [x[0], x[1]]);
        },
        onWindowEnd: () => {
          snap.b = cpuSnapshot(roots, SOURCES);
          for (const k of keepers) k.markEnd();
          snap.rss = treeRss(roots, SOURCES);
        },
      });
      const [stat, metrics] = await pages;
      const cpu = snap.a && snap.b ? cpuBetween(snap.a, snap.b).total : Number.NaN;
      const gb = (r.windowBytes + keepers.reduce((sum, k) => sum + k.windowBytes(), 0)) / 1e9;
      const row: ManyStreamsRow = {
        startAllMs,
        streamsNeverFlowing,
        handoffsLost: kind === 'ceiling' ? null : await handoffsLost(servers[0].url('/metrics')),
        disconnectedEarly: r.disconnectedEarly,
        refused: r.refusedTotal,
        contender: kind,
        streams,
        clientsPerStream: opts.clientsPerStream,
        held: r.held,
        lagging: r.lagging,
        gbps: (r.windowBytes * 8) / r.windowSeconds / 1e9,
        cpuPerGB: cpu / gb,
        cpuPercent: (cpu / r.windowSeconds) * 100,
        cpuPercentPerStream: (cpu / r.windowSeconds / streams) * 100,
        rssMB: snap.rss / 1e6,
        rssPerStreamMB: kind === 'ceiling' ? snap.rss / 1e6 / streams : idleRssMB === null ? null : (snap.rss / 1e6 - idleRssMB) / streams,
        statJsonMs: stat,
        metricsMs: metrics,
      };
      opts.log(
        `many ${kind}: held ${row.held}/${clients} lagging ${row.lagging} ${row.cpuPerGB.toFixed(3)} s/GB ${row.cpuPercent.toFixed(0)} % ` +
          `rss ${row.rssMB.toFixed(0)} MB stat.json p99 ${stat?.p99.toFixed(1) ?? '-'} ms metrics p99 ${metrics?.p99.toFixed(1) ?? '-'} ms`,
      );
      rows.push(row);
    } finally {
      for (const k of keepers) k.close();
      await Promise.all(servers.map((s) => s.stop()));
    }
  }
  return rows;
}

/**
 * "Flat under slow readers": the same number of clients twice on a fresh
 * 1-worker server, all reading, then half of them stalled (they stop reading
 * after the first byte). A stalled client pins no memory of its own in
 * voyandz (the ring is shared and it is dropped after max_lag), so the peak
 * RSS of both runs should match.
 */
async function slowReaderRows(opts: CompareOptions): Promise<SlowReaderRow[]> {
  const rows: SlowReaderRow[] = [];
  const clients = 1000;
  for (const stalled of [0, clients / 2]) {
    opts.log(`slow readers: voyandz ×1, ${stalled} stalled + ${clients - stalled} readers, max_lag 3 s`);
    const r = await runSlowReaderProbe({ stalled, readers: clients - stalled, maxLagSeconds: 3, durationSeconds: 30, workers: 1, bitrate: 2_000_000 });
    rows.push({ stalled, readers: r.readers, dropped: r.dropped, readersLagging: r.readersReport.lagging, rssMB: r.rssMB });
    opts.log(`slow readers: dropped ${r.dropped}/${stalled}, readers lagging ${r.readersReport.lagging}, RSS before ${r.rssMB.before} peak ${r.rssMB.peak} end ${r.rssMB.end} MB`);
  }
  return rows;
}

export async function runCompare(opts: CompareOptions): Promise<CompareResults> {
  const before = loadavg();
  let idle: IdleRow | null = null;
  let idleThread: IdleRow | null = null;
  if (opts.parts.has('idle')) {
    const measure = async (mode: WorkerMode): Promise<IdleRow> => {
      opts.log(`idle: voyandz ×2 (worker ${mode === 'thread' ? 'threads' : 'processes'}), no client`);
      const row = await idleRow(opts, mode);
      opts.log(`idle (${mode}): primary ${row.primaryCpuPercent.toFixed(2)} % of a core, whole server ${row.treeCpuPercent.toFixed(2)} %, RSS ${row.rssMB.toFixed(0)} MB, PSS ${row.pssMB.toFixed(0)} MB`);
      return row;
    };
    idle = await measure('process');
    idleThread = await measure('thread');
  }
  const fanout = await fanoutRows(opts, (mode) => ((mode === 'thread' ? idleThread : idle)?.primaryCpuPercent ?? 0) / 100);
  const latency = opts.parts.has('latency') && opts.latencyClients.length > 0 ? await latencyRows(opts) : [];
  const many = opts.parts.has('many') && opts.manyStreams > 0 ? await manyStreamsRows(opts, idle?.rssMB ?? null) : [];
  const slow = opts.parts.has('slow') ? await slowReaderRows(opts) : [];
  const profiles: ProfileRow[] = [];
  if (opts.parts.has('profile')) {
    for (const writer of ['io_uring', 'send', 'js'] as const) {
      opts.log(`profile: voyandz ×1, ${writer} writer, N=${opts.sizes[0]} under --cpu-prof`);
      const row = await profileRow(opts.tools, opts.media, opts.dir, opts.sizes[0], opts, writer);
      if (row === null) opts.log('profile: no worker profile written');
      else profiles.push(row);
    }
  }
  return { idle, idleThread, fanout, latency, many, slow, profiles, loadavg: { before, after: loadavg() } };
}
