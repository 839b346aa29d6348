/**
 * Which writer the fan-out uses for caught-up sinks, chosen once per
 * process: the native one (native/fanout_writer.c: one call writes a batch
 * to many sockets' descriptors, with one io_uring submission where the
 * kernel allows it, else one send() per socket) or Node's own
 * `socket.write()` per sink.
 *
 * The addon is found by native-addon.ts. `VOYANDZ_NATIVE_WRITER`: `0` writes everything
 * through Node, `send` keeps the native writer but without io_uring; unset
 * (or anything else), the best that loads. Either way the choice and its
 * reason are kept for the one log line a worker writes at start.
 */
import { addonCandidates, firstAddon } from './native-addon.js';

/** How the native writer makes its sends. */
type SendMethod = 'io_uring' | 'send';

/** What native/fanout_writer.c exports. */
export interface NativeSend {
  /**
   * Writes `data` once to each of `fds[0..count)` without blocking;
   * `out[i]` = the bytes the kernel took, or -errno (-EIO: unknown, the
   * ring failed mid-way; those bytes must not be sent again). Returns how
   * many took all of it.
   */
  sendAll(fds: Int32Array, count: number, data: Uint8Array, out: Int32Array): number;
}

/** One writer: its own io_uring, set up on first use. */
interface AddonWriter extends NativeSend {
  /** The method in use: io_uring falls back to send for good when the kernel refuses it. */
  readonly method: SendMethod;
}

interface Addon {
  FanoutWriter: new (method: SendMethod) => AddonWriter;
}

export interface WriterChoice {
  kind: 'native' | 'js';
  /** The native writer's method; null for the JS writer. */
  method: SendMethod | null;
  /** Where the addon was loaded from, or why it was not. */
  why: string;
  send: NativeSend | null;
}

function isAddon(value: unknown): value is Addon {
  return typeof value === 'object' && value !== null && typeof (value as { FanoutWriter?: unknown }).FanoutWriter === 'function';
}

/** Loads the first addon that works; a reason per candidate that did not. */
export function chooseWriter(env: NodeJS.ProcessEnv = process.env, paths: readonly string[] = addonCandidates()): WriterChoice {
  const wanted = env.VOYANDZ_NATIVE_WRITER;
  if (wanted === '0') return { kind: 'js', method: null, why: 'VOYANDZ_NATIVE_WRITER=0', send: null };
  // Descriptors are what the native writer writes to; Windows sockets have none.
  if (process.platform === 'win32') return { kind: 'js', method: null, why: 'no socket descriptors on Windows', send: null };
  const found = firstAddon(paths, (addon, path): WriterChoice | { unusable: string } => {
    if (!isAddon(addon)) return { unusable: 'not the fan-out writer (no FanoutWriter)' };
    const writer = new addon.FanoutWriter(wanted === 'send' ? 'send' : 'io_uring');
    const method = writer.method;
    const why = wanted === 'send' ? `${path}, VOYANDZ_NATIVE_WRITER=send` : method === 'send' ? `${path}, io_uring not available` : path;
    return { kind: 'native', method, why, send: writer };
  });
  return 'value' in found ? found.value : { kind: 'js', method: null, why: found.why, send: null };
}

/** For a log line: `native, io_uring` or `js`. */
export function describeWriter(choice: WriterChoice): string {
  return choice.method === null ? choice.kind : `${choice.kind}, ${choice.method}`;
}

let chosen: WriterChoice | null = null;

/** The process's writer, chosen on first use. */
export function fanoutWriter(): WriterChoice {
  chosen ??= chooseWriter();
  return chosen;
}
