/**
 * `npm run bench -- --relay`: an origin and two edges on this machine, the
 * edges pulling the origin's streams (relay-bench, README "Scaling out"):
 *
 * - fan-out through the edges: N clients (default 2000, half on each edge,
 *   the C load client) of the origin's 2 Mbit/s MPEG-TS: held and lagging,
 *   CPU per GB of each edge (its primary and worker, from /proc, over
 *   bytes the kernel acknowledged on its port), the origin's CPU serving
 *   the two pulls, and viewers per edge core at that bitrate; next to the C
 *   ceiling (fanout_ref) with one edge's share of the clients, same run;
 * - added latency through one relay hop: latency-feed's time-stamped
 *   records on the origin, read by clients on the origin and on an edge.
 *
 * Writes its section of load-tests/RESULTS.md (the rest of the file is the
 * default bench's) and load-tests/RESULTS-relay.json.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { latencyStreamYaml } from './latency-probe.js';
import type { LoadReport } from './load-client.js';
import { loopArgs, makeMedia, type Media } from './media.js';
import { openNetClient } from './net-client.js';
import { bytesAckedOnPort, cpuBetween, cpuSnapshot, treeRss, type CpuSnapshot } from './proc.js';
import { startCeiling, type Instruments } from './reference.js';
import { startVoyandz, type ServerUnderTest } from './servers.js';
import { runStreamload, type StreamloadReport } from './streamload-run.js';

const SOURCES = /ffmpeg|latency-feed/;
const LAT_RATE = 50;
const LAT_BITRATE = 2_000_000;
const RAMP_S = 2;
const SETTLE_S = 3;
const LOAD_CLIENT = fileURLToPath(new URL('./load-client.js', import.meta.url));
/** Latency rounds: edge and origin read at the same time, each by its own load client process. */
const LATENCY_ROUNDS = 3;

export interface RelayBenchOptions {
  tools: Instruments;
  dir: string;
  /** Clients through the edges, split evenly. */
  clients: number;
  windowSeconds: number;
  repeat: number;
  latencyClients: number;
  log: (text: string) => void;
}

interface EdgeRow {
  edge: string;
  clients: number;
  held: number;
  lagging: number;
  laggingAfterFirstByte: number;
  failed: number;
  gbps: number;
  cpuPercent: number;
  cpuPerGB: number;
  /** At this bitrate, clients one core of this edge carries (clients ÷ cores used). */
  viewersPerCore: number;
  ttfbP99Ms: number;
  rssMB: number;
}

interface RelayRun {
  repeat: number;
  edges: EdgeRow[];
  /** The origin over the same window: its programs left out, the two pulls and a keeper served. */
  originCpuPercent: number;
  ceiling: { clients: number; cpuPerGB: number; cpuPercent: number; held: number; lagging: number } | null;
}

