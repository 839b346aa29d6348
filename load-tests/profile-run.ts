/**
 * Where a worker's CPU goes under the steady fan-out load: voyandz with one
 * worker under `node --cpu-prof` (forked workers inherit the flag), the
 * same source, C load client and timeline as the fan-out rows, then the
 * samples of the worker's profile taken in the steady window summarized
 * (cpu-profile.ts). Part `profile` of `npm run bench`.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { summarizeProfile, type ProfileSummary, type ProfileWindow } from './cpu-profile.js';
import { loopArgs, type Media } from './media.js';
import { openNetClient } from './net-client.js';
import { cmdline, processTree } from './proc.js';
import type { Instruments } from './reference.js';
import { startVoyandz } from './servers.js';
import { runStreamload } from './streamload-run.js';

export type ProfiledWriter = 'io_uring' | 'send' | 'js';

export interface ProfileRow extends ProfileSummary {
  clients: number;
  /** The fan-out writer the worker ran (VOYANDZ_NATIVE_WRITER): native with io_uring, native with send(), or Node's writes. */
  writer: ProfiledWriter;
}

/** The steady window alone is summarized: the same ramp, settle and window as a fan-out row. */
export async function profileRow(
  tools: Instruments,
  media: Media,
  dir: string,
  clients: number,
  timing: { rampSeconds: number; settleSeconds: number; windowSeconds: number },
  writer: ProfiledWriter,
): Promise<ProfileRow | null> {
  const { rampSeconds, settleSeconds, windowSeconds } = timing;
  const profDir = join(dir, `prof-${writer}`);
  mkdirSync(profDir, { recursive: true });
  const ts = loopArgs(media, true, ['-f', 'mpegts', '-']).join(' ');
  const server = await startVoyandz({
    dir,
    workers: 1,
    readyPath: '/stat.json',
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`],
    // A worker process of its own: its profile is a file of its own (found by its pid).
    body: `worker_mode: process\nmax_lag: 10\nstreams:\n  ts:\n    command: ${ts}\n    mimetype: video/mp2t\n`,
    env: { VOYANDZ_NATIVE_WRITER: writer === 'js' ? '0' : writer },
  });
  let workers: number[] = [];
  const keeper = openNetClient(server.url('/stream/ts'), null);
  // V8 stamps samples with CLOCK_MONOTONIC in µs, the clock of process.hrtime() here too.
  const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);
  const window: ProfileWindow = { fromUs: 0, toUs: 0 };
  try {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await runStreamload(tools.streamload, {
      url: server.url('/stream/ts'),
      clients,
      rampMs: rampSeconds * 1000,
      durationSeconds: rampSeconds + settleSeconds + windowSeconds + 0.5,
      expectBps: null,
      marks: [
        { at: rampSeconds + settleSeconds, run: () => (window.fromUs = nowUs()) },
        { at: rampSeconds + settleSeconds + windowSeconds, run: () => (window.toUs = nowUs()) },
      ],
    });
    workers = processTree([server.pid]).filter((pid) => /stream-worker/.test(cmdline(pid)));
  } finally {
    keeper.close();
    await server.stop(); // profiles are written as the processes exit
  }
  const file = readdirSync(profDir).find((f) => workers.some((pid) => f.includes(`.${pid}.`)));
  return file === undefined ? null : { ...summarizeProfile(join(profDir, file), 15, window), clients, writer };
}
