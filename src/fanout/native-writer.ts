/**
 * Which writer the fan-out uses for caught-up sinks, chosen once per
 * process: the native one (native/fanout_writer.c, one call writes a batch
 * to many sockets' descriptors) or Node's own `socket.write()` per sink.
 *
 * The addon is looked for where the install built it (build/Release), then
 * among the prebuilt binaries shipped in the package
 * (prebuilds/PLATFORM-ARCH); when neither loads, or `VOYANDZ_NATIVE_WRITER=0`
 * says so, every write goes through Node. Either way the choice and its
 * reason are kept for the one log line a worker writes at start.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** What native/fanout_writer.c exports. */
export interface NativeSend {
  /**
   * Writes `data` once to each of `fds[0..count)` without blocking;
   * `out[i]` = the bytes the kernel took, or -errno. Returns how many took
   * all of it.
   */
  sendAll(fds: Int32Array, count: number, data: Uint8Array, out: Int32Array): number;
}

export interface WriterChoice {
  kind: 'native' | 'js';
  /** Where the addon was loaded from, or why it was not. */
  why: string;
  send: NativeSend | null;
}

/** dist/src/fanout → the package root. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ADDON = 'fanout_writer.node';

/** Where the addon may be, best first: the install's own build, then the shipped prebuilt one. */
function candidates(): string[] {
  return [`${ROOT}build/Release/${ADDON}`, `${ROOT}prebuilds/${process.platform}-${process.arch}/${ADDON}`];
}

function isNativeSend(value: unknown): value is NativeSend {
  return typeof value === 'object' && value !== null && typeof (value as { sendAll?: unknown }).sendAll === 'function';
}

/** Loads the first addon that works; a reason per candidate that did not. */
export function chooseWriter(env: NodeJS.ProcessEnv = process.env, paths: readonly string[] = candidates()): WriterChoice {
  if (env.VOYANDZ_NATIVE_WRITER === '0') return { kind: 'js', why: 'VOYANDZ_NATIVE_WRITER=0', send: null };
  // Descriptors are what the native writer writes to; Windows sockets have none.
  if (process.platform === 'win32') return { kind: 'js', why: 'no socket descriptors on Windows', send: null };
  const require = createRequire(import.meta.url);
  const failures: string[] = [];
  for (const path of paths) {
    if (!existsSync(path)) {
      failures.push(`${path}: not there`);
      continue;
    }
    try {
      const addon: unknown = require(path);
      if (isNativeSend(addon)) return { kind: 'native', why: path, send: addon };
      failures.push(`${path}: no sendAll()`);
    } catch (error) {
      failures.push(`${path}: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}`);
    }
  }
  return { kind: 'js', why: failures.join('; '), send: null };
}

let chosen: WriterChoice | null = null;

/** The process's writer, chosen on first use. */
export function fanoutWriter(): WriterChoice {
  chosen ??= chooseWriter();
  return chosen;
}
