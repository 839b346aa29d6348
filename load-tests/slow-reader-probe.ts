/**
 * Slow-reader probe: K clients connect and then never read again, next to
 * M clients reading normally. Reports when the server dropped the stalled
 * ones (its voyandz_clients_dropped_total counter), whether the readers
 * kept their rate meanwhile, and the server's RSS along the way.
 *
 *   node dist/load-tests/slow-reader-probe.js [-k 10] [-m 100] [--max-lag 3]
 *        [--duration 40] [--workers 1] [--bitrate 2000000] [--json]
 *
 * It starts voyandz itself (it needs the server's PID for RSS, and its
 * max_lag); a stalled client is dropped once the kernel buffers between
 * it and the server are full (a few MB on loopback) and then max_lag more
 * stream time has passed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { runLoad, type LoadReport } from './load-client.js';
import { latencyStreamYaml } from './latency-probe.js';
import { treeRss } from './proc.js';
import { startVoyandz, type ServerUnderTest } from './servers.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const SOURCES = /latency-feed|ffmpeg/;

export interface SlowReaderReport {
  stalled: number;
  readers: number;
  maxLagSeconds: number;
  /** Stalled clients the server dropped for lag by the end, and seconds from their connection to when the counter showed it. */
  dropped: number;
  droppedAfterSeconds: { first: number | null; last: number | null };
  readersReport: LoadReport;
  rssMB: { before: number; peak: number; end: number };
}

/** A client that sends its request and then stops reading: the socket's buffers fill and stay full. */
function stalledClient(url: URL): Socket {
  const socket = connect({ host: url.hostname, port: Number(url.port) });
  socket.on('error', () => undefined); // the server's reset is the expected outcome
  socket.write(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`);
  socket.once('data', () => socket.pause());
  return socket;
}

/** Sum of a counter over its label sets in Prometheus text. */
async function metricSum(base: string, name: string): Promise<number> {
  const res = await fetch(`${base}/metrics`);
  const text = await res.text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
  }
  return sum;
}

export async function runSlowReaderProbe(opts: {
  stalled: number;
  readers: number;
  maxLagSeconds: number;
  durationSeconds: number;
  workers: number;
  bitrate: number;
}): Promise<SlowReaderReport> {
  const dir = mkdtempSync(join(tmpdir(), 'voyandz-slow-'));
  let server: ServerUnderTest | null = null;
  const stalled: Socket[] = [];
  try {
    server = await startVoyandz({
      dir,
      body: latencyStreamYaml(50, opts.bitrate, opts.maxLagSeconds),
      workers: opts.workers,
      readyPath: '/stat.json',
    });
    const url = server.url('/stream/lat');
    const base = server.url('');
    const pid = server.pid;
    const rssBefore = treeRss([pid], SOURCES);
    let peak = rssBefore;
    let dropped = 0;
    let firstDrop: number | null = null;
    let lastDrop: number | null = null;
    const dropped0 = await metricSum(base, 'voyandz_clients_dropped_total');

    // Readers first, so the stalled ones join a running stream.
    const readers = runLoad({
      urls: [url],
      clients: opts.readers,
      rampSeconds: 1,
      settleSeconds: 1,
      durationSeconds: opts.durationSeconds,
      expectKbps: opts.bitrate / 1000,
      tolerance: 0.05,
      latency: true,
      engine: 'net',
    });
    await sleep(1500);
    const t0 = performance.now();
    for (let i = 0; i < opts.stalled; i++) stalled.push(stalledClient(new URL(url)));
    // Poll once a second until the readers' window is over (bounded by it).
    const window = { finished: false };
    void readers.finally(() => {
      window.finished = true;
    });
    for (let i = 0; i < opts.durationSeconds + 10 && !window.finished; i++) {
      await sleep(1000);
      peak = Math.max(peak, treeRss([pid], SOURCES));
      const d = (await metricSum(base, 'voyandz_clients_dropped_total')) - dropped0;
      if (d > dropped) {
        const at = (performance.now() - t0) / 1000;
        firstDrop ??= at;
        lastDrop = at;
        dropped = d;
      }
    }
    const readersReport = await readers;
    const rssEnd = treeRss([pid], SOURCES);
    const mb = (b: number): number => Math.round(b / 1e5) / 10;
    return {
      stalled: opts.stalled,
      readers: opts.readers,
      maxLagSeconds: opts.maxLagSeconds,
      dropped,
      droppedAfterSeconds: { first: firstDrop, last: lastDrop },
      readersReport,
      rssMB: { before: mb(rssBefore), peak: mb(peak), end: mb(rssEnd) },
    };
  } finally {
    for (const s of stalled) s.destroy();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatSlowReader(r: SlowReaderReport): string {
  const rr = r.readersReport;
  return [
    `${r.stalled} stalled clients next to ${r.readers} readers, max_lag ${r.maxLagSeconds} s`,
    `  stalled clients dropped for lag: ${r.dropped}/${r.stalled}` +
      (r.dropped ? ` (first after ${r.droppedAfterSeconds.first?.toFixed(0)} s, last after ${r.droppedAfterSeconds.last?.toFixed(0)} s)` : ''),
    `  readers: connected ${rr.connected}, lagging ${rr.lagging}, disconnected early ${rr.disconnectedEarly}, ` +
      `rate min ${rr.clientKbps.min} p50 ${rr.clientKbps.p50} kbit/s, added latency p99 ${rr.latencyMs?.p99 ?? '-'} ms max ${rr.latencyMs?.max ?? '-'} ms`,
    `  server RSS (without its feed program): before ${r.rssMB.before} MB, peak ${r.rssMB.peak} MB, end ${r.rssMB.end} MB`,
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      stalled: { type: 'string', short: 'k', default: '10' },
      readers: { type: 'string', short: 'm', default: '100' },
      'max-lag': { type: 'string', default: '3' },
      duration: { type: 'string', default: '40' },
      workers: { type: 'string', default: '1' },
      bitrate: { type: 'string', default: '2000000' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write('usage: slow-reader-probe [-k 10] [-m 100] [--max-lag 3] [--duration 40] [--workers 1] [--bitrate 2000000] [--json]\n');
    return;
  }
  const r = await runSlowReaderProbe({
    stalled: Math.min(1000, Number(values.stalled)),
    readers: Math.min(5000, Number(values.readers)),
    maxLagSeconds: Number(values['max-lag']),
    durationSeconds: Math.min(300, Number(values.duration)),
    workers: Number(values.workers),
    bitrate: Number(values.bitrate),
  });
  process.stdout.write(values.json ? `${JSON.stringify(r, null, 2)}\n` : `${formatSlowReader(r)}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`slow-reader-probe: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
