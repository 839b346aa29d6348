/**
 * `npm run bench`: voyandz next to the C ceiling in the same run
 * (ceiling-bench.ts; a few minutes; heavier sizes with --heavy or --sizes)
 * → load-tests/RESULTS.md. `--full`: the older, longer matrix — fan-out
 * cost, capacity, latency and memory of voyandz (1 worker, and one worker
 * per core) side by side with Icecast 2, on one ~2 Mbit/s MPEG-TS stream,
 * live (-re) and max-rate → load-tests/RESULTS-full.md. Numbers are for
 * reading, never for gating CI.
 *
 *   npm run bench -- [--heavy] [--sizes 1000,4000] [--repeat 1] [--window 8] [--storm-clients 2000]
 *                    [--streams 100] [--clients-per-stream 20] [--latency-clients 100,1000] [--out FILE]
 *                    [--only idle,fanout,storm,latency,many] [--contenders ceiling,voyandz-1,voyandz-2]
 *   npm run bench -- --full [--quick] [--clients 100,500,1000,2000] [--maxrate-clients 100,1000]
 *                    [--runs 3] [--duration 10] [--servers voyandz-1,voyandz-cores,icecast]
 *                    [--no-probes] [--no-profile] [--out load-tests/RESULTS.md]
 *   npm run bench -- --relay [--relay-clients 2000] [--repeat 1] [--window 10] [--latency-clients 100]
 *                    (origin + 2 edges: relay-bench.ts → its section of RESULTS.md)
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeMachine, renderAccessRows, renderResults, type AccessRow, type BenchResults, type Row, type RunResult, type ServerKind, type SourceKind } from './bench-report.js';
import bcrypt from 'bcryptjs';
import { summarizeProfile, type ProfileSummary } from './cpu-profile.js';
import { latencyStreamYaml } from './latency-probe.js';
import { runLoad, type Engine, type LoadReport } from './load-client.js';
import { openNetClient, type ClientCounters } from './net-client.js';
import { loopArgs, makeMedia, type Media } from './media.js';
import { cmdline, cpuBetween, cpuSnapshot, processTree, treeRss, type CpuSnapshot } from './proc.js';
import { runSlowReaderProbe } from './slow-reader-probe.js';
import { icecastBinary, ICECAST_SETTINGS, LATENCY_FEED, startIcecast, startVoyandz, type ServerUnderTest } from './servers.js';
import { median } from './stats.js';
import { BENCH_PARTS, CONTENDERS, DEFAULT_CONTENDERS, runCompare, type BenchPart, type CompareResults, type Contender } from './ceiling-bench.js';
import { renderCompare, type CompareReport } from './ceiling-report.js';
import { buildInstruments } from './reference.js';
import { runRelayBench } from './relay-bench.js';
import { relaySectionOf, renderRelaySection, withRelaySection } from './relay-report.js';
import { fanoutWriter } from '../src/fanout/native-writer.js';

const LOAD_CLIENT = fileURLToPath(new URL('./load-client.js', import.meta.url));
/** Source programs run inside voyandz's tree; Icecast's run outside its own, so both are left out of "server" CPU/RSS. */
const SOURCES = /ffmpeg|latency-feed/;
/** Latency side-probe: a few clients on a low-rate record stream served next to the loaded one. */
const PROBE_CLIENTS = 5;
const PROBE_RATE = 50;
const PROBE_BITRATE = 2_000_000;
/** fds the bench process needs besides its clients (probe, pipes, files). */
const FD_HEADROOM = 200;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface BenchOptions {
  clients: number[];
  maxrateClients: number[];
  runs: number;
  duration: number;
  settle: number;
  servers: ServerKind[];
  probes: boolean;
  profile: boolean;
  profileClients: number;
  /** Measure only memory per client, adding it to the RESULTS.json of an earlier run. */
  memoryOnly: boolean;
  out: string;
  quick: boolean;
  /** Clients of the access-control rows (with and without rules); 0: none. */
  accessClients: number;
  /** Run only the access-control rows and print them (no RESULTS files). */
  accessOnly: boolean;
  /** The older Icecast matrix instead of the ceiling comparison. */
  full: boolean;
  /** Origin + 2 edges (relay-bench.ts) instead; its clients. */
  relay: number | null;
  compare: {
    sizes: number[];
    repeat: number;
    windowSeconds: number;
    stormClients: number;
    latencyClients: number[];
    streams: number;
    clientsPerStream: number;
    parts: ReadonlySet<BenchPart>;
    contenders: Contender[];
  };
}

