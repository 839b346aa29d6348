import type { Socket } from 'node:net';
import { constants } from 'node:os';
import { directTarget } from '../../src/fanout/direct-writer.js';
import { chooseWriter, type NativeSend } from '../../src/fanout/native-writer.js';

/**
 * The process's native writer with counts of what went through it, so a
 * test can tell that bytes really went the direct way (or did not), and
 * what the kernel answered.
 */
export class CountingWriter implements NativeSend {
  calls = 0;
  /** Descriptors handed over, over all calls. */
  offered = 0;
  /** Bytes the kernel took. */
  taken = 0;
  /** Writes the kernel took only part of (a short write). */
  partial = 0;
  /** Writes the kernel took none of (EAGAIN). */
  again = 0;
  /** Writes that failed with another error: the errno of each. */
  readonly errors: number[] = [];
  /** Every descriptor ever handed over. */
  readonly fds = new Set<number>();
  /** The descriptors of the last call. */
  lastFds: number[] = [];
  private readonly listeners = new Map<number, (len: number, took: number) => void>();

  constructor(private readonly inner: NativeSend) {}

  sendAll(fds: Int32Array, count: number, data: Uint8Array, out: Int32Array): number {
    const full = this.inner.sendAll(fds, count, data, out);
    this.calls++;
    this.offered += count;
    this.lastFds = Array.from(fds.subarray(0, count));
    for (let i = 0; i < count; i++) {
      this.fds.add(fds[i]);
      const took = out[i];
      this.listeners.get(fds[i])?.(data.length, took);
      if (took >= 0) this.taken += took;
      if (took >= 0 && took < data.length) this.partial++;
      else if (took === -constants.errno.EAGAIN) this.again++;
      else if (took < 0) this.errors.push(-took);
    }
    return full;
  }

  /** Calls `fn(batch length, bytes taken or -errno)` each time `socket`'s descriptor is handed a batch. */
  onSend(socket: Socket, fn: (len: number, took: number) => void): void {
    const { fd } = directTarget(socket);
    if (fd >= 0) this.listeners.set(fd, fn);
  }
}

/** How a suite writes: through the native writer (counted) with one method, or with socket.write() only. */
export interface WriterCase {
  name: 'io_uring' | 'send' | 'js';
  /** Why the case cannot run here; false when it can. */
  skip: string | false;
  /** A fresh writer for one Fanout: a CountingWriter, or null for socket.write() only. */
  make(): CountingWriter | null;
}

/** The native writer with each method (skipped where it does not load, or where the kernel refuses io_uring), then the JS writer. */
export function writerCases(): WriterCase[] {
  const cases: WriterCase[] = [];
  for (const method of ['io_uring', 'send'] as const) {
    const choice = chooseWriter({ ...process.env, VOYANDZ_NATIVE_WRITER: method });
    const native = choice.send;
    const skip = process.env.VOYANDZ_NATIVE_WRITER === '0' ? 'VOYANDZ_NATIVE_WRITER=0' : native === null ? `native writer not loaded: ${choice.why}` : choice.method !== method ? `${method} not available: ${choice.why}` : false;
    cases.push({ name: method, skip, make: () => (native === null || skip !== false ? null : new CountingWriter(native)) });
  }
  cases.push({ name: 'js', skip: false, make: () => null });
  return cases;
}
