/**
 * Load client: N simultaneous HTTP stream clients against one or many
 * loopback stream URLs, ramped, held for a bounded time, with a report of
 * what each client saw.
 *
 *   node dist/load-tests/load-client.js --url http://127.0.0.1:8090/stream/ts
 *        -n 1000 --ramp 5 --duration 20 --expect-kbps 2000 [--json]
 *
 * See load-tests/README.md for every option. The timeline of a run:
 * clients open over `ramp` seconds, `settle` seconds pass, then the
 * measurement window of `duration` seconds: throughput, lag and latency
 * are measured inside it only, so start-up bursts do not count.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { openNetClient, type ClientCounters } from './net-client.js';
import { openUndiciClient } from './undici-client.js';
import { assertLoopback } from './loopback.js';
import { monoMs } from './latency-record.js';
import { round, roundSummary, Samples, summarize, type Summary } from './stats.js';

export type Engine = 'net' | 'undici';

export interface LoadOptions {
  urls: string[];
  clients: number;
  rampSeconds: number;
  settleSeconds: number;
  durationSeconds: number;
  /** A client receiving less than expectKbps × (1 − tolerance) in the window is lagging; null: not judged. */
  expectKbps: number | null;
  tolerance: number;
  /** Parse latency-feed records and measure now − emission time. */
  latency: boolean;
  engine: Engine;
  /** Called about once a second while running. */
  onProgress?: (p: Progress) => void;
  /** Called at the edges of the measurement window (the bench samples the server's CPU there). */
  onWindowStart?: () => void;
  onWindowEnd?: () => void;
}

export interface Progress {
  phase: 'ramp' | 'settle' | 'window';
  elapsed: number;
  opened: number;
  connected: number;
  refused: number;
  closed: number;
  rxBytesPerSecond: number;
}

export interface LoadReport {
  engine: Engine;
  urls: string[];
  clients: number;
  rampSeconds: number;
  windowSeconds: number;
  expectKbps: number | null;
  connected: number;
  /** Non-200 answers by status, connection failures by error code. */
  refused: Record<string, number>;
  refusedTotal: number;
  /** Answered 200, then closed by the server (or failed) before the run ended. */
  disconnectedEarly: number;
  lagging: number | null;
  /** Connected, not disconnected, not lagging, through the window. */
  held: number;
  ttfbMs: ReturnType<typeof roundSummary>;
  responseHeadMs: ReturnType<typeof roundSummary>;
  clientKbps: ReturnType<typeof roundSummary>;
  aggregateMbps: number | null;
  windowBytes: number;
  latencyMs: ReturnType<typeof roundSummary> | null;
  latencyResyncs: number;
  loadClientCpuSeconds: number | null;
}