function list(text: string): number[] {
  return text.split(',').map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n > 0 && n <= 20000);
}

function options(): BenchOptions {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      clients: { type: 'string' },
      'maxrate-clients': { type: 'string' },
      runs: { type: 'string' },
      duration: { type: 'string' },
      settle: { type: 'string', default: '2' },
      servers: { type: 'string', default: 'voyandz-1,voyandz-cores,icecast' },
      'no-probes': { type: 'boolean', default: false },
      'no-profile': { type: 'boolean', default: false },
      'profile-clients': { type: 'string', default: '1000' },
      out: { type: 'string' },
      'from-json': { type: 'string' },
      'memory-only': { type: 'boolean', default: false },
      'access-clients': { type: 'string' },
      'access-only': { type: 'boolean', default: false },
      full: { type: 'boolean', default: false },
      heavy: { type: 'boolean', default: false },
      sizes: { type: 'string' },
      repeat: { type: 'string' },
      window: { type: 'string' },
      'storm-clients': { type: 'string' },
      'latency-clients': { type: 'string' },
      streams: { type: 'string' },
      'clients-per-stream': { type: 'string' },
      relay: { type: 'boolean', default: false },
      'relay-clients': { type: 'string' },
      only: { type: 'string' },
      contenders: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values['from-json']) {
    // Re-render a previous run (e.g. after changing the report) without running anything.
    const results = JSON.parse(readFileSync(values['from-json'], 'utf8')) as BenchResults;
    const out = values.out ?? fileURLToPath(new URL('../../load-tests/RESULTS-full.md', import.meta.url));
    writeFileSync(out, renderResults(results));
    process.stderr.write(`bench: rendered ${values['from-json']} → ${out}\n`);
    process.exit(0);
  }
  if (values.help) {
    process.stdout.write(
      'usage: bench [--heavy] [--sizes 1000,4000] [--repeat 1] [--window 8] [--storm-clients 2000] [--latency-clients 100,1000]\n' +
        '             [--streams 100] [--clients-per-stream 20] [--out FILE]   (default: voyandz vs the C ceiling, same run)\n' +
        `             [--only ${BENCH_PARTS.join(',')}] [--contenders ${CONTENDERS.join(',')}]   (a part of it, to iterate)\n` +
        '       bench --full [--from-json RESULTS-full.json] [--quick] [--clients 100,500,1000,2000] [--maxrate-clients 100,1000] [--runs 3] [--duration 10]\n' +
        '             [--settle 2] [--servers voyandz-1,voyandz-cores,icecast] [--no-probes] [--no-profile] [--profile-clients 1000] [--out FILE]\n' +
        '             [--memory-only]  (memory per client on fresh servers, added to the RESULTS.json of an earlier run)\n' +
        '             [--access-clients 1000] [--access-only]  (Basic auth + allow-list vs no rules; 0: skip)\n' +
        '       bench --relay [--relay-clients 2000] [--repeat 1] [--window 10] [--latency-clients 100]  (origin + 2 edges → its section of RESULTS.md)\n',
    );
    process.exit(0);
  }
  const quick = values.quick;
  const servers = values.servers.split(',').map((s) => s.trim());
  for (const s of servers) {
    if (s !== 'voyandz-1' && s !== 'voyandz-cores' && s !== 'icecast') throw new Error(`--servers: unknown "${s}" (voyandz-1, voyandz-cores, icecast)`);
  }
  return {
    clients: list(values.clients ?? (quick ? '50,200' : '100,500,1000,2000')),
    maxrateClients: list(values['maxrate-clients'] ?? (quick ? '50' : '100,1000')),
    runs: Math.min(20, Math.max(1, Number(values.runs ?? (quick ? 1 : 3)))),
    duration: Math.min(120, Math.max(2, Number(values.duration ?? (quick ? 4 : 10)))),
    settle: Math.min(30, Math.max(0, Number(values.settle))),
    servers: servers as ServerKind[],
    probes: !values['no-probes'],
    profile: !values['no-profile'] && !quick,
    profileClients: list(values['profile-clients'])[0] ?? 1000,
    memoryOnly: values['memory-only'],
    out: values.out ?? fileURLToPath(new URL(values.full ? '../../load-tests/RESULTS-full.md' : '../../load-tests/RESULTS.md', import.meta.url)),
    quick,
    accessClients: Math.min(20000, Math.max(0, Number(values['access-clients'] ?? (quick ? 200 : 1000)) || 0)),
    accessOnly: values['access-only'],
    full: values.full || values['memory-only'] || values['access-only'],
    relay: values.relay ? Math.min(20000, Math.max(2, Number(values['relay-clients'] ?? 2000) || 2000)) : null,
    compare: {
      sizes: list(values.sizes ?? (values.heavy ? '1000,4000,6000' : '1000,4000')),
      repeat: Math.min(10, Math.max(1, Number(values.repeat ?? (values.heavy ? 2 : 1)) || 1)),
      windowSeconds: Math.min(120, Math.max(2, Number(values.window ?? (values.heavy ? 15 : 8)) || 8)),
      stormClients: Math.min(20000, Math.max(0, Number(values['storm-clients'] ?? 2000) || 0)),
      latencyClients: list(values['latency-clients'] ?? '100,1000'),
      streams: Math.min(500, Math.max(0, Number(values.streams ?? 100) || 0)),
      clientsPerStream: Math.min(200, Math.max(1, Number(values['clients-per-stream'] ?? 20) || 20)),
      parts: new Set(pick(values.only, BENCH_PARTS, '--only')),
      contenders: values.contenders === undefined ? [...DEFAULT_CONTENDERS] : pick(values.contenders, CONTENDERS, '--contenders'),
    },
  };
}