export interface RelayResults {
  date: string;
  minutes: number;
  mediaKbps: number;
  clients: number;
  windowSeconds: number;
  runs: RelayRun[];
  latency: { round: number; where: 'origin' | 'edge'; clients: number; p50Ms: number | null; p99Ms: number | null; samples: number; lagging: number | null }[];
  loadavg: { before: number[]; after: number[] };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function loadavg(): number[] {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
}

function originBody(media: Media): string {
  return `${latencyStreamYaml(LAT_RATE, LAT_BITRATE)}  ts:\n    command: ${loopArgs(media, true, ['-f', 'mpegts', '-']).join(' ')}\n    mimetype: video/mp2t\n`;
}

/** An edge: one worker (so "per core" reads off it), both streams pulled, kept pulling a while between runs. */
function edgeBody(origin: ServerUnderTest): string {
  return `max_lag: 10\nstreams:\n  ts: { pull: "${origin.url('/stream/ts')}", mode: 30 }\n  lat: { pull: "${origin.url('/stream/lat')}", mode: 30 }\n`;
}

/** One steady run: half the clients on each edge at once; CPU and acknowledged bytes sampled over the same window. */
async function fanout(edges: ServerUnderTest[], origin: ServerUnderTest, opts: RelayBenchOptions, media: Media, repeat: number): Promise<RelayRun> {
  const per = Math.round(opts.clients / edges.length);
  const w0 = RAMP_S + SETTLE_S;
  const w1 = w0 + opts.windowSeconds;
  interface Snap {
    a?: CpuSnapshot;
    b?: CpuSnapshot;
    bytesA: number;
    bytesB: number;
    rss: number;
  }
  const snaps: Snap[] = edges.map(() => ({ bytesA: 0, bytesB: 0, rss: 0 }));
  const origins: { a?: CpuSnapshot; b?: CpuSnapshot } = {};
  const reports: StreamloadReport[] = await Promise.all(
    edges.map((edge, i) => {
      const s = snaps[i];
      return runStreamload(opts.tools.streamload, {
        url: edge.url('/stream/ts'),
        clients: per,
        rampMs: RAMP_S * 1000,
        durationSeconds: w1 + 0.5,
        expectBps: media.kbps * 1000,
        marks: [
          {
            at: w0,
            run: () => {
              s.bytesA = bytesAckedOnPort(edge.port);
              s.a = cpuSnapshot([edge.pid], SOURCES);
              if (i === 0) origins.a = cpuSnapshot([origin.pid], SOURCES);
            },
          },
          {
            at: w1,
            run: () => {
              s.b = cpuSnapshot([edge.pid], SOURCES);
              s.bytesB = bytesAckedOnPort(edge.port);
              s.rss = treeRss([edge.pid], SOURCES);
              if (i === 0) origins.b = cpuSnapshot([origin.pid], SOURCES);
            },
          },
        ],
      });
    }),
  );
  await sleep(1500);
  const rows = reports.map((r, i): EdgeRow => {
    const s = snaps[i];
    const cpu = s.a && s.b ? cpuBetween(s.a, s.b).total : Number.NaN;
    const bytes = s.bytesB - s.bytesA;
    const cores = cpu / opts.windowSeconds;
    return {
      edge: `edge ${i + 1}`,
      clients: per,
      held: Math.max(0, r.held),
      lagging: r.lagging,
      laggingAfterFirstByte: r.laggingAfterFirstByte,
      failed: r.failed,
      gbps: (bytes * 8) / opts.windowSeconds / 1e9,
      cpuPercent: cores * 100,
      cpuPerGB: cpu / (bytes / 1e9),
      viewersPerCore: cores > 0 ? per / cores : Number.NaN,
      ttfbP99Ms: r.ttfbP99Ms,
      rssMB: s.rss / 1e6,
    };
  });
  const originCpu = origins.a && origins.b ? cpuBetween(origins.a, origins.b).total : Number.NaN;
  return { repeat, edges: rows, originCpuPercent: (originCpu / opts.windowSeconds) * 100, ceiling: null };
}

/** The C ceiling with one edge's share of the clients, same media, for the ratio. */
async function ceilingRun(opts: RelayBenchOptions, media: Media, clients: number): Promise<RelayRun['ceiling']> {
  const server = await startCeiling(opts.tools.fanoutRef, loopArgs(media, true, ['-f', 'mpegts', '-']), 'video/mp2t');
  try {
    await sleep(1500);
    const w0 = RAMP_S + SETTLE_S;
    const w1 = w0 + opts.windowSeconds;
    const snap: { a?: CpuSnapshot; b?: CpuSnapshot; bytesA: number; bytesB: number } = { bytesA: 0, bytesB: 0 };
    const r = await runStreamload(opts.tools.streamload, {
      url: server.url('/ts'),
      clients,
      rampMs: RAMP_S * 1000,
      durationSeconds: w1 + 0.5,
      expectBps: media.kbps * 1000,
      marks: [
        { at: w0, run: () => ((snap.bytesA = bytesAckedOnPort(server.port)), (snap.a = cpuSnapshot([server.pid], SOURCES))) },
        { at: w1, run: () => ((snap.b = cpuSnapshot([server.pid], SOURCES)), (snap.bytesB = bytesAckedOnPort(server.port))) },
      ],
    });
    const cpu = snap.a && snap.b ? cpuBetween(snap.a, snap.b).total : Number.NaN;
    return { clients, cpuPerGB: cpu / ((snap.bytesB - snap.bytesA) / 1e9), cpuPercent: (cpu / opts.windowSeconds) * 100, held: Math.max(0, r.held), lagging: r.lagging };
  } finally {
    await server.stop();
  }
}

/** A Node load client in a process of its own (its event loop is part of what it measures), reading records for 8 s. */
function latencyClient(url: string, clients: number): Promise<LoadReport | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [LOAD_CLIENT, '--url', url, '-n', String(clients), '--ramp', '1', '--settle', '2', '--duration', '8', '--expect-kbps', String(LAT_BITRATE / 1000), '--latency', '--json'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (out += t));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(out) as LoadReport);
      } catch {
        resolve(null);
      }
    });
  });
}

