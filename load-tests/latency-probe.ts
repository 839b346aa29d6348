/**
 * Latency probe: how much delay the server adds between a feed program's
 * write() and a client's read(). The stream is latency-feed's raw records
 * (each stamped with CLOCK_MONOTONIC when written) served as a shared
 * stream; each client computes now − stamp as records arrive.
 *
 *   node dist/load-tests/latency-probe.js [-n 1,100,1000] [--duration 10]
 *        [--workers 1] [--rate 50] [--bitrate 2000000] [--json]
 *   node dist/load-tests/latency-probe.js --url http://127.0.0.1:8090/stream/lat …
 *
 * Without --url it starts voyandz itself on a temp config. What is measured
 * includes the load client's own event-loop delay: on a loaded machine
 * that is part of the number, so the client runs in this process alone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { runLoad, type LoadReport } from './load-client.js';
import { LATENCY_FEED, startVoyandz, type ServerUnderTest } from './servers.js';

export interface LatencyRow {
  clients: number;
  connected: number;
  samples: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  lagging: number | null;
}

/** voyandz config body: one raw shared stream written by latency-feed. */
export function latencyStreamYaml(rate: number, bitrate: number, maxLagSeconds = 10): string {
  return `max_lag: ${maxLagSeconds}
streams:
  lat:
    command: ${process.execPath} ${LATENCY_FEED} --rate ${rate} --bitrate ${bitrate}
    mimetype: application/octet-stream
`;
}

function row(r: LoadReport): LatencyRow {
  return {
    clients: r.clients,
    connected: r.connected,
    samples: r.latencyMs?.count ?? 0,
    p50Ms: r.latencyMs?.p50 ?? null,
    p99Ms: r.latencyMs?.p99 ?? null,
    maxMs: r.latencyMs?.max ?? null,
    lagging: r.lagging,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      clients: { type: 'string', short: 'n', default: '1,100,1000' },
      duration: { type: 'string', default: '10' },
      workers: { type: 'string', default: '1' },
      rate: { type: 'string', default: '50' },
      bitrate: { type: 'string', default: '2000000' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write('usage: latency-probe [--url URL] [-n 1,100,1000] [--duration 10] [--workers 1] [--rate 50] [--bitrate 2000000] [--json]\n');
    return;
  }
  const counts = values.clients.split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0);
  const bitrate = Number(values.bitrate);
  let server: ServerUnderTest | null = null;
  const dir = mkdtempSync(join(tmpdir(), 'voyandz-latency-'));
  const stopAll = async (): Promise<void> => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
  try {
    let url = values.url;
    if (!url) {
      server = await startVoyandz({
        dir,
        body: latencyStreamYaml(Number(values.rate), bitrate),
        workers: Number(values.workers),
        readyPath: '/stat.json',
      });
      url = server.url('/stream/lat');
    }
    const rows: LatencyRow[] = [];
    for (const n of counts) {
      const r = await runLoad({
        urls: [url],
        clients: n,
        rampSeconds: Math.min(5, n / 400),
        settleSeconds: 2,
        durationSeconds: Number(values.duration),
        expectKbps: bitrate / 1000,
        tolerance: 0.05,
        latency: true,
        engine: 'net',
      });
      rows.push(row(r));
      if (!values.json) {
        const x = rows[rows.length - 1];
        process.stdout.write(
          `N=${x.clients}: connected ${x.connected}, lagging ${x.lagging}, added latency p50 ${x.p50Ms} ms  p99 ${x.p99Ms} ms  max ${x.maxMs} ms (${x.samples} samples)\n`,
        );
      }
    }
    if (values.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  } finally {
    await stopAll();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`latency-probe: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
