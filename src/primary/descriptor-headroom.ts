/**
 * With worker threads the primary, the workers and the workers' programs
 * share one descriptor table. The primary accepts as fast as clients come,
 * and a flood of them would fill it: then no hand-off could copy a
 * descriptor, no worker could open a program's pipes, and no page (not even
 * /metrics) could be answered until clients leave. So the primary keeps the
 * top of the table free:
 *
 *   0 ── served ── limit − headroom ── refused (503) ── limit − headroom/2 ── closed at once ── limit
 *
 * A new descriptor is the lowest free number (POSIX), so an accepted
 * socket's number is a lower bound of how many are open, and costs nothing
 * to read. A connection accepted above the upper line is closed at once,
 * before it can hold its descriptor for a head (as libuv does at the limit
 * itself); a stream client accepted above the lower line is refused (503
 * ERRORS.DESCRIPTORS_LOW) once its head is read, and pages are still
 * answered. Handing a client to a thread takes no descriptor beyond its
 * own (worker-link.ts copies it onto a spare, which then takes the socket's
 * number), so the clients served stay below the lower line, and the upper
 * half of the headroom stays free for programs and peer links. (Worker processes have tables of their own; a primary
 * that fills its table there pauses accepting, see accept-guard.ts.)
 */
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';

/** The soft limit of open files (Linux: /proc/self/limits); null where it cannot be read. */
export function openFilesLimit(limits = '/proc/self/limits'): number | null {
  try {
    const line = readFileSync(limits, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
    return soft === undefined || soft === 'unlimited' ? null : Number(soft);
  } catch {
    return null;
  }
}

/**
 * Half of it is enough for a few hand-offs and program starts (three pipes
 * each) at once while the table is otherwise full; a sixteenth of a big table.
 */
export function headroomOf(limit: number): number {
  return Math.min(512, Math.max(32, Math.ceil(limit / 16)));
}

interface DescriptorHandle {
  fd?: number;
}

export class DescriptorHeadroom {
  private readonly refuseFrom: number;
  private readonly closeFrom: number;

  constructor(readonly limit: number) {
    const headroom = headroomOf(limit);
    this.refuseFrom = limit - headroom;
    this.closeFrom = limit - headroom / 2;
  }

  /** A stream client on this socket is to be refused. */
  low(socket: Socket): boolean {
    return descriptorOf(socket) >= this.refuseFrom;
  }

  /** This connection is to be closed at once. */
  exhausted(socket: Socket): boolean {
    return descriptorOf(socket) >= this.closeFrom;
  }
}

function descriptorOf(socket: Socket): number {
  return (socket as unknown as { _handle?: DescriptorHandle | null })._handle?.fd ?? -1;
}