export const LIMITS = { clients: 20000, seconds: 600 };

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs one load and reports; every client is closed when it resolves. */
export async function runLoad(opts: LoadOptions): Promise<LoadReport> {
  if (opts.urls.length === 0) throw new Error('no --url');
  for (const url of opts.urls) assertLoopback(url);
  const n = Math.min(Math.max(1, Math.floor(opts.clients)), LIMITS.clients);
  const ramp = clampSeconds(opts.rampSeconds);
  const settle = clampSeconds(opts.settleSeconds);
  const duration = Math.max(0.5, clampSeconds(opts.durationSeconds));

  const latency = opts.latency ? new Samples() : null;
  const clients: ClientCounters[] = [];
  const open = opts.engine === 'undici' ? openUndiciClient : openNetClient;
  const t0 = performance.now();
  let recording = false;
  const onLatency = latency
    ? (emittedMono: number, nowMono: number): void => {
        if (recording) latency.add(nowMono - emittedMono);
      }
    : null;

  let lastRx = 0;
  let lastTick = t0;
  const progress = (phase: Progress['phase']): void => {
    if (!opts.onProgress) return;
    const now = performance.now();
    let rx = 0;
    let connected = 0;
    let refused = 0;
    let closed = 0;
    for (const c of clients) {
      rx += c.bytes;
      if (c.status === 200) connected++;
      else if (c.failure !== null) refused++;
      if (c.closedAt !== null && c.status === 200) closed++;
    }
    const rate = ((rx - lastRx) * 1000) / Math.max(1, now - lastTick);
    lastRx = rx;
    lastTick = now;
    opts.onProgress({ phase, elapsed: (now - t0) / 1000, opened: clients.length, connected, refused, closed, rxBytesPerSecond: rate });
  };
  const ticker = setInterval(() => progress(clients.length < n ? 'ramp' : recording ? 'window' : 'settle'), 1000);
  const cpu0 = process.cpuUsage();

  try {
    // Ramp: client i opens at i × ramp / n; a late timer opens every client that is due.
    const rampMs = ramp * 1000;
    while (clients.length < n) {
      const due = rampMs === 0 ? n : Math.min(n, Math.floor(((performance.now() - t0) / rampMs) * n) + 1);
      while (clients.length < due) {
        const url = opts.urls[clients.length % opts.urls.length];
        clients.push(open(url, onLatency));
      }
      if (clients.length < n) await sleep(Math.max(1, Math.min(20, rampMs / n)));
    }
    await sleep(settle * 1000);

    opts.onWindowStart?.();
    const w0 = performance.now();
    for (const c of clients) c.markStart();
    recording = true;
    await sleep(duration * 1000);
    recording = false;
    for (const c of clients) c.markEnd();
    const windowSeconds = (performance.now() - w0) / 1000;
    opts.onWindowEnd?.();
    const cpu = process.cpuUsage(cpu0);
    return report(opts, n, ramp, windowSeconds, clients, latency, (cpu.user + cpu.system) / 1e6);
  } finally {
    clearInterval(ticker);
    for (const c of clients) c.close();
  }
}

function clampSeconds(s: number): number {
  return Math.min(LIMITS.seconds, Math.max(0, Number.isFinite(s) ? s : 0));
}

function report(
  opts: LoadOptions,
  n: number,
  ramp: number,
  windowSeconds: number,
  clients: ClientCounters[],
  latency: Samples | null,
  cpuSeconds: number,
): LoadReport {
  const refused: Record<string, number> = {};
  const ttfb: number[] = [];
  const head: number[] = [];
  const kbps: number[] = [];
  let connected = 0;
  let early = 0;
  let lagging = 0;
  let held = 0;
  let windowBytes = 0;
  let resyncs = 0;
  const threshold = opts.expectKbps === null ? null : opts.expectKbps * (1 - opts.tolerance);
  for (const c of clients) {
    resyncs += c.resyncs;
    if (c.status !== 200) {
      const key = c.status !== null ? String(c.status) : (c.failure ?? 'no answer');
      refused[key] = (refused[key] ?? 0) + 1;
      continue;
    }
    connected++;
    if (c.headAt !== null) head.push(c.headAt - c.openedAt);
    if (c.firstByteAt !== null) ttfb.push(c.firstByteAt - c.openedAt);
    const bytes = c.windowBytes();
    windowBytes += bytes;
    const rate = (bytes * 8) / windowSeconds / 1000;
    kbps.push(rate);
    const gone = c.closedAt !== null;
    if (gone) early++;
    const slow = threshold !== null && rate < threshold;
    if (slow && !gone) lagging++;
    if (!gone && !slow) held++;
  }
  const refusedTotal = Object.values(refused).reduce((a, b) => a + b, 0);
  const lat: Summary | null = latency ? latency.summary() : null;
  return {
    engine: opts.engine,
    urls: opts.urls,
    clients: n,
    rampSeconds: ramp,
    windowSeconds: round(windowSeconds, 4) ?? 0,
    expectKbps: opts.expectKbps,
    connected,
    refused,
    refusedTotal,
    disconnectedEarly: early,
    lagging: threshold === null ? null : lagging,
    held,
    ttfbMs: roundSummary(summarize(ttfb)),
    responseHeadMs: roundSummary(summarize(head)),
    clientKbps: roundSummary(summarize(kbps), 4),
    aggregateMbps: round((windowBytes * 8) / windowSeconds / 1e6, 4),
    windowBytes,
    latencyMs: lat ? roundSummary(lat) : null,
    latencyResyncs: resyncs,
    loadClientCpuSeconds: round(cpuSeconds),
  };
}

