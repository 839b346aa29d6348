/**
 * Renders the bench's results as load-tests/RESULTS.md: machine, settings,
 * one table per source, the probes, the targets (met or missed, by how
 * much) and where a worker's CPU goes.
 */
import { execFileSync } from 'node:child_process';
import { cpus, release, totalmem } from 'node:os';
import type { ProfileSummary } from './cpu-profile.js';
import type { LoadReport } from './load-client.js';
import type { SlowReaderReport } from './slow-reader-probe.js';

export type ServerKind = 'voyandz-1' | 'voyandz-cores' | 'icecast';
export type SourceKind = 'live' | 'maxrate';

export interface RunResult {
  connected: number;
  held: number;
  lagging: number | null;
  disconnectedEarly: number;
  refused: number;
  cpuSeconds: number;
  cpuPercent: number;
  gbDelivered: number;
  cpuPerGB: number;
  rssMB: number;
  ttfbP99Ms: number;
  headP99Ms: number;
  latencyP99Ms: number;
  aggregateMbps: number;
  clientCpuSeconds: number;
}

export interface Row {
  server: ServerKind;
  source: SourceKind;
  clients: number;
  idleRssMB: number;
  runs: RunResult[];
  median: RunResult;
}

export interface AccessRow {
  mode: 'open' | 'basic+allow';
  clients: number;
  connected: number;
  held: number;
  cpuPerGB: number;
  ttfbP99Ms: number;
  headP99Ms: number;
}

export function renderAccessRows(rows: readonly AccessRow[]): string[] {
  return [
    '## Access control (voyandz 1 worker, live): Basic auth + allow-list vs none',
    '',
    '| rules | N | connected | held | CPU s/GB | response head p99 ms | TTFB p99 ms |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.mode} | ${r.clients} | ${r.connected} | ${r.held} | ${f(r.cpuPerGB)} | ${f(r.headP99Ms, 1)} | ${f(r.ttfbP99Ms, 1)} |`),
    '',
    'Every client sends the same password: one bcrypt check on a thread, then cache hits; once connected, a client costs the same.',
    '',
  ];
}

export interface BenchResults {
  date: string;
  minutes: number;
  opts: { runs: number; duration: number; settle: number; quick: boolean };
  media: { seconds: number; kbps: number };
  icecast: Record<string, number>;
  rows: Row[];
  latency: { clients: number; lagging: number | null; latency: LoadReport['latencyMs'] }[] | null;
  slowReader: SlowReaderReport | null;
  engines: { engine: string; clients: number; clientCpuSeconds: number; gbDelivered: number; held: number }[] | null;
  /** The same live load with and without access rules (Basic auth + an allow-list); absent in runs before it existed. */
  access?: AccessRow[] | null;
  /** RSS a fresh server adds for N live clients (absent in results from before it was measured). */
  memory?: { server: ServerKind; clients: number; baseClients: number; baseMB: number; loadedMB: number; per1000MB: number; held: number }[] | null;
  profile: (ProfileSummary & { clients: number }) | null;
  notes: string[];
  /** Where it ran; filled at run time so a --from-json re-render elsewhere still names the right machine. */
  machine?: string[];
}

/** The machine lines of RESULTS.md, for this machine. */
export function describeMachine(): string[] {
  const cpu = cpus();
  return [
    `- CPU: ${cpu.length} × ${cpu[0]?.model ?? 'unknown'}`,
    `- RAM: ${(totalmem() / 2 ** 30).toFixed(1)} GiB; kernel ${release()}; Node ${process.version}`,
    `- ${version('ffmpeg', ['-version'])}; ${version('sh', ['-c', 'icecast2 -v 2>&1 || icecast -v 2>&1'])}`,
  ];
}

const TARGETS = { cpuPerGB: 0.55, latencyP99At100: 2, latencyP99At1000: 50, rssPer1000MB: 50 };

function version(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', timeout: 5000 }).split('\n')[0].trim();
  } catch {
    return 'not found';
  }
}

function f(x: number | null | undefined, digits = 2): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  return x >= 100 ? x.toFixed(0) : x.toFixed(digits);
}

function serverLabel(kind: ServerKind): string {
  if (kind === 'voyandz-1') return 'voyandz, 1 worker';
  if (kind === 'voyandz-cores') return `voyandz, ${cpus().length} workers`;
  return 'Icecast 2';
}

/**
 * RSS growth per 1000 clients between this row and the smallest-N row of
 * the same server and source: a slope, because a fresh Node process's RSS
 * first shrinks as start-up garbage is collected, which makes "over idle" noise.
 */
function rssSlope(rows: Row[], r: Row): number {
  const base = rows
    .filter((x) => x.server === r.server && x.source === r.source)
    .reduce<Row | null>((min, x) => (min === null || x.clients < min.clients ? x : min), null);
  if (!base || base.clients >= r.clients) return Number.NaN;
  return ((r.median.rssMB - base.median.rssMB) / (r.clients - base.clients)) * 1000;
}

