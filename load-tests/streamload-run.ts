/**
 * One run of the C load client (reference.ts) against one URL, with hooks
 * at fixed times of its timeline so the bench can sample the server's CPU
 * there. streamload's own "steady" rate is measured while every client is
 * connected ([ramp, duration] from its start); the bench's windows lie
 * inside that span, so bytes in a window = steady rate × window length.
 */
import { spawn } from 'node:child_process';

export interface StreamloadOptions {
  url: string;
  clients: number;
  rampMs: number;
  /** Each client reads this long from its own connect. */
  durationSeconds: number;
  expectBps: number | null;
  /** Called this many seconds after the client started. */
  marks: { at: number; run: () => void }[];
}

export interface StreamloadReport {
  clients: number;
  succeeded: number;
  failed: number;
  closedEarly: number;
  /** Below 90 % of the expected rate over the client's life (connect → end), so a late first byte counts. */
  lagging: number;
  /** The same, counted from the client's first body byte: slow to start but then at rate is not in it. */
  laggingAfterFirstByte: number;
  /** Connected, not closed early, not lagging. */
  held: number;
  ttfbP50Ms: number;
  ttfbP99Ms: number;
  /** Aggregate body rate while every client was connected, bytes/s. */
  steadyBytesPerSecond: number;
  clientCpuSeconds: number;
}

interface StreamloadJson {
  clients: number;
  succeeded: number;
  failed: number;
  closed_early: number;
  lagging: number;
  lagging_after_first_byte: number;
  ttfb_ms: { p50: number; p99: number };
  steady_aggregate_bps: number;
  client_cpu_s: number;
}

export function runStreamload(bin: string, opts: StreamloadOptions): Promise<StreamloadReport> {
  const args = ['--url', opts.url, '--clients', String(opts.clients), '--duration', String(opts.durationSeconds), '--ramp-ms', String(opts.rampMs), '--json'];
  if (opts.expectBps !== null) args.push('--expect-bitrate', String(opts.expectBps));
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const timers = opts.marks.map((m) => setTimeout(m.run, m.at * 1000));
    // streamload ends by itself after ramp + duration (+5 s grace at most).
    const guard = setTimeout(() => child.kill('SIGKILL'), (opts.rampMs / 1000 + opts.durationSeconds + 30) * 1000);
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (out += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (err = (err + t).slice(-2000)));
    child.on('error', reject);
    child.on('exit', () => {
      clearTimeout(guard);
      for (const t of timers) clearTimeout(t);
      try {
        const j = JSON.parse(out) as StreamloadJson;
        resolve({
          clients: j.clients,
          succeeded: j.succeeded,
          failed: j.failed,
          closedEarly: j.closed_early,
          lagging: j.lagging,
          laggingAfterFirstByte: j.lagging_after_first_byte,
          held: j.succeeded - j.closed_early - j.lagging,
          ttfbP50Ms: j.ttfb_ms.p50,
          ttfbP99Ms: j.ttfb_ms.p99,
          steadyBytesPerSecond: j.steady_aggregate_bps / 8,
          clientCpuSeconds: j.client_cpu_s,
        });
      } catch {
        reject(new Error(`streamload gave no report: ${err.trim() || out.slice(0, 200)}`));
      }
    });
  });
}
