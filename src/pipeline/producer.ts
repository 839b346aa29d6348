import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { ProgramExit } from './program.js';

/**
 * One run of what writes a Source's bytes: a program's process (Program) or
 * an HTTP pull (Pull). The Source owns what is the same for both — demand,
 * modes, restarts with back-off, the fan-out, the stall watchdog, the first
 * byte clients wait for — and each producer owns its own life: it never
 * throws, and emits exactly one 'exit' (also when it could not start).
 */
export interface Producer {
  /** The process group leader; undefined for a pull, or a program that could not start. */
  readonly pid: number | undefined;
  /** ms epoch. */
  readonly startedAt: number;
  /** Its bytes; the owner attaches in the same tick as the constructor. */
  readonly stdout: Readable;
  /** Bytes it produced that reached this process. */
  readonly bytesOut: number;
  /** Where the feeds it reads are written (a program's stdin and pipes; a pull reads none). */
  readonly stdin: Socket | null;
  readonly inputs: readonly Socket[];
  /** The last few KiB of what it said about itself: a program's stderr, a pull's errors. */
  stderrTail(): string;
  /** Ends it (a grace period for a program); resolves once 'exit' was emitted. */
  stop(graceMs?: number): Promise<void>;
  once(event: 'exit', listener: (exit: ProgramExit) => void): this;
}