/** Rounds of the edge and the origin read at the same time, so both see the same machine. */
async function latencyRows(edge: ServerUnderTest, origin: ServerUnderTest, clients: number, log: (text: string) => void): Promise<RelayResults['latency']> {
  const rows: RelayResults['latency'] = [];
  for (let round = 1; round <= LATENCY_ROUNDS; round++) {
    const [viaEdge, direct] = await Promise.all([latencyClient(edge.url('/stream/lat'), clients), latencyClient(origin.url('/stream/lat'), clients)]);
    for (const [where, r] of [['edge', viaEdge], ['origin', direct]] as const) {
      const row = { round, where, clients, p50Ms: r?.latencyMs?.p50 ?? null, p99Ms: r?.latencyMs?.p99 ?? null, samples: r?.latencyMs?.count ?? 0, lagging: r?.lagging ?? null };
      log(`latency round ${round} ${where} N=${clients}: p50 ${row.p50Ms} ms p99 ${row.p99Ms} ms lagging ${row.lagging}`);
      rows.push(row);
    }
    await sleep(1000);
  }
  return rows;
}

export async function runRelayBench(opts: RelayBenchOptions): Promise<RelayResults> {
  const started = Date.now();
  const before = loadavg();
  opts.log('making the test media');
  const media = makeMedia(opts.dir);
  const origin = await startVoyandz({ dir: opts.dir, workers: 1, readyPath: '/readyz', body: originBody(media) });
  const edges: ServerUnderTest[] = [];
  const keepers: ReturnType<typeof openNetClient>[] = [];
  try {
    for (let i = 0; i < 2; i++) edges.push(await startVoyandz({ dir: opts.dir, workers: 1, readyPath: '/readyz', body: edgeBody(origin) }));
    // Each edge pulls before the load comes (as an edge with viewers already does); the runs measure fan-out, not a pull's start.
    for (const edge of edges) keepers.push(openNetClient(edge.url('/stream/ts'), null));
    await sleep(3000);
    const runs: RelayRun[] = [];
    for (let r = 1; r <= opts.repeat; r++) {
      const run = await fanout(edges, origin, opts, media, r);
      for (const e of run.edges) {
        opts.log(
          `relay run ${r} ${e.edge}: N=${e.clients} held ${e.held} lagging ${e.lagging} (after 1st byte ${e.laggingAfterFirstByte}) failed ${e.failed} ` +
            `${e.cpuPerGB.toFixed(3)} s/GB ${e.cpuPercent.toFixed(0)} % ${e.gbps.toFixed(2)} Gbit/s ${e.viewersPerCore.toFixed(0)} viewers/core`,
        );
      }
      opts.log(`relay run ${r} origin: ${run.originCpuPercent.toFixed(1)} % of a core`);
      runs.push(run);
    }
    opts.log('latency: through an edge and direct from the origin, at the same time');
    // The lat stream runs (on the origin, and pulled by the edge) before it is measured.
    const latKeepers = [openNetClient(origin.url('/stream/lat'), null), openNetClient(edges[0]?.url('/stream/lat') ?? '', null)];
    keepers.push(...latKeepers);
    await sleep(2000);
    const latency = await latencyRows(edges[0], origin, opts.latencyClients, opts.log);
    for (const k of keepers) k.close();
    await Promise.all(edges.map((e) => e.stop()));
    edges.length = 0;
    await origin.stop();
    for (const run of runs) {
      opts.log(`ceiling, ${Math.round(opts.clients / 2)} clients (one edge's share)`);
      run.ceiling = await ceilingRun(opts, media, Math.round(opts.clients / 2));
      opts.log(`ceiling: ${run.ceiling?.cpuPerGB.toFixed(3)} s/GB held ${run.ceiling?.held}`);
    }
    return { date: new Date().toISOString(), minutes: (Date.now() - started) / 60000, mediaKbps: media.kbps, clients: opts.clients, windowSeconds: opts.windowSeconds, runs, latency, loadavg: { before, after: loadavg() } };
  } finally {
    for (const k of keepers) k.close();
    await Promise.all(edges.map((e) => e.stop()));
    await origin.stop();
  }
}
