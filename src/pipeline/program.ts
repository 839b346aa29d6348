import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { VoyandzError } from '../errors.js';
import { killProcessGroup } from './process-tree.js';
import { StderrLog } from './stderr-log.js';

export type ProgramKind = 'feed' | 'stream' | 'shot';

export interface ProgramOptions {
  kind: ProgramKind;
  name: string;
  /** argv[0] is looked up on PATH and run without a shell. */
  argv: readonly string[];
  stdin: 'pipe' | 'ignore';
  /** Extra input pipes at fd 3, 4, … (multi-feed streams); see Program.inputs. */
  extraInputs?: number;
  logdir?: string;
  logMaxBytes: number;
  logKeep: number;
  env?: NodeJS.ProcessEnv;
  /** Where a failing stderr log file is reported (once); process warnings otherwise. */
  log?: Logger;
}

export interface ProgramExit {
  /** Exit code, or null when killed by a signal or never started. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** From spawn to the leader's exit; 0 when it never started. */
  ranMs: number;
  stderrTail: string;
  /** Set (ERRORS.PROGRAM_SPAWN) when the program could not be started. */
  error?: VoyandzError;
  /** It ended after stop() was called, i.e. on purpose. */
  stopped: boolean;
}

const STDERR_TAIL_BYTES = 4096;
/**
 * After the leader exits, how long its pipes may stay open. Normally they
 * close at once (the rest of the group is killed with it) and 'exit' waits
 * only for the owner to read the last stdout bytes; this bounds a reader that
 * never finishes or a descendant that escaped the group holding a pipe.
 */
const STDIO_CLOSE_WAIT_MS = 2000;
/**
 * stop() of a program reading a feed closes its input first and gives it this
 * long to end the way it ends at the end of any input (ffmpeg flushes and
 * writes its trailer, in milliseconds) before SIGTERM: signalled in the
 * middle of a read, ffmpeg may take seconds, or need the SIGKILL.
 */
const INPUT_EOF_WAIT_MS = 500;

const live = new Set<Program>();
let exitHookInstalled = false;

/**
 * Last resort for "no program may outlive voyandz": SIGKILL every group
 * still running when this process (or worker thread) exits, however it exits.
 * Synchronous, so it also works inside a process 'exit' handler.
 */
function killAllPrograms(signal: NodeJS.Signals = 'SIGKILL'): number {
  let count = 0;
  for (const program of live) if (program.signal(signal)) count++;
  return count;
}

/** Programs of this process still running, for a stop that ends them in order rather than by the exit hook. */
export function runningPrograms(): Program[] {
  return [...live];
}

function spawnReason(argv0: string | undefined, err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (argv0 === undefined || argv0 === '') return 'empty command';
  if (code === 'ENOENT') return `${argv0}: program not found (ENOENT; is it installed and on PATH?)`;
  if (code === 'EACCES') return `${argv0}: permission denied (EACCES)`;
  return `${argv0}: ${err instanceof Error ? err.message : String(err)}`;
}

function ignoreError(): void {
  // A program closing its input early (EPIPE) or a pipe reset is normal.
}

/**
 * One run of an external program, leading its own process group.
 *
 * stdout is left entirely to the owner: Program never reads it, so the owner
 * decides between flowing mode, pipe() or read() and gets every byte as long
 * as it attaches in the same tick as the constructor. `bytesOut` is the
 * socket's own counter of bytes taken from the pipe, so counting costs nothing.
 *
 * 'exit' fires once, after the leader exited and stdout reached its end (or
 * STDIO_CLOSE_WAIT_MS later), also for a program that could not be spawned;
 * listeners must not throw.
 */
export class Program extends EventEmitter<{ exit: [ProgramExit] }> {
  readonly kind: ProgramKind;
  readonly name: string;
  readonly argv: readonly string[];
  readonly pid: number | undefined;
  readonly startedAt = Date.now();
  readonly stdin: Socket | null;
  readonly stdout: Readable;
  /** Writable ends of the extra input pipes: inputs[0] is the program's fd 3. */
  readonly inputs: readonly Socket[];
  private readonly child: ChildProcess | null;
  private readonly stdoutSocket: Socket | null;
  private readonly logFile: StderrLog | null;
  private tail = Buffer.alloc(0);
  private tailTruncated = false;
  private leaderExit: { code: number | null; signal: NodeJS.Signals | null; at: number } | null = null;
  private result: ProgramExit | null = null;
  private stopRequested = false;
  private termAt = Infinity;
  private termTimer: NodeJS.Timeout | null = null;
  private killAt = Infinity;
  private killTimer: NodeJS.Timeout | null = null;
  private closeTimer: NodeJS.Timeout | null = null;
  private resolveDone: () => void = () => undefined;
  private readonly done = new Promise<void>((resolve) => {
    this.resolveDone = resolve;
  });

