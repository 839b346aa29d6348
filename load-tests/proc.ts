/**
 * What the server under test costs, read from /proc: CPU (user and system
 * ticks) and resident memory of a set of root processes and all their
 * descendants (workers, ffmpeg, …).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const CLK_TCK = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

interface ProcStat {
  ppid: number;
  utime: number;
  stime: number;
}

function readStat(pid: number): ProcStat | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Fields after the command name, which may hold spaces and parentheses.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), utime: Number(f[11]), stime: Number(f[12]) };
  } catch {
    return null; // it ended while we looked
  }
}

/** The roots and every live descendant. */
export function processTree(roots: readonly number[]): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const st = readStat(Number(entry));
    if (!st) continue;
    const list = children.get(st.ppid);
    if (list) list.push(Number(entry));
    else children.set(st.ppid, [Number(entry)]);
  }
  const out: number[] = [];
  const stack = [...roots];
  const seen = new Set<number>();
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    if (seen.has(pid)) continue;
    seen.add(pid);
    out.push(pid);
    for (const c of children.get(pid) ?? []) stack.push(c);
  }
  return out;
}

export interface CpuSnapshot {
  /** pid → [user s, system s] */
  readonly perPid: Map<number, [number, number]>;
}

/** Command line of a process, arguments joined by spaces; '' when it is gone. */
export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/**
 * The tree minus processes whose command line matches `exclude`: the bench
 * leaves out the source programs (ffmpeg, latency-feed) a voyandz config
 * runs, since Icecast's sources run outside its tree.
 */
export function serverTree(roots: readonly number[], exclude: RegExp | null): number[] {
  const all = processTree(roots);
  return exclude ? all.filter((pid) => roots.includes(pid) || !exclude.test(cmdline(pid))) : all;
}

export function cpuSnapshot(roots: readonly number[], exclude: RegExp | null = null): CpuSnapshot {
  const perPid = new Map<number, [number, number]>();
  for (const pid of serverTree(roots, exclude)) {
    const st = readStat(pid);
    if (st) perPid.set(pid, [st.utime / CLK_TCK, st.stime / CLK_TCK]);
  }
  return { perPid };
}

/**
 * CPU seconds spent between two snapshots by the processes alive at the
 * second one (a process born in between counts from zero). Processes that
 * ended in between are lost; the bench keeps its servers steady in the window.
 */
export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot): { user: number; system: number; total: number } {
  let user = 0;
  let system = 0;
  for (const [pid, [u, s]] of b.perPid) {
    const before = a.perPid.get(pid) ?? [0, 0];
    user += Math.max(0, u - before[0]);
    system += Math.max(0, s - before[1]);
  }
  return { user, system, total: user + system };
}

/** Resident memory of the roots and their descendants, in bytes. */
export function treeRss(roots: readonly number[], exclude: RegExp | null = null): number {
  let total = 0;
  for (const pid of serverTree(roots, exclude)) {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
      if (match) total += Number(match[1]) * 1024;
    } catch {
      // gone
    }
  }
  return total;
}