/** Least-squares RSS growth per 1000 clients over every row of one server and source: less noisy than any one pair. */
function rssFit(rows: Row[], server: ServerKind, source: SourceKind): number {
  const pts = rows.filter((r) => r.server === server && r.source === source && Number.isFinite(r.median.rssMB));
  if (pts.length < 2) return Number.NaN;
  const mx = pts.reduce((a, r) => a + r.clients, 0) / pts.length;
  const my = pts.reduce((a, r) => a + r.median.rssMB, 0) / pts.length;
  let cov = 0;
  let varx = 0;
  for (const r of pts) {
    cov += (r.clients - mx) * (r.median.rssMB - my);
    varx += (r.clients - mx) ** 2;
  }
  return varx > 0 ? (cov / varx) * 1000 : Number.NaN;
}

function table(rows: Row[], live: boolean): string[] {
  const head = live
    ? '| server | N | held (0 lagging) | lagging | dropped early | refused | CPU s/GB | server CPU % | RSS MB | RSS slope per 1000 MB | head p99 ms | TTFB p99 ms | added latency p99 ms | aggregate Mbit/s |'
    : '| server | N | held to the end | dropped early | refused | CPU s/GB | server CPU % | RSS MB | TTFB p99 ms | added latency p99 ms | aggregate Mbit/s |';
  const out = [head, `|${head.split('|').slice(1, -1).map(() => '---').join('|')}|`];
  for (const r of rows) {
    const m = r.median;
    const common = [serverLabel(r.server), String(r.clients)];
    out.push(
      live
        ? `| ${[...common, f(m.held, 0), f(m.lagging, 0), f(m.disconnectedEarly, 0), f(m.refused, 0), f(m.cpuPerGB), f(m.cpuPercent, 0), f(m.rssMB, 0), f(rssSlope(rows, r), 1), f(m.headP99Ms, 1), f(m.ttfbP99Ms, 1), f(m.latencyP99Ms, 2), f(m.aggregateMbps, 0)].join(' | ')} |`
        : `| ${[...common, f(m.held, 0), f(m.disconnectedEarly, 0), f(m.refused, 0), f(m.cpuPerGB), f(m.cpuPercent, 0), f(m.rssMB, 0), f(m.ttfbP99Ms, 1), f(m.latencyP99Ms, 2), f(m.aggregateMbps, 0)].join(' | ')} |`,
    );
  }
  return out;
}

/** Most clients a server held with none lagging, over the live rows. */
function maxHeld(rows: Row[], kind: ServerKind): number | null {
  const mine = rows.filter((r) => r.server === kind && r.source === 'live');
  if (mine.length === 0) return null;
  let best = 0;
  for (const r of mine) if (r.median.lagging === 0 && r.median.disconnectedEarly === 0 && r.median.held >= r.clients) best = Math.max(best, r.clients);
  return best;
}

function verdict(value: number | null | undefined, target: number, unit: string): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'not measured';
  if (value <= target) return `**met** (${f(value)} ${unit} ≤ ${target})`;
  return `**missed** by ${f(value - target)} ${unit} (${f(value)} vs ${target}, ×${(value / target).toFixed(1)})`;
}

function targets(res: BenchResults): string[] {
  const live = res.rows.filter((r) => r.source === 'live');
  const at = (kind: ServerKind, n: number): Row | undefined => live.find((r) => r.server === kind && r.clients === n);
  const out = ['## Targets', ''];
  for (const kind of ['voyandz-1', 'voyandz-cores'] as const) {
    const r = at(kind, 1000);
    out.push(`- CPU per delivered GB at 1000 live clients, ${serverLabel(kind)}: ${verdict(r?.median.cpuPerGB, TARGETS.cpuPerGB, 's/GB')}` +
      (at('icecast', 1000) ? `; Icecast: ${f(at('icecast', 1000)?.median.cpuPerGB)} s/GB` : ''));
  }
  const ice = maxHeld(res.rows, 'icecast');
  for (const kind of ['voyandz-1', 'voyandz-cores'] as const) {
    const held = maxHeld(res.rows, kind);
    if (held === null) continue;
    out.push(`- Clients held with none lagging, ${serverLabel(kind)}: ${held}` + (ice !== null ? ` (Icecast: ${ice}) → ${held >= ice ? '**met**' : '**missed**'}` : '') +
      `; aim 2000: ${held >= 2000 ? '**met**' : '**missed**'}`);
  }
  const lat = (n: number): number | null | undefined => res.latency?.find((l) => l.clients === n)?.latency?.p99;
  out.push(`- Added latency p99 at 100 clients (latency probe, 2 Mbit/s raw stream): ${verdict(lat(100), TARGETS.latencyP99At100, 'ms')}`);
  out.push(`- Added latency p99 at 1000 clients: ${verdict(lat(1000), TARGETS.latencyP99At1000, 'ms')}`);
  for (const kind of ['voyandz-1', 'voyandz-cores'] as const) {
    if (!live.some((r) => r.server === kind)) continue;
    const measured = res.memory?.find((m) => m.server === kind);
    out.push(
      `- RSS per 1000 clients, ${serverLabel(kind)} (fresh server, ${measured?.clients ?? '–'} clients): ` +
        `${measured ? verdict(measured.per1000MB, TARGETS.rssPer1000MB, 'MB') : 'not measured'}; slope of RSS over the long runs above (counts heap V8 keeps from earlier runs): ${f(rssFit(live, kind, 'live'), 1)} MB`,
    );
  }
  return out;
}