  constructor(options: ProgramOptions) {
    super();
    this.kind = options.kind;
    this.name = options.name;
    this.argv = [...options.argv];
    const extra = Math.max(0, Math.floor(options.extraInputs ?? 0));
    const stdio: StdioOptions = [options.stdin, 'pipe', 'pipe', ...Array<'pipe'>(extra).fill('pipe')];
    const file = this.argv.at(0);
    const args = this.argv.slice(1);
    let child: ChildProcess | null = null;
    let syncError: unknown = null;
    if (file === undefined || file === '') {
      syncError = new Error('empty command');
    } else {
      try {
        // detached: the program gets its own session and process group, so
        // stop() reaches everything it forks and a terminal's Ctrl-C does not
        // bypass voyandz's orderly shutdown.
        child = spawn(file, args, { stdio, detached: true, env: options.env ?? process.env });
      } catch (err) {
        syncError = err;
      }
    }
    this.child = child;
    this.pid = child?.pid;
    this.logFile = options.logdir
      ? new StderrLog({
          logdir: options.logdir,
          kind: this.kind,
          name: this.name,
          maxBytes: options.logMaxBytes,
          keep: options.logKeep,
          log: options.log,
        })
      : null;
    this.logFile?.start(this.argv, this.pid);

    const sockets = (child?.stdio ?? []).map((s) => (s instanceof Socket ? s : null));
    for (const s of sockets) s?.on('error', ignoreError);
    this.stdin = options.stdin === 'pipe' ? (sockets[0] ?? null) : null;
    this.stdoutSocket = sockets[1] ?? null;
    this.inputs = sockets.slice(3).filter((s): s is Socket => s !== null);
    if (this.stdoutSocket) {
      this.stdout = this.stdoutSocket;
    } else {
      const empty = new Readable({ read() {} });
      empty.push(null);
      this.stdout = empty;
    }
    child?.stderr?.on('data', (chunk: Buffer) => this.onStderr(chunk));

    if (!child || this.pid === undefined) {
      // Node reports ENOENT & co. asynchronously; a synchronous throw is
      // deferred too, so owners can always attach 'exit' after construction.
      child?.on('error', (err) => this.failSpawn(err));
      if (!child) process.nextTick(() => this.failSpawn(syncError));
      return;
    }
    live.add(this);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', () => killAllPrograms('SIGKILL'));
    }
    child.on('error', ignoreError); // kill() errors; we signal with process.kill instead
    child.once('exit', (code, signal) => this.onLeaderExit(code, signal));
    child.once('close', () => this.finish());
  }

  /** Bytes the program wrote to stdout that reached this process (read from the pipe). */
  get bytesOut(): number {
    return this.stdoutSocket?.bytesRead ?? 0;
  }

  /** The exit, once 'exit' was emitted; null while running. */
  get exited(): ProgramExit | null {
    return this.result;
  }

  /** The last ~4 KiB of stderr, from the first whole line when older output was cut. */
  stderrTail(): string {
    const text = this.tail.toString('utf8');
    if (!this.tailTruncated) return text;
    const nl = text.indexOf('\n');
    return nl >= 0 && nl < text.length - 1 ? text.slice(nl + 1) : text;
  }

  /** Signal the whole process group now; false when there was nothing to signal. */
  signal(sig: NodeJS.Signals): boolean {
    if (this.pid === undefined || this.result) return false;
    return killProcessGroup(this.pid, sig);
  }

  /**
   * Close the program's inputs (stdin, extra pipes), SIGTERM the group if it
   * has not ended INPUT_EOF_WAIT_MS later (at once when it reads nothing
   * from us), SIGKILL it `graceMs` after the SIGTERM; resolves once 'exit'
   * was emitted. Safe to call again (a shorter grace brings both signals
   * forward) and after the exit.
   */
  stop(graceMs = 2000): Promise<void> {
    if (this.result) return this.done;
    const first = !this.stopRequested;
    this.stopRequested = true;
    if (this.pid === undefined) return this.done;
    if (this.leaderExit) {
      this.forceClose();
      return this.done;
    }
    const grace = Math.max(0, graceMs);
    const now = Date.now();
    const reads = this.stdin !== null || this.inputs.length > 0;
    if (first) this.closeInputs();
    const termAt = Math.min(this.termAt, now + (reads ? Math.min(INPUT_EOF_WAIT_MS, grace) : 0));
    const pid = this.pid;
    if (termAt < this.termAt) {
      this.termAt = termAt;
      if (this.termTimer) clearTimeout(this.termTimer);
      this.termTimer = null;
      if (termAt <= now) killProcessGroup(pid, 'SIGTERM');
      else this.termTimer = setTimeout(() => killProcessGroup(pid, 'SIGTERM'), termAt - now);
    }
    const killAt = this.termAt + grace;
    if (killAt < this.killAt) {
      this.killAt = killAt;
      if (this.killTimer) clearTimeout(this.killTimer);
      this.killTimer = setTimeout(() => killProcessGroup(pid, 'SIGKILL'), Math.max(0, killAt - now));
    }
    return this.done;
  }

  /** End of input, as at the end of a file: pending bytes are still delivered. */
  private closeInputs(): void {
    this.stdin?.end();
    for (const pipe of this.inputs) pipe.end();
  }

  private onStderr(chunk: Buffer): void {
    this.logFile?.write(chunk);
    if (chunk.length >= STDERR_TAIL_BYTES) {
      // Copy: a slice would keep the whole (up to 64 KiB) read buffer alive.
      this.tail = Buffer.from(chunk.subarray(chunk.length - STDERR_TAIL_BYTES));
      this.tailTruncated = true;
      return;
    }
    const joined = Buffer.concat([this.tail, chunk]);
    if (joined.length > STDERR_TAIL_BYTES) {
      this.tail = joined.subarray(joined.length - STDERR_TAIL_BYTES);
      this.tailTruncated = true;
    } else {
      this.tail = joined;
    }
  }

  private onLeaderExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.leaderExit = { code, signal, at: Date.now() };
    if (this.termTimer) clearTimeout(this.termTimer);
    this.termTimer = null;
    if (this.killTimer) clearTimeout(this.killTimer);
    this.killTimer = null;
    // Whatever the leader left behind in its group is orphaned and may hold
    // our pipes open; it must not outlive the program it belonged to.
    if (this.pid !== undefined) killProcessGroup(this.pid, 'SIGKILL');
    if (this.stopRequested) this.forceClose();
    else this.closeTimer = setTimeout(() => this.forceClose(), STDIO_CLOSE_WAIT_MS);
  }

  private forceClose(): void {
    for (const s of this.child?.stdio ?? []) s?.destroy();
    this.finish();
  }

  private failSpawn(err: unknown): void {
    if (this.result) return;
    const error = new VoyandzError('PROGRAM_SPAWN', `${this.kind} ${this.name}`, spawnReason(this.argv[0], err));
    this.onStderr(Buffer.from(`${error.message}\n`));
    this.logFile?.note(`${error.code}: ${error.message}`);
    for (const s of this.child?.stdio ?? []) s?.destroy();
    this.leaderExit = { code: null, signal: null, at: this.startedAt };
    this.finish(error);
  }

  private finish(error?: VoyandzError): void {
    if (this.result || !this.leaderExit) return;
    if (this.closeTimer) clearTimeout(this.closeTimer);
    this.closeTimer = null;
    live.delete(this);
    // Nothing more will be read from these; pending writes would only fail.
    this.stdin?.destroy();
    for (const s of this.inputs) s.destroy();
    const { code, signal, at } = this.leaderExit;
    const result: ProgramExit = {
      code,
      signal,
      ranMs: Math.max(0, at - this.startedAt),
      stderrTail: this.stderrTail(),
      stopped: this.stopRequested,
    };
    if (error) result.error = error;
    this.result = result;
    if (!error) {
      const how = signal ? `killed by ${signal}` : `exit code ${code}`;
      this.logFile?.note(`${how} after ${result.ranMs} ms${this.stopRequested ? ' (stopped)' : ''}`);
    }
    this.logFile?.close();
    this.resolveDone();
    this.emit('exit', result);
  }
}
