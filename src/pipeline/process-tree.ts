/**
 * Process-group signalling. Every program voyandz runs leads its own
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
