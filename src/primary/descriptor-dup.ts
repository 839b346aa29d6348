/**
 * The one thing the thread worker mode needs from outside Node: a second
 * descriptor of an accepted socket (native/fanout_writer.c's dupCloexec).
 * Worker threads share the process's descriptor table, so the primary hands
 * a client over as that number; Node's own hand-off of a handle works only
 * between processes. `VOYANDZ_NATIVE_DUP=0` makes it unavailable (to test
 * the fall-back to worker processes).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { addonCandidates } from '../fanout/native-writer.js';

export type DupDescriptor = (fd: number) => number;

export type DupChoice = { dup: DupDescriptor; why: string } | { dup: null; why: string };

function dupOf(addon: unknown): DupDescriptor | null {
  if (typeof addon !== 'object' || addon === null) return null;
  const dup = (addon as { dupCloexec?: unknown }).dupCloexec;
  if (typeof dup !== 'function') return null;
  const call = dup as (fd: number) => number;
  return (fd) => call(fd);
}

/** The first addon's dupCloexec that loads; else why none did. */
export function chooseDup(env: NodeJS.ProcessEnv = process.env, paths: readonly string[] = addonCandidates()): DupChoice {
  if (env.VOYANDZ_NATIVE_DUP === '0') return { dup: null, why: 'VOYANDZ_NATIVE_DUP=0' };
  if (process.platform === 'win32') return { dup: null, why: 'no socket descriptors on Windows' };
  const require = createRequire(import.meta.url);
  const failures: string[] = [];
  for (const path of paths) {
    if (!existsSync(path)) {
      failures.push(`${path}: not there`);
      continue;
    }
    try {
      const dup = dupOf(require(path));
      if (dup) return { dup, why: path };
      failures.push(`${path}: an older addon without dupCloexec`);
    } catch (error) {
      failures.push(`${path}: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}`);
    }
  }
  return { dup: null, why: failures.join('; ') };
}
