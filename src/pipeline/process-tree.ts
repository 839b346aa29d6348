import { readdirSync, readFileSync } from 'node:fs';

/**
 * Process-group and /proc helpers. Every program voyandz runs leads its own
 * process group (spawned detached), so signalling the group reaches whatever
 * the program forked (`sh -c 'a | b'`, ffmpeg helpers), not just its leader.
 */

/**
 * Signal the process group led by `pid`. Returns false when there was nobody
 * left to signal. Never throws: it runs on stop and crash paths where a
 * vanished group is the expected outcome, not an error.
 */
export function killProcessGroup(pid: number, signal: NodeJS.Signals): boolean {
  // kill(-0) or kill(-1) would hit our own group or every process we may signal.
  if (!Number.isInteger(pid) || pid <= 1) return false;
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    // ESRCH: the group is already gone. EPERM: the pid was recycled by a
    // process we may not signal, which is equally not ours to end.
    return false;
  }
}

export interface ProcInfo {
  pid: number;
  ppid: number;
  pgrp: number;
  /** One-letter state from /proc/PID/stat ('R', 'S', 'Z', …). */
  state: string;
}

/** Parse /proc/PID/stat; null when the process is gone (it can vanish while we read). */
export function readProcStat(pid: number): ProcInfo | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // comm may contain spaces and parentheses, so fields are counted from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { pid, state: fields[0] ?? '?', ppid: Number(fields[1]), pgrp: Number(fields[2]) };
}

function allProcs(): ProcInfo[] {
  const list: ProcInfo[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return list;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const info = readProcStat(Number(entry));
    if (info) list.push(info);
  }
  return list;
}

/**
 * Pids of all living descendants of `pid` (children, grandchildren, …).
 * Zombies are left out: they hold no resources but a pid and are gone once
 * their parent reaps them. Orphans reparented to init are no longer
 * descendants, so record the tree while it runs and check those pids later
 * with isProcessAlive() or listProcessGroup().
 */
export function listDescendants(pid: number): number[] {
  const children = new Map<number, ProcInfo[]>();
  for (const info of allProcs()) {
    const list = children.get(info.ppid);
    if (list) list.push(info);
    else children.set(info.ppid, [info]);
  }
  const found: number[] = [];
  const stack = [pid];
  const seen = new Set<number>();
  while (stack.length > 0) {
    const parent = stack.pop() as number;
    if (seen.has(parent)) continue;
    seen.add(parent);
    for (const child of children.get(parent) ?? []) {
      if (child.state !== 'Z') found.push(child.pid);
      stack.push(child.pid);
    }
  }
  return found;
}

/** Living (non-zombie) members of process group `pgid`, whoever their parent is now. */
export function listProcessGroup(pgid: number): number[] {
  return allProcs()
    .filter((info) => info.pgrp === pgid && info.state !== 'Z')
    .map((info) => info.pid);
}

/** True while `pid` exists and is not a zombie. */
export function isProcessAlive(pid: number): boolean {
  const info = readProcStat(pid);
  return info !== null && info.state !== 'Z';
}
