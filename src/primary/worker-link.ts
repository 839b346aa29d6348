/**
 * How the primary talks to one worker, whichever it is: a forked process
 * (Node IPC, the client's socket passed as a handle) or a thread of this
 * process (postMessage, the client passed as a descriptor number: threads
 * share the descriptor table). WorkerPool has one code path over both.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import type { PrimaryToWorker, WorkerToPrimary } from '../cluster/messages.js';
import type { ThreadNatives } from './thread-natives.js';

export type WorkerMode = 'process' | 'thread';

/**
 * V8 grows a busy isolate's young generation to 2 × 16 MB and keeps it: a
 * worker's fan-out garbage is short-lived and small (the ring's chunks are
 * shared), so 2 × 4 MB scavenges it as well. Measured with 6000 clients on
 * one worker process: 114 → 93 MB RSS, CPU per GB within the bench's
 * run-to-run spread. An operator's own --max-semi-space-size given to the
 * primary wins.
 */
const WORKER_SEMI_SPACE_MB = 4;
const workerExecArgv = (): string[] =>
  process.execArgv.some((arg) => arg.startsWith('--max-semi-space-size'))
    ? process.execArgv
    : [...process.execArgv, `--max-semi-space-size=${WORKER_SEMI_SPACE_MB}`];
/** A thread's young generation is its two semi-spaces and a new large-object space of the same size (V8's sizing). */
const THREAD_YOUNG_GENERATION_MB = 3 * WORKER_SEMI_SPACE_MB;

/** A client message without its connection, which each link attaches its own way. */
type ClientMessage = Extract<PrimaryToWorker, { type: 'client' }>;

/**
 * The primary's hold on a client's connection while it is on its way to a
 * worker (until the worker acknowledges it), or while no worker has it.
 */
export interface HandedClient {
  /** False once the connection was closed here. */
  readonly open: boolean;
  /** The worker acknowledged it: the primary lets go of its copy. */
  received(): void;
  /** No worker will have it: close the connection. */
  close(): void;
}

interface LinkEvents {
  message(message: WorkerToPrimary): void;
  /** The worker ended: `signal` is null for a thread (its code is 1 after an uncaught error). */
  exit(code: number | null, signal: string | null): void;
  /** After `exit`: every message the worker sent was delivered; a hand-off it never acknowledged never reached it. */
  drained(): void;
  /** A channel error: a send to a worker that just died (its exit does the cleaning up). */
  error(error: Error): void;
  /** A worker that could not be started, or a thread's uncaught error, which ends it (a process prints its own on its stderr). */
  crashed(error: Error): void;
}

export interface WorkerLink {
  /** For logs and /stat: the process's id (a thread's is the server's). */
  readonly pid: number | null;
  readonly connected: boolean;
  /**
   * A hand-off over this link can be lost without the worker ending (Node
   * gives up passing a handle after a few retries): it needs a time limit.
   * A posted message is never lost: the thread reads it or exits.
   */
  readonly lossy: boolean;
  send(message: PrimaryToWorker): void;
  /** `sent(false)`: the hand-off did not leave, the client is still the primary's alone. */
  handOver(message: ClientMessage, client: HandedClient, sent: (ok: boolean) => void): void;
  /** Ask it to stop; end it after `graceMs`; resolves once it exited. */
  stop(graceMs: number): Promise<void>;
}

export interface WorkerTransport {
  readonly mode: WorkerMode;
  spawn(id: number, entry: string, events: LinkEvents): WorkerLink;
  /** Take over an accepted socket to hand to a worker; null when it cannot be (the socket is untouched). */
  adopt(socket: Socket): HandedClient | null;
  /**
   * After a dead worker's programs were killed: wait for them where nobody
   * else will. A worker process's orphans go to init; a thread's stay this
   * process's children, zombies unless reaped here.
   */
  reapOrphans(pids: readonly number[]): void;
}