/** The names of a comma-separated option, each one of `known`; all of them when the option is absent. */
function pick<T extends string>(text: string | undefined, known: readonly T[], option: string): T[] {
  if (text === undefined) return [...known];
  const names = text.split(',').map((s) => s.trim());
  for (const name of names) if (!(known as readonly string[]).includes(name)) throw new Error(`${option}: unknown "${name}" (${known.join(', ')})`);
  return names as T[];
}

function fdLimit(): number {
  const r = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' });
  const n = Number(r.stdout.trim());
  return Number.isFinite(n) && n > 0 ? n : 1024;
}

function log(text: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${text}\n`);
}

/** The latency side-probe, in its own process so its event loop is not the loaded one's. */
function startProbe(url: string, delaySeconds: number, durationSeconds: number): Promise<LoadReport | null> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [LOAD_CLIENT, '--url', url, '-n', String(PROBE_CLIENTS), '--ramp', '0', '--settle', String(delaySeconds),
        '--duration', String(durationSeconds), '--latency', '--json'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (out += t));
    child.stderr.resume();
    const timer = setTimeout(() => child.kill('SIGKILL'), (delaySeconds + durationSeconds + 30) * 1000);
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

/** The access rules of the access rows, on the loaded stream only (the latency stream stays open). */
const ACCESS_USER = 'viewer';
const ACCESS_PASSWORD = 'bench-password';
function accessYaml(): string {
  return `    access: { allow: [127.0.0.0/8], users: { ${ACCESS_USER}: "${bcrypt.hashSync(ACCESS_PASSWORD, 10)}" } }\n`;
}

async function startServer(kind: ServerKind, source: SourceKind, media: Media, dir: string, nodeArgs: string[] = [], streamExtra = ''): Promise<ServerUnderTest> {
  const live = source === 'live';
  if (kind === 'icecast') {
    return startIcecast(dir, [
      { mount: '/ts', argv: loopArgs(media, live, ['-f', 'mpegts', '-content_type', 'video/mp2t', '$URL']) },
      {
        mount: '/lat',
        http: true,
        argv: [process.execPath, LATENCY_FEED, '--rate', String(PROBE_RATE), '--bitrate', String(PROBE_BITRATE), '--icecast', '$URL'],
      },
    ]);
  }
  // Max-rate: nothing paces the source, so the ring holds max_lag of it at
  // whatever rate ffmpeg reaches; a short max_lag bounds that memory.
  const maxLag = live ? 10 : 2;
  const ts = loopArgs(media, live, ['-f', 'mpegts', '-']).join(' ');
  return startVoyandz({
    dir,
    workers: kind === 'voyandz-1' ? 1 : cpus().length,
    readyPath: '/stat.json',
    nodeArgs,
    body: `${latencyStreamYaml(PROBE_RATE, PROBE_BITRATE, maxLag)}  ts:
    command: ${ts}
    mimetype: video/mp2t
${streamExtra}`,
  });
}

/** The loaded stream and the latency stream of a server under test; `auth`: with the access rows' credentials. */
function streamUrls(server: ServerUnderTest, auth = false): { ts: string; lat: string } {
  if (server.name === 'icecast') return { ts: server.url('/ts'), lat: server.url('/lat') };
  const ts = server.url('/stream/ts');
  return { ts: auth ? ts.replace('http://', `http://${ACCESS_USER}:${ACCESS_PASSWORD}@`) : ts, lat: server.url('/stream/lat') };
}

