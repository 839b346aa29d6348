/**
 * What the thread worker mode needs from outside Node, all from
 * native/fanout_writer.c's addon:
 * - `dup`: a second descriptor of an accepted socket (dupCloexec). Worker
 *   threads share the process's descriptor table, so the primary hands a
 *   client over as that number; Node's own hand-off of a handle works only
 *   between processes.
 * - `dupTo`: the same copy onto a given number (dup3), the primary's spare
 *   descriptor: a hand-off then needs no free descriptor (worker-link.ts).
 * - `reapChild`: waitpid of one program of a thread that died. libuv waits
 *   only for the children its own loop spawned, and that loop is gone.
 *
 * `VOYANDZ_NATIVE_DUP=0` makes them unavailable (to test the fall-back to
 * worker processes).
 */
import { addonCandidates, firstAddon } from '../fanout/native-addon.js';

export interface ThreadNatives {
  readonly dup: (fd: number) => number;
  /** dup3(fd, target, O_CLOEXEC): `target` is replaced by the copy. */
  readonly dupTo: (fd: number, target: number) => number;
  /** True once `pid` is no longer a child to wait for (reaped now or before), false while it runs. */
  readonly reapChild: (pid: number) => boolean;
}

export type ThreadNativesChoice = { natives: ThreadNatives; why: string } | { natives: null; why: string };

function nativesOf(addon: unknown): ThreadNatives | null {
  if (typeof addon !== 'object' || addon === null) return null;
  const { dupCloexec, dupCloexecTo, reapChild } = addon as { dupCloexec?: unknown; dupCloexecTo?: unknown; reapChild?: unknown };
  if (typeof dupCloexec !== 'function' || typeof dupCloexecTo !== 'function' || typeof reapChild !== 'function') return null;
  const dup = dupCloexec as (fd: number) => number;
  const dupTo = dupCloexecTo as (fd: number, target: number) => number;
  const reap = reapChild as (pid: number) => boolean;
  return { dup: (fd) => dup(fd), dupTo: (fd, target) => dupTo(fd, target), reapChild: (pid) => reap(pid) };
}

/** The first addon that has all three; else why none did. */
export function chooseThreadNatives(env: NodeJS.ProcessEnv = process.env, paths: readonly string[] = addonCandidates()): ThreadNativesChoice {
  if (env.VOYANDZ_NATIVE_DUP === '0') return { natives: null, why: 'VOYANDZ_NATIVE_DUP=0' };
  if (process.platform === 'win32') return { natives: null, why: 'no socket descriptors on Windows' };
  const found = firstAddon(paths, (addon, path): ThreadNativesChoice | { unusable: string } => {
    const natives = nativesOf(addon);
    return natives ? { natives, why: path } : { unusable: 'an older addon without dupCloexec, dupCloexecTo and reapChild' };
  });
  return 'value' in found ? found.value : { natives: null, why: found.why };
}