export function formatReport(r: LoadReport): string {
  const s = (x: { p50: number | null; p99: number | null; max: number | null; min?: number | null }, unit: string): string =>
    `p50 ${x.p50 ?? '-'}${unit}  p99 ${x.p99 ?? '-'}${unit}  max ${x.max ?? '-'}${unit}`;
  const refused = Object.entries(r.refused).map(([k, v]) => `${k}: ${v}`).join(', ') || 'none';
  const lines = [
    `${r.clients} clients (${r.engine}) → ${r.urls.join(', ')}`,
    `  connected ${r.connected}   refused ${r.refusedTotal} (${refused})   disconnected early ${r.disconnectedEarly}`,
    `  lagging ${r.lagging ?? 'not judged (no --expect-kbps)'}${r.expectKbps ? ` (below ${r.expectKbps} kbps)` : ''}   held ${r.held}`,
    `  TTFB (first body byte)   ${s(r.ttfbMs, ' ms')}`,
    `  per-client throughput    min ${r.clientKbps.min ?? '-'}  p50 ${r.clientKbps.p50 ?? '-'}  max ${r.clientKbps.max ?? '-'} kbit/s over ${r.windowSeconds} s`,
    `  aggregate throughput     ${r.aggregateMbps ?? '-'} Mbit/s (${(r.windowBytes / 1e6).toFixed(1)} MB in the window)`,
  ];
  if (r.latencyMs) lines.push(`  added latency            ${s(r.latencyMs, ' ms')}  (${r.latencyMs.count} samples)`);
  lines.push(`  load client CPU          ${r.loadClientCpuSeconds ?? '-'} s`);
  return lines.join('\n');
}

function progressLine(p: Progress): string {
  return (
    `\r[${p.phase} ${p.elapsed.toFixed(0)}s] opened ${p.opened} connected ${p.connected} refused ${p.refused} ` +
    `closed ${p.closed} rx ${((p.rxBytesPerSecond * 8) / 1e6).toFixed(1)} Mbit/s   `
  );
}

const USAGE = `usage: load-client --url URL [--url URL…] [-n 100] [--ramp 5] [--settle 2] [--duration 20]
                   [--expect-kbps KBPS] [--tolerance 0.05] [--latency] [--engine net|undici] [--json]`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string', multiple: true },
      clients: { type: 'string', short: 'n', default: '100' },
      ramp: { type: 'string', default: '5' },
      settle: { type: 'string', default: '2' },
      duration: { type: 'string', default: '20' },
      'expect-kbps': { type: 'string' },
      tolerance: { type: 'string', default: '0.05' },
      latency: { type: 'boolean', default: false },
      engine: { type: 'string', default: 'net' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || !values.url) {
    process.stdout.write(`${USAGE}\n`);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const engine = values.engine === 'undici' ? 'undici' : 'net';
  const tty = process.stderr.isTTY && !values.json;
  const result = await runLoad({
    urls: values.url,
    clients: Number(values.clients),
    rampSeconds: Number(values.ramp),
    settleSeconds: Number(values.settle),
    durationSeconds: Number(values.duration),
    expectKbps: values['expect-kbps'] ? Number(values['expect-kbps']) : null,
    tolerance: Number(values.tolerance),
    latency: values.latency,
    engine,
    onProgress: tty ? (p) => process.stderr.write(progressLine(p)) : undefined,
  });
  if (tty) process.stderr.write('\n');
  process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatReport(result)}\n`);
}

// Keep the clock warm-up out of the measurement: the first hrtime call is slower.
monoMs();

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`load-client: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