/**
 * One client on each stream for the server's whole life, so runs measure
 * fan-out, not the start of an on-demand program; their bytes count as
 * delivered.
 */
function keepers(server: ServerUnderTest, auth = false): ClientCounters[] {
  const u = streamUrls(server, auth);
  return [openNetClient(u.ts, null), openNetClient(u.lat, null)];
}

async function oneRun(
  server: ServerUnderTest,
  kept: ClientCounters[],
  n: number,
  source: SourceKind,
  media: Media,
  opts: BenchOptions,
  engine: Engine = 'net',
  auth = false,
): Promise<RunResult> {
  const ramp = Math.min(5, n / 400);
  const urls = streamUrls(server, auth);
  // The probe starts first and its window is aligned on the load's: node's start-up is not the load's TTFB.
  const PROBE_START_S = 0.7;
  const probe = opts.probes ? startProbe(urls.lat, PROBE_START_S / 2 + ramp + opts.settle, opts.duration) : Promise.resolve(null);
  if (opts.probes) await sleep(PROBE_START_S * 1000);
  // Set by the load's callbacks: an object, so the compiler does not assume they stay null.
  const snap: { a: CpuSnapshot | null; b: CpuSnapshot | null } = { a: null, b: null };
  let rss = 0;
  const report = await runLoad({
    urls: [urls.ts],
    clients: n,
    rampSeconds: ramp,
    settleSeconds: opts.settle,
    durationSeconds: opts.duration,
    expectKbps: source === 'live' ? media.kbps : null,
    tolerance: 0.1,
    latency: false,
    engine,
    onWindowStart: () => {
      snap.a = cpuSnapshot([server.pid], SOURCES);
      for (const k of kept) k.markStart();
    },
    onWindowEnd: () => {
      snap.b = cpuSnapshot([server.pid], SOURCES);
      for (const k of kept) k.markEnd();
      rss = treeRss([server.pid], SOURCES);
    },
  });
  const probed = await probe;
  const cpu = snap.a && snap.b ? cpuBetween(snap.a, snap.b).total : Number.NaN;
  // Every byte the server sent in the window: the load's, the probe's (its window is ~aligned) and the keepers'.
  const sideBytes = (probed?.windowBytes ?? 0) + kept.reduce((sum, k) => sum + k.windowBytes(), 0);
  const gb = (report.windowBytes + sideBytes) / 1e9;
  await sleep(1000); // let the server close the run's clients before the next
  return {
    connected: report.connected,
    held: report.held,
    lagging: report.lagging,
    disconnectedEarly: report.disconnectedEarly,
    refused: report.refusedTotal,
    cpuSeconds: cpu,
    cpuPercent: (cpu / report.windowSeconds) * 100,
    gbDelivered: gb,
    cpuPerGB: gb > 0 ? cpu / gb : Number.NaN,
    rssMB: rss / 1e6,
    ttfbP99Ms: report.ttfbMs.p99 ?? Number.NaN,
    headP99Ms: report.responseHeadMs.p99 ?? Number.NaN,
    latencyP99Ms: probed?.latencyMs?.p99 ?? Number.NaN,
    aggregateMbps: report.aggregateMbps ?? Number.NaN,
    clientCpuSeconds: report.loadClientCpuSeconds ?? Number.NaN,
  };
}