/** A connection held by its socket (process mode: kept open until the worker acknowledges it). */
class SocketClient implements HandedClient {
  constructor(readonly socket: Socket) {}
  get open(): boolean {
    return !this.socket.destroyed;
  }
  received(): void {
    // close(2) of our copy only: the connection lives on in the worker.
    this.socket.destroy();
  }
  close(): void {
    this.socket.destroy();
  }
}

/**
 * A connection held by a descriptor number of the primary's (thread mode).
 * Once a thread acknowledged the number, it is the thread's: the number may
 * be closed and reused by another connection at any moment, so nothing here
 * touches it again. Before that, the thread cannot have it (a thread
 * acknowledges before it wraps the number, and its messages are all
 * delivered before its exit is), so closing or re-sending it is safe.
 */
class DescriptorClient implements HandedClient {
  private held = true;
  constructor(readonly fd: number) {}
  get open(): boolean {
    return this.held;
  }
  received(): void {
    this.held = false;
  }
  close(): void {
    if (!this.held) return;
    this.held = false;
    try {
      closeSync(this.fd);
    } catch {
      // EBADF cannot happen while held; nothing else is worth more than the close.
    }
  }
}

class ProcessLink implements WorkerLink {
  readonly lossy = true;

  constructor(private readonly child: ChildProcess) {}

  get pid(): number | null {
    return this.child.pid ?? null;
  }

  get connected(): boolean {
    return this.child.connected;
  }

  send(message: PrimaryToWorker): void {
    if (this.child.connected) this.child.send(message);
  }

  handOver(message: ClientMessage, client: HandedClient, sent: (ok: boolean) => void): void {
    if (!(client instanceof SocketClient)) {
      sent(false);
      return;
    }
    try {
      this.child.send(message, client.socket, { keepOpen: true }, (error) => sent(!error));
    } catch {
      // A socket closed in the meantime has no handle to send.
      sent(false);
    }
  }

