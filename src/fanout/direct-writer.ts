/**
 * One batch to many sockets in one native call (native/fanout_writer.c:
 * one io_uring submission, or one send() each), for the sockets that can
 * take it straight away; the fan-out writes to the others with
 * `socket.write()`. What keeps that exact:
 *
 * - A socket is written to directly only while Node holds nothing of it:
 *   writable (not ending, ended or destroyed) and `writableLength` 0. That
 *   length counts a write until libuv reports it done (a write the kernel
 *   took at once, synchronously; a partial one, when libuv has sent the
 *   rest), so at 0 nothing is queued in libuv either, and the handle's
 *   `writeQueueSize`, a C++ call per socket per batch (3.5 % of a worker
 *   thread's perf samples at 1000 clients), need not be asked. The direct bytes then follow
 *   every byte the socket was ever handed, so order holds.
 * - Whatever the kernel did not take (a short write, EAGAIN) or refused (an
 *   error) is handed back, and the caller writes it with `socket.write()`:
 *   backpressure, 'drain', errors and close stay Node's own. Once that rest
 *   is queued, the socket is not direct again until Node has sent it.
 * - The descriptor is read from the socket's handle once, when the sink is
 *   added, and used only while the socket still holds that same handle: a
 *   destroyed socket lets go of its handle (net.Socket._destroy) as it
 *   closes the descriptor, before the number can be given to a new one.
 * - Only plain descriptors: a TLS socket (bytes must be encrypted first) or
 *   a handle without a descriptor is never direct, nor is one the kernel
 *   said is no socket (a pipe): ENOTSOCK and the like turn direct off for it.
 * - The handle's `bytesWritten` (so `socket.bytesWritten`) is C++'s counter
 *   and does not count direct bytes; the sink's `bytesSent` counts them all,
 *   and is what the access log and metrics read.
 *
 * Allocation: none per batch; the descriptor and result arrays grow, by
 * doubling, to the most sinks written at once.
 */
import type { Socket } from 'node:net';
import { constants } from 'node:os';
import type { NativeSend } from './native-writer.js';

/** The libuv stream under a net.Socket (a TCP or Pipe wrap; Node internals, the same since Node 0.x). */
interface LibuvStreamHandle {
  /** The descriptor; absent on wraps that have none (TLS, JS streams), -1 on Windows. */
  readonly fd?: number;
}

function handleOf(socket: Socket): LibuvStreamHandle | null {
  return (socket as Socket & { readonly _handle?: LibuvStreamHandle | null })._handle ?? null;
}

/** A socket the fan-out may write to directly; `fd` -1: never. */
export interface DirectTarget {
  readonly socket: Socket;
  fd: number;
  /** The handle `fd` was read from: only its identity matters. */
  handle: object | null;
}

const { EAGAIN, EWOULDBLOCK, EIO } = constants.errno;
/** The descriptor is no socket, or none the writer may use: stop trying it. */
const NOT_FOR_DIRECT = new Set([constants.errno.ENOTSOCK, constants.errno.EOPNOTSUPP, constants.errno.EBADF, constants.errno.EINVAL]);

/** Reads what a target needs from its socket; fd -1 when it cannot be written to directly. */
export function directTarget(socket: Socket): { fd: number; handle: object | null } {
  const handle = handleOf(socket);
  const fd = handle?.fd;
  if (handle === null || typeof fd !== 'number' || fd < 0 || (socket as Socket & { encrypted?: boolean }).encrypted === true) {
    return { fd: -1, handle: null };
  }
  return { fd, handle };
}

export class DirectWriter<T extends DirectTarget> {
  private fds = new Int32Array(64);
  private out = new Int32Array(64);
  private readonly targets: (T | null)[] = [];
  private count = 0;

  constructor(private readonly native: NativeSend) {}

  /** Queues `t` for the next send() if its socket can take bytes directly now; false: write to it through Node. */
  offer(t: T): boolean {
    if (t.fd < 0) return false;
    const socket = t.socket;
    const handle = handleOf(socket);
    if (handle !== t.handle || handle === null || socket.writableLength !== 0 || !socket.writable) return false;
    const n = this.count;
    if (n === this.fds.length) this.grow();
    this.fds[n] = t.fd;
    this.targets[n] = t;
    this.count = n + 1;
    return true;
  }

  /**
   * Writes `data` to every target offered since the last send; for each
   * that did not take all of it, `rest(t, data, taken)`: the caller writes
   * `data` from `taken` on through Node, or, when `taken` is -1 (what was
   * sent is unknown: the io_uring failed mid-way), ends the connection.
   */
  send(data: Buffer, rest: (t: T, data: Buffer, taken: number) => void): void {
    const n = this.count;
    if (n === 0) return;
    this.count = 0;
    const full = this.native.sendAll(this.fds, n, data, this.out);
    const targets = this.targets;
    if (full !== n) {
      const out = this.out;
      const len = data.length;
      for (let i = 0; i < n; i++) {
        const took = out[i];
        if (took === len) continue;
        const t = targets[i] as T;
        if (took === -EIO) {
          rest(t, data, -1);
          continue;
        }
        if (took < 0 && took !== -EAGAIN && took !== -EWOULDBLOCK && NOT_FOR_DIRECT.has(-took)) t.fd = -1;
        rest(t, data, took > 0 ? took : 0);
      }
    }
    // Let go of the sockets: a sink that leaves must not be held here until the next batch.
    for (let i = 0; i < n; i++) targets[i] = null;
  }

  private grow(): void {
    const fds = new Int32Array(this.fds.length * 2);
    fds.set(this.fds);
    this.fds = fds;
    this.out = new Int32Array(fds.length);
  }
}
