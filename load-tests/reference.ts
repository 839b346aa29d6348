/**
 * The reference instruments of ../shared/bench (next to the checkout):
 * `fanout_ref.c`, the C ceiling (one thread, epoll, one shared ring), and
 * `streamload.c`, an epoll load client that discards body bytes in the
 * kernel. Built with `cc -O2` into the bench's temp dir; when `cc` or the
 * folder is missing the bench says so and has no ceiling to compare with.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, listening } from './loopback.js';
import type { ServerUnderTest } from './servers.js';

/** dist/load-tests → the checkout → its parent's shared/bench. */
const SHARED_BENCH = fileURLToPath(new URL('../../../shared/bench/', import.meta.url));

export interface Instruments {
  fanoutRef: string;
  streamload: string;
}

/** Builds both instruments into `dir`; a string says why they are not there. */
export function buildInstruments(dir: string): Instruments | string {
  const sources = { fanoutRef: join(SHARED_BENCH, 'fanout_ref.c'), streamload: join(SHARED_BENCH, 'streamload.c') };
  for (const file of Object.values(sources)) {
    if (!existsSync(file)) return `${file} not found: no C ceiling, no C load client`;
  }
  const out: Instruments = { fanoutRef: join(dir, 'fanout_ref'), streamload: join(dir, 'streamload') };
  for (const key of ['fanoutRef', 'streamload'] as const) {
    const r = spawnSync('cc', ['-O2', '-o', out[key], sources[key]], { encoding: 'utf8', timeout: 60_000 });
    if (r.error) return `cc not usable (${r.error.message}): no C ceiling, no C load client`;
    if (r.status !== 0) return `cc -O2 ${sources[key]} failed: ${(r.stderr || '').split('\n')[0]}`;
  }
  return out;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

/**
 * `SOURCE | fanout_ref PORT`: the source's stdout piped into the ceiling.
 * Only fanout_ref's own process is the server; the source is left out, as
 * voyandz's programs are.
 */
export async function startCeiling(bin: string, source: readonly string[], contentType: string): Promise<ServerUnderTest> {
  const port = await freePort();
  const src = spawn(source[0], source.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] });
  const ref = spawn(bin, [String(port), '--content-type', contentType], { stdio: [src.stdout, 'ignore', 'pipe'] });
  let log = '';
  ref.stderr.setEncoding('utf8').on('data', (t: string) => (log = (log + t).slice(-2000)));
  const stop = async (): Promise<void> => {
    await stopChild(src);
    await stopChild(ref);
  };
  // Ready when it answers; fanout_ref accepts as soon as it listens.
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (ref.exitCode !== null) {
      await stop();
      throw new Error(`fanout_ref exited: ${log}`);
    }
    if (await listening(port)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`fanout_ref did not listen on ${port}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { name: 'ceiling', port, pid: ref.pid as number, helpers: [src], url: (path) => `http://127.0.0.1:${port}${path}`, stop };
}