function medianRun(runs: RunResult[]): RunResult {
  const keys = Object.keys(runs[0]) as (keyof RunResult)[];
  const out = {} as Record<keyof RunResult, number | null>;
  for (const k of keys) {
    const values = runs.map((r) => r[k]).filter((v): v is number => typeof v === 'number');
    out[k] = values.length ? median(values) : null;
  }
  return out as unknown as RunResult;
}

async function benchServer(kind: ServerKind, source: SourceKind, counts: number[], media: Media, opts: BenchOptions, dir: string): Promise<Row[]> {
  const rows: Row[] = [];
  log(`${kind} ${source}: starting`);
  const server = await startServer(kind, source, media, dir);
  const kept = keepers(server);
  try {
    await sleep(2000);
    // Baseline: streams running, keepers connected, nothing else.
    const idleRss = treeRss([server.pid], SOURCES);
    for (const n of counts) {
      const runs: RunResult[] = [];
      for (let i = 0; i < opts.runs; i++) {
        const r = await oneRun(server, kept, n, source, media, opts);
        log(
          `${kind} ${source} N=${n} run ${i + 1}/${opts.runs}: held ${r.held}/${n} lagging ${r.lagging ?? '-'} ` +
            `early ${r.disconnectedEarly} cpu ${r.cpuPerGB.toFixed(2)} s/GB rss ${r.rssMB.toFixed(0)} MB ` +
            `ttfb p99 ${r.ttfbP99Ms} ms lat p99 ${r.latencyP99Ms} ms ${r.aggregateMbps.toFixed(0)} Mbit/s`,
        );
        runs.push(r);
      }
      rows.push({ server: kind, source, clients: n, idleRssMB: idleRss / 1e6, runs, median: medianRun(runs) });
    }
  } finally {
    for (const k of kept) k.close();
    await server.stop();
  }
  return rows;
}

/** One 1000-client live run of voyandz with 1 worker under --cpu-prof; summarizes the worker's profile. */
async function profileWorker(media: Media, opts: BenchOptions, dir: string, n: number): Promise<(ProfileSummary & { clients: number }) | null> {
  const profDir = join(dir, 'prof');
  mkdirSync(profDir, { recursive: true });
  log(`profile: voyandz-1 live N=${n} under --cpu-prof`);
  const server = await startServer('voyandz-1', 'live', media, dir, ['--cpu-prof', `--cpu-prof-dir=${profDir}`]);
  let workers: number[] = [];
  const kept = keepers(server);
  try {
    await sleep(1000);
    await oneRun(server, kept, n, 'live', media, { ...opts, probes: false });
    workers = processTree([server.pid]).filter((pid) => /stream-worker/.test(cmdline(pid)));
  } finally {
    for (const k of kept) k.close();
    await server.stop(); // profiles are written as the processes exit
  }
  const files = readdirSync(profDir).filter((f) => workers.some((pid) => f.includes(`.${pid}.`)));
  if (files.length === 0) {
    log(`profile: no worker profile in ${profDir} (${readdirSync(profDir).join(', ') || 'empty'})`);
    return null;
  }
  return { ...summarizeProfile(join(profDir, files[0])), clients: n };
}