export function renderResults(res: BenchResults): string {
  const lines: string[] = [
    '# voyandz load benchmark results',
    '',
    `Written by \`npm run bench\` on ${res.date} (${res.minutes.toFixed(1)} min${res.opts.quick ? ', --quick smoke run' : ''}).`,
    '',
    '> These numbers come from a **shared** machine (other jobs were using its CPUs during the run): they are',
    '> indicative, not a verdict. Re-run `npm run bench` on a quiet machine before quoting them. Nothing gates CI on them.',
    '',
    '## Machine',
    '',
    ...(res.machine ?? describeMachine()),
    '',
    '## Method',
    '',
    `- Media: ${res.media.seconds.toFixed(0)} s of lavfi testsrc2 640×360 H.264 CBR + AAC in MPEG-TS, ${res.media.kbps} kbit/s, made at bench start;`,
    '  every server gets it from `ffmpeg [-re] -stream_loop -1 -i FILE -c copy`. **live** = with `-re`; **maxrate** = without.',
    '- voyandz: the ffmpeg is a shared stream\'s program (no feed), `max_lag` 10 s live, 2 s maxrate (nothing paces a maxrate',
    '  source, and the ring holds `max_lag` of it). Icecast: ffmpeg pushes with `icecast://` to `/ts`.',
    `- Icecast settings: clients ${res.icecast.clients}, sources ${res.icecast.sources}, queue-size ${res.icecast.queueSizeBytes} B,` +
      ` burst-on-connect ${res.icecast.burstOnConnect}, burst-size ${res.icecast.burstSizeBytes} B, source-timeout ${res.icecast.sourceTimeoutSeconds} s; run as nobody (changeowner).`,
    `- Per run: N clients (raw \`net\` engine) open over min(5 s, N/400 s), ${res.opts.settle} s settle, then a ${res.opts.duration} s window in which`,
    '  everything is measured. Medians of ' + `${res.opts.runs} run(s) per row. The load client runs on the same cores as the server.`,
    `- held = answered 200, not closed by the server, and (live) received ≥ 90 % of ${res.media.kbps} kbit/s in the window; lagging = below that.`,
    '- CPU s/GB = user+system CPU of the server\'s process tree in the window (from /proc; source programs — ffmpeg, latency-feed — left',
    '  out on both sides) ÷ GB the clients received in the window. RSS = the same tree at the window\'s end; slope = RSS growth from the row with the smallest N (it also counts heap V8 kept from earlier runs; memory per client is measured on its own below).',
    '- added latency p99 = a side probe of 5 clients (its own process) on a 2 Mbit/s stream of time-stamped records served by the same',
    '  server next to the loaded stream (voyandz: a second shared stream; Icecast: latency-feed PUT to a second mount): now − write time,',
    "  CLOCK_MONOTONIC. One keeper client stays on each stream between runs, so no run pays a program's start-up; the probe's and keepers'",
    '  bytes count as delivered.',
    '- head = connect → response head; TTFB = connect → first body byte. TTFB is mostly the source\'s write granularity: ffmpeg writes',
    '  its output in 32 KiB blocks, one every ~130 ms at 2 Mbit/s, and a joining client waits for the next one (Icecast\'s burst-on-connect',
    '  answers from its queue, but it too gets a block at a time from its source).',
    '',
  ];
  if (res.notes.length) lines.push('## Notes', '', ...res.notes.map((n) => `- ${n}`), '');
  const live = res.rows.filter((r) => r.source === 'live');
  const maxrate = res.rows.filter((r) => r.source === 'maxrate');
  if (live.length) lines.push('## Live source (~2 Mbit/s, `-re`)', '', ...table(live, true), '');
  if (maxrate.length) {
    lines.push(
      '## Max-rate source (no `-re`)',
      '',
      'Nothing paces the source: the server runs flat out and clients get what they can take. "held to the end" = not closed by the',
      'server; "refused" here = no answer before the run ended (the server\'s accepting process starved of CPU). voyandz drops a client',
      'more than `max_lag` (2 s) behind; with several workers, a worker fed through a peer link that falls that far behind loses its',
      'link, and so all its clients, at once. Icecast drops a client once its queue-size is exceeded.',
      '',
      ...table(maxrate, false),
      '',
    );
  }
  if (res.latency) {
    lines.push('## Latency probe (voyandz, 1 worker, raw 2 Mbit/s shared stream of time-stamped records, 50 records/s)', '');
    lines.push('| N | lagging | added latency p50 ms | p99 ms | max ms | samples |', '|---|---|---|---|---|---|');
    for (const l of res.latency) lines.push(`| ${l.clients} | ${l.lagging ?? '–'} | ${f(l.latency?.p50, 3)} | ${f(l.latency?.p99, 3)} | ${f(l.latency?.max, 3)} | ${l.latency?.count ?? 0} |`);
    lines.push('');
  }
  if (res.slowReader) {
    const s = res.slowReader;
    const rr = s.readersReport;
    lines.push(
      '## Slow-reader probe',
      '',
      `${s.stalled} clients that stop reading after the response head, next to ${s.readers} readers of a 2 Mbit/s stream, \`max_lag\` ${s.maxLagSeconds} s, 1 worker:`,
      '',
      `- stalled clients dropped for lag: **${s.dropped}/${s.stalled}**` +
        (s.dropped ? `, ${f(s.droppedAfterSeconds.first, 0)}–${f(s.droppedAfterSeconds.last, 0)} s after connecting (kernel socket buffers fill first, then max_lag)` : ''),
      `- readers meanwhile: lagging ${rr.lagging}, disconnected ${rr.disconnectedEarly}, rate min ${rr.clientKbps.min} / p50 ${rr.clientKbps.p50} kbit/s, added latency p99 ${rr.latencyMs?.p99 ?? '–'} ms`,
      `- server RSS: ${s.rssMB.before} MB before, ${s.rssMB.peak} MB peak, ${s.rssMB.end} MB at the end`,
      '',
    );
  }
  if (res.engines) {
    lines.push('## Load client engines (same load, voyandz 1 worker, live)', '', '| engine | N | held | client CPU s (whole run) | GB in window |', '|---|---|---|---|---|');
    for (const e of res.engines) lines.push(`| ${e.engine} | ${e.clients} | ${e.held} | ${f(e.clientCpuSeconds)} | ${f(e.gbDelivered, 3)} |`);
    lines.push('', 'The raw `net` engine is the default: it reads every socket into one shared buffer with no per-read allocation.', '');
  }
  if (res.access && res.access.length > 0) lines.push(...renderAccessRows(res.access));
  if (res.memory && res.memory.length > 0) {
    lines.push(
      '## Memory per client (fresh server, live 2 Mbit/s)',
      '',
      'A fresh server, its stream running (one keeper client): RSS of the server tree (source programs left out) at the end of',
      'a run with 100 clients, then of a run with N; the difference per 1000 extra clients.',
      '',
      '| server | N | held | RSS with 100 clients MB | RSS with N clients MB | per 1000 clients MB |',
      '|---|---|---|---|---|---|',
    );
    for (const m of res.memory) lines.push(`| ${serverLabel(m.server)} | ${m.clients} | ${m.held} | ${f(m.baseMB, 0)} | ${f(m.loadedMB, 0)} | ${f(m.per1000MB, 1)} |`);
    lines.push('');
  }
  lines.push(...targets(res), '');
  if (res.profile) {
    const p = res.profile;
    lines.push(
      `## Where a worker's CPU goes (voyandz 1 worker, ${p.clients} live clients, \`node --cpu-prof\`)`,
      '',
      `${p.samples} samples over ${p.seconds.toFixed(0)} s (whole worker life: start, ramp, window, shutdown; ${p.clients} clients), ${p.busyPercent} % busy. Self time, % of busy samples:`,
      '',
      '| % | function | where |',
      '|---|---|---|',
      ...p.top.map((e) => `| ${e.percent} | \`${e.fn}\` | ${e.where || '(native / VM)'} |`),
      '',
      ...(Number.isFinite(p.socketWritePercent)
        ? [
            `Native socket writes (\`writeBuffer\`/\`writev\`, i.e. the write(2) per client per batch): **${p.socketWritePercent} %** of busy time;` +
              ` voyandz's own JavaScript (src/, workers/): **${p.ownCodePercent} %**. The fan-out is syscall-bound: what is left to win is` +
              ' fewer, larger writes (bigger batches, which cost latency), not JavaScript.',
            '',
          ]
        : []),
    );
  }
  return `${lines.join('\n')}\n`;
}
