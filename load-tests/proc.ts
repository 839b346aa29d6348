/**
 * What tests and benchmarks read from /proc: which processes exist (by
 * parent, process group or command line) and what a server under test costs
 * (CPU ticks and resident memory of a set of roots and all their
 * descendants: workers, ffmpeg, …). Test and bench code only: the server
 * itself never reads /proc.
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
  pid: number;
  ppid: number;
  pgrp: number;
  /** One-letter state ('R', 'S', 'Z', …). */
  state: string;
  utime: number;
  stime: number;
}

function readStat(pid: number, tid: number | null = null): ProcStat | null {
  try {
    const stat = readFileSync(tid === null ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'latin1');
    // Fields after the command name, which may hold spaces and parentheses.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, state: f[0] ?? '?', ppid: Number(f[1]), pgrp: Number(f[2]), utime: Number(f[11]), stime: Number(f[12]) };
  } catch {
    return null; // it ended while we looked
  }
}

function allStats(): ProcStat[] {
  const list: ProcStat[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const st = readStat(Number(entry));
    if (st) list.push(st);
  }
  return list;
}

/** True while `pid` exists and is not a zombie. */
export function isProcessAlive(pid: number): boolean {
  const st = readStat(pid);
  return st !== null && st.state !== 'Z';
}

/**
 * Pids of all living descendants of `pid`. Orphans reparented to init are no
 * longer descendants: record the tree while it runs and check those pids
 * later with isProcessAlive() or listProcessGroup().
 */
export function listDescendants(pid: number): number[] {
  const living = new Set(allStats().filter((st) => st.state !== 'Z').map((st) => st.pid));
  return processTree([pid]).filter((p) => p !== pid && living.has(p));
}

/** Living (non-zombie) members of process group `pgid`, whoever their parent is now. */
export function listProcessGroup(pgid: number): number[] {
  return allStats()
    .filter((st) => st.pgrp === pgid && st.state !== 'Z')
    .map((st) => st.pid);
}

/** Pids of live processes whose command line contains `token` (zombies excluded). */
export function pidsWithToken(token: string): number[] {
  return allStats()
    .filter((st) => st.state !== 'Z' && cmdline(st.pid).includes(token))
    .map((st) => st.pid);
}

/** The roots and every live descendant. */
export function processTree(roots: readonly number[]): number[] {
  const children = new Map<number, number[]>();
  for (const st of allStats()) {
    const list = children.get(st.ppid);
    if (list) list.push(st.pid);
    else children.set(st.ppid, [st.pid]);
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
  /** Of each root: its main thread alone (task tid = pid), [user s, system s]. */
  readonly mainThread: Map<number, [number, number]>;
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
function serverTree(roots: readonly number[], exclude: RegExp | null): number[] {
  const all = processTree(roots);
  return exclude ? all.filter((pid) => roots.includes(pid) || !exclude.test(cmdline(pid))) : all;
}

export function cpuSnapshot(roots: readonly number[], exclude: RegExp | null = null): CpuSnapshot {
  const perPid = new Map<number, [number, number]>();
  for (const pid of serverTree(roots, exclude)) {
    const st = readStat(pid);
    if (st) perPid.set(pid, [st.utime / CLK_TCK, st.stime / CLK_TCK]);
  }
  const mainThread = new Map<number, [number, number]>();
  for (const pid of roots) {
    const st = readStat(pid, pid);
    if (st) mainThread.set(pid, [st.utime / CLK_TCK, st.stime / CLK_TCK]);
  }
  return { perPid, mainThread };
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

/** Resident memory of one process in bytes; 0 when it is gone. */
export function rssOf(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * Proportional set size of one process in bytes (shared pages split between
 * the processes that map them, e.g. the node binary's text); 0 when gone.
 */
export function pssOf(pid: number): number {
  try {
    const match = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Resident memory of the roots and their descendants, in bytes. */
export function treeRss(roots: readonly number[], exclude: RegExp | null = null): number {
  let total = 0;
  for (const pid of serverTree(roots, exclude)) total += rssOf(pid);
  return total;
}

/**
 * Bytes the kernel has had acknowledged on every established TCP socket
 * whose local port is `port` (a server's accepted connections), from `ss`:
 * the same count for any server, whatever it reports itself, and exact for
 * a window (a client's join burst falls where it happens). Sockets closed
 * in between drop out, so windows should have none.
 */
export function bytesAckedOnPort(port: number): number {
  const out = execFileSync('ss', ['-tinH', 'state', 'established', `( sport = :${port} )`], { encoding: 'latin1', maxBuffer: 64 * 1024 * 1024, timeout: 10_000 });
  let total = 0;
  for (const m of out.matchAll(/bytes_acked:(\d+)/g)) total += Number(m[1]);
  return total;
}