/** The default bench: voyandz vs the C ceiling, same run (ceiling-bench.ts) → RESULTS.md (+ .json). */
async function mainCompare(opts: BenchOptions): Promise<void> {
  const started = Date.now();
  const c = opts.compare;
  const notes: string[] = [];
  const needed = Math.max(...c.sizes, c.stormClients, c.streams * c.clientsPerStream) + FD_HEADROOM;
  if (needed > fdLimit()) notes.push(`ulimit -n is ${fdLimit()}, the largest run needs ~${needed}: raise it (ulimit -n 20000) or runs will fail.`);
  const dir = mkdtempSync(join(tmpdir(), 'voyandz-bench-'));
  const settings = { rampSeconds: 2, settleSeconds: 3, windowSeconds: c.windowSeconds, repeat: c.repeat, mediaKbps: 0 };
  try {
    log('building the reference instruments (../shared/bench, cc -O2)');
    const tools = buildInstruments(dir);
    let results: CompareResults | null = null;
    if (typeof tools === 'string') {
      notes.push(`**No C ceiling in this run**: ${tools}. Nothing below is compared; run the bench where \`cc\` and ../shared/bench exist, or \`npm run bench -- --full\` for the older matrix without a ceiling.`);
      log(notes[notes.length - 1]);
    } else {
      log('making the test media');
      const media = makeMedia(dir);
      settings.mediaKbps = media.kbps;
      results = await runCompare({ tools, media, dir, sizes: c.sizes, repeat: c.repeat, rampSeconds: settings.rampSeconds, settleSeconds: settings.settleSeconds,
        windowSeconds: c.windowSeconds, stormClients: c.stormClients, latencyClients: c.latencyClients, manyStreams: c.streams, clientsPerStream: c.clientsPerStream,
        parts: c.parts, contenders: c.contenders, log });
    }
    const chosen = fanoutWriter();
    const writer = `${chosen.kind} (${chosen.why})`;
    const report: CompareReport = { date: new Date().toISOString(), minutes: (Date.now() - started) / 60000, machine: describeMachine(), settings, writer, results, notes };
    // The relay bench's section is its own: carried over as it was.
    const relay = relaySectionOf(readIfThere(opts.out));
    writeFileSync(opts.out, relay === null ? renderCompare(report) : withRelaySection(renderCompare(report), relay));
    writeFileSync(opts.out.replace(/\.md$/, '.json'), `${JSON.stringify(report, null, 2)}\n`);
    log(`wrote ${opts.out} in ${report.minutes.toFixed(1)} min`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function readIfThere(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** `--relay`: origin + 2 edges (relay-bench.ts); writes only its section of RESULTS.md, and RESULTS-relay.json. */
async function mainRelay(opts: BenchOptions, clients: number): Promise<void> {
  if (clients + FD_HEADROOM > fdLimit()) log(`ulimit -n is ${fdLimit()}, the edges need ~${clients / 2 + FD_HEADROOM} each: raise it (ulimit -n 20000) or runs will fail.`);
  const dir = mkdtempSync(join(tmpdir(), 'voyandz-bench-'));
  try {
    log('building the reference instruments (../shared/bench, cc -O2)');
    const tools = buildInstruments(dir);
    if (typeof tools === 'string') throw new Error(`the relay bench needs the C load client: ${tools}`);
    const c = opts.compare;
    const results = await runRelayBench({ tools, dir, clients, windowSeconds: Math.max(c.windowSeconds, 10), repeat: c.repeat, latencyClients: c.latencyClients[0] ?? 100, log });
    writeFileSync(opts.out, withRelaySection(readIfThere(opts.out), renderRelaySection(results, describeMachine())));
    writeFileSync(opts.out.replace(/\.md$/, '-relay.json'), `${JSON.stringify(results, null, 2)}\n`);
    log(`wrote the relay section of ${opts.out} in ${results.minutes.toFixed(1)} min`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const opts = options();
  if (opts.relay !== null) return mainRelay(opts, opts.relay);
  if (!opts.full) return mainCompare(opts);
  const started = Date.now();
  const limit = fdLimit();
  const notes: string[] = [];
  const fits = (n: number): boolean => {
    if (n + FD_HEADROOM <= limit) return true;
    notes.push(`N=${n} skipped: needs ~${n + FD_HEADROOM} file descriptors per process, ulimit -n is ${limit} (raise it with ulimit -n).`);
    return false;
  };
  const counts = opts.clients.filter(fits);
  const maxrateCounts = opts.maxrateClients.filter(fits);
  let servers = opts.servers;
  if (servers.includes('icecast') && !icecastBinary()) {
    notes.push('Icecast rows skipped: icecast2 is not installed (apt-get install -y icecast2).');
    servers = servers.filter((s) => s !== 'icecast');
  }
  for (const note of notes) log(note);

  const dir = mkdtempSync(join(tmpdir(), 'voyandz-bench-'));
  const run = { interrupted: false };
  process.once('SIGINT', () => {
    run.interrupted = true;
    log('interrupted: stopping after the current run');
  });
  try {
    log('making the test media');
    const media = makeMedia(dir);
    log(`media: ${media.file}, ${media.seconds.toFixed(1)} s, ${media.kbps} kbit/s`);
    const memoryKinds = servers.filter((kind): kind is 'voyandz-1' | 'voyandz-cores' => kind !== 'icecast');
    const memoryClients = Math.max(...counts);
    if (opts.memoryOnly) {
      const json = opts.out.replace(/\.md$/, '.json');
      const earlier = JSON.parse(readFileSync(json, 'utf8')) as BenchResults;
      earlier.memory = await memoryRows(memoryKinds, media, opts, dir, memoryClients);
      writeFileSync(opts.out, renderResults(earlier));
      writeFileSync(json, `${JSON.stringify(earlier, null, 2)}\n`);
      log(`added memory per client to ${opts.out}`);
      return;
    }
    if (opts.accessOnly) {
      const access = await accessRows(media, opts, dir, opts.accessClients || 1000);
      process.stdout.write(`${renderAccessRows(access).join('\n')}\n${JSON.stringify(access)}\n`);
      return;
    }
    const rows: Row[] = [];
    for (const source of ['live', 'maxrate'] as const) {
      const list = source === 'live' ? counts : maxrateCounts;
      if (list.length === 0) continue;
      for (const kind of servers) {
        if (run.interrupted) break;
        try {
          rows.push(...(await benchServer(kind, source, list, media, opts, dir)));
        } catch (error) {
          const msg = `${kind} ${source}: failed: ${(error as Error).message.split('\n')[0]}`;
          log(msg);
          notes.push(msg);
        }
      }
    }

    let latency: BenchResults['latency'] = null;
    let slow: BenchResults['slowReader'] = null;
    let engines: BenchResults['engines'] = null;
    if (opts.probes && !run.interrupted) {
      latency = await latencyRows(dir, opts.quick ? [1, 100] : [1, 100, 1000], opts.duration);
      log('slow-reader probe');
      slow = await runSlowReaderProbe({ stalled: 10, readers: 100, maxLagSeconds: 3, durationSeconds: opts.quick ? 25 : 30, workers: 1, bitrate: 2_000_000 });
      engines = await engineRows(media, opts, dir, opts.quick ? 200 : 500);
    }
    const access = opts.accessClients > 0 && !run.interrupted ? await accessRows(media, opts, dir, opts.accessClients) : null;
    const memory = run.interrupted ? null : await memoryRows(memoryKinds, media, opts, dir, memoryClients);
    const profile = opts.profile && !run.interrupted ? await profileWorker(media, opts, dir, opts.profileClients).catch((e: unknown) => (log(`profile failed: ${e instanceof Error ? e.message : String(e)}`), null)) : null;

    const results: BenchResults = {
      date: new Date().toISOString(),
      minutes: (Date.now() - started) / 60000,
      opts: { runs: opts.runs, duration: opts.duration, settle: opts.settle, quick: opts.quick },
      media: { seconds: media.seconds, kbps: media.kbps },
      icecast: ICECAST_SETTINGS,
      rows,
      latency,
      slowReader: slow,
      engines,
      access,
      memory,
      profile,
      notes,
      machine: describeMachine(),
    };
    writeFileSync(opts.out, renderResults(results));
    writeFileSync(opts.out.replace(/\.md$/, '.json'), `${JSON.stringify(results, null, 2)}\n`);
    log(`wrote ${opts.out} in ${results.minutes.toFixed(1)} min`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function latencyRows(dir: string, counts: number[], duration: number): Promise<BenchResults['latency']> {
  log(`latency probe: N=${counts.join(',')}`);
  const server = await startVoyandz({ dir, body: latencyStreamYaml(50, 2_000_000), workers: 1, readyPath: '/stat.json' });
  try {
    const out: NonNullable<BenchResults['latency']> = [];
    for (const n of counts) {
      const r = await runLoad({
        urls: [server.url('/stream/lat')],
        clients: n,
        rampSeconds: Math.min(5, n / 400),
        settleSeconds: 2,
        durationSeconds: duration,
        expectKbps: 2000,
        tolerance: 0.05,
        latency: true,
        engine: 'net',
      });
      out.push({ clients: n, lagging: r.lagging, latency: r.latencyMs });
      await sleep(1000);
    }
    return out;
  } finally {
    await server.stop();
  }
}

/**
 * Memory per client: on a fresh server, RSS with 100 clients, then with N.
 * Within the long runs above RSS creeps up from run to run (V8 keeps heap it
 * grew), and a just-started process shrinks as its start-up garbage goes, so
 * neither the slope over those runs nor "over idle" is the cost of a client.
 */
async function memoryRows(kinds: ('voyandz-1' | 'voyandz-cores')[], media: Media, opts: BenchOptions, dir: string, n: number): Promise<BenchResults['memory']> {
  const out: NonNullable<BenchResults['memory']> = [];
  const base = 100;
  for (const kind of kinds) {
    log(`memory: ${kind} live, fresh server, N=${base} then N=${n}`);
    const server = await startServer(kind, 'live', media, dir);
    const kept = keepers(server);
    try {
      await sleep(2000);
      const small = await oneRun(server, kept, base, 'live', media, { ...opts, probes: false });
      const large = await oneRun(server, kept, n, 'live', media, { ...opts, probes: false });
      out.push({
        server: kind,
        clients: n,
        baseClients: base,
        baseMB: small.rssMB,
        loadedMB: large.rssMB,
        per1000MB: ((large.rssMB - small.rssMB) / (n - base)) * 1000,
        held: large.held,
      });
    } finally {
      for (const k of kept) k.close();
      await server.stop();
    }
  }
  return out;
}

/** The load client's own CPU with each engine, same server and load. */
async function engineRows(media: Media, opts: BenchOptions, dir: string, n: number): Promise<BenchResults['engines']> {
  log(`engines: net vs undici at N=${n}`);
  const server = await startServer('voyandz-1', 'live', media, dir);
  const kept = keepers(server);
  try {
    await sleep(1000);
    const out: NonNullable<BenchResults['engines']> = [];
    for (const engine of ['net', 'undici'] as const) {
      const r = await oneRun(server, kept, n, 'live', media, { ...opts, probes: false }, engine);
      out.push({ engine, clients: n, clientCpuSeconds: r.clientCpuSeconds, gbDelivered: r.gbDelivered, held: r.held });
    }
    return out;
  } finally {
    for (const k of kept) k.close();
    await server.stop();
  }
}

/** The same live load against the same config with and without Basic auth + an allow-list on the stream. */
async function accessRows(media: Media, opts: BenchOptions, dir: string, n: number): Promise<AccessRow[]> {
  const rows: AccessRow[] = [];
  for (const mode of ['open', 'basic+allow'] as const) {
    const auth = mode !== 'open';
    log(`access: ${mode} at N=${n}`);
    const server = await startServer('voyandz-1', 'live', media, dir, [], auth ? accessYaml() : '');
    const kept = keepers(server, auth);
    try {
      await sleep(1000);
      const runs: RunResult[] = [];
      for (let i = 0; i < opts.runs; i++) runs.push(await oneRun(server, kept, n, 'live', media, { ...opts, probes: false }, 'net', auth));
      const r = medianRun(runs);
      rows.push({ mode, clients: n, connected: r.connected, held: r.held, cpuPerGB: r.cpuPerGB, ttfbP99Ms: r.ttfbP99Ms, headP99Ms: r.headP99Ms });
    } finally {
      for (const k of kept) k.close();
      await server.stop();
    }
  }
  return rows;
}

/** `npm run bench -- --soak MINUTES`: the soak run instead of the benchmark (load-tests/soak.ts). */
function soakMinutes(): string | null {
  const at = process.argv.indexOf('--soak');
  return at < 0 ? null : (process.argv[at + 1] ?? '30');
}

const soak = soakMinutes();
(soak === null
  ? main()
  : import('./soak.js').then(({ runSoak }) => runSoak(['--minutes', soak, ...process.argv.slice(2).filter((a, i, all) => a !== '--soak' && all[i - 1] !== '--soak')]))
).catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