  async stop(graceMs: number): Promise<void> {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (child.connected) child.send({ type: 'shutdown' } satisfies PrimaryToWorker);
    else child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

function spawnProcess(id: number, entry: string, events: LinkEvents): WorkerLink {
  const child = fork(entry, [], {
    execArgv: workerExecArgv(),
    env: { ...process.env, VOYANDZ_WORKER_ID: String(id) },
    // Stream bytes never use this channel; JSON is enough for control.
    serialization: 'json',
  });
  // 'close' comes once the process exited and its channel was read to the
  // end (every message the worker sent, acknowledgements included). ('disconnect'
  // is not emitted at all when the channel ends with a handle in flight.)
  child.once('close', () => events.drained());
  child.on('message', (message: WorkerToPrimary) => events.message(message));
  // A send to a worker that just died fails with EPIPE / channel closed, and
  // fork() fails this way (EMFILE, EAGAIN) without an exit; unhandled, either would end the primary.
  child.on('error', (error) => {
    if (child.pid !== undefined) {
      events.error(error);
      return;
    }
    events.crashed(error);
    events.exit(null, null);
    events.drained();
  });
  child.once('exit', (code, signal) => events.exit(code, signal));
  return new ProcessLink(child);
}

class ThreadLink implements WorkerLink {
  readonly lossy = false;
  exited = false;

  constructor(private readonly worker: Worker) {
    worker.once('exit', () => {
      this.exited = true;
    });
  }

  get pid(): number {
    return process.pid;
  }

  get connected(): boolean {
    return !this.exited;
  }

  send(message: PrimaryToWorker): void {
    if (!this.exited) this.worker.postMessage(message);
  }

  handOver(message: ClientMessage, client: HandedClient, sent: (ok: boolean) => void): void {
    if (this.exited || !(client instanceof DescriptorClient) || !client.open) {
      sent(false);
      return;
    }
    this.worker.postMessage({ ...message, fd: client.fd } satisfies PrimaryToWorker);
    sent(true);
  }

  async stop(graceMs: number): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ type: 'shutdown' } satisfies PrimaryToWorker);
    // terminate() is a thread's SIGKILL: its handles (clients, pipes) are closed, its programs are reaped by the pool.
    const timer = setTimeout(() => void this.worker.terminate(), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

/** A thread that could not be started (ERR_WORKER_INIT_FAILED, EAGAIN): it exits at once, to be respawned later. */
const UNSTARTED: WorkerLink = {
  pid: null,
  connected: false,
  lossy: false,
  send: () => undefined,
  handOver: (_message, _client, sent) => sent(false),
  stop: () => Promise.resolve(),
};

function spawnThread(id: number, entry: string, events: LinkEvents): WorkerLink {
  let worker: Worker;
  try {
    // A thread's stdout is never a terminal: it logs as the primary decided to (src/log.ts).
    const logFormat = process.env.VOYANDZ_LOG_FORMAT ?? (process.stdout.isTTY ? 'pretty' : 'json');
    worker = new Worker(entry, {
      workerData: { workerId: id },
      env: { ...process.env, VOYANDZ_LOG_FORMAT: logFormat },
      resourceLimits: { maxYoungGenerationSizeMb: THREAD_YOUNG_GENERATION_MB },
    });
  } catch (error) {
    setImmediate(() => {
      events.crashed(error instanceof Error ? error : new Error(String(error)));
      events.exit(1, null);
      events.drained();
    });
    return UNSTARTED;
  }
  const link = new ThreadLink(worker);
  worker.on('message', (message: WorkerToPrimary) => events.message(message));
  // An uncaught exception ends the thread ('exit' with code 1 follows); unhandled here, it would end the server.
  worker.on('error', (error) => events.crashed(error));
  // Node delivers every message the thread posted before it emits 'exit'.
  worker.once('exit', (code) => {
    events.exit(code, null);
    events.drained();
  });
  return link;
}

export function processTransport(): WorkerTransport {
  return {
    mode: 'process',
    spawn: spawnProcess,
    adopt: (socket) => new SocketClient(socket),
    reapOrphans: () => undefined,
  };
}

/** A SIGKILLed program is gone in milliseconds; one in uninterruptible sleep (a hung disk, a device) may take longer. */
const REAP_EVERY_MS = 100;
const REAP_TRIES = 600;

/** Wait for each pid until reaped, for at most a minute; the timer never keeps the server up. */
function reapWith(reapChild: (pid: number) => boolean, pids: readonly number[], triesLeft = REAP_TRIES): void {
  const left = pids.filter((pid) => !reapChild(pid));
  if (left.length === 0 || triesLeft <= 1) return;
  setTimeout(() => reapWith(reapChild, left, triesLeft - 1), REAP_EVERY_MS).unref();
}

interface DescriptorHandle {
  fd?: number;
}

/** A descriptor to copy the next client onto (null when none could be opened: EMFILE). */
function openSpare(): number | null {
  try {
    return openSync('/dev/null', 'r');
  } catch {
    return null;
  }
}

/**
 * Hand-offs copy the client's socket onto a spare descriptor (dup3), then
 * close the socket's own, whose number becomes the next spare (the lowest
 * free, opened in the same synchronous turn). So a hand-off needs no free
 * descriptor, and takes none: the client gets the spare's number, the spare
 * the socket's, and the clients served stay below the primary's headroom
 * (descriptor-headroom.ts). Without a spare (another thread took the
 * number), a plain dup.
 */
export function threadTransport({ dup, dupTo, reapChild }: ThreadNatives): WorkerTransport {
  let spare = openSpare();
  return {
    mode: 'thread',
    spawn: spawnThread,
    reapOrphans: (pids) => reapWith(reapChild, pids),
    adopt(socket) {
      const fd = (socket as unknown as { _handle?: DescriptorHandle | null })._handle?.fd;
      if (fd === undefined || fd < 0) return null;
      spare ??= openSpare();
      let copy: number;
      try {
        copy = spare === null ? dup(fd) : dupTo(fd, spare);
      } catch {
        // EMFILE (no spare): the socket stays the primary's, which answers it.
        return null;
      }
      if (copy === spare) spare = null;
      // Our socket's descriptor closes; the connection lives on in the copy.
      socket.destroy();
      spare ??= openSpare();
      return new DescriptorClient(copy);
    },
  };
}
