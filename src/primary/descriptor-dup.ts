/**
 * The one thing the thread worker mode needs from outside Node: a second
 * descriptor of an accepted socket (native/fanout_writer.c's dupCloexec).
 * Worker threads share the process's descriptor table, so the primary hands
 * a client over as that number; Node's own hand-off of a handle works only
 * between processes. `VOYANDZ_NATIVE_DUP=0` makes it unavailable (to test
 * the fall-back to worker processes).
 */
import { addonCandidates, firstAddon } from '../fanout/native-addon.js';

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
  const found = firstAddon(paths, (addon, path): DupChoice | { unusable: string } => {
    const dup = dupOf(addon);
    return dup ? { dup, why: path } : { unusable: 'an older addon without dupCloexec' };
  });
  return 'value' in found ? found.value : { dup: null, why: found.why };
}
