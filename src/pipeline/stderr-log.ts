import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ERRORS } from '../errors.js';

/**
 * The stderr of programs, written to `logdir/<kind>_<name>.log` with size
 * capped rotation (NAME.log → NAME.log.1 → … → NAME.log.KEEP).
 *
 * All file work is asynchronous (libuv thread pool) and serialised per file:
 * several programs of one name (exclusive streams, shots) share one writer,
 * so rotation never races inside a process and the file has one open fd.
 * The queue is bounded; when the disk is slower than the programs, stderr is
 * dropped (and the drop noted in the file), never buffered without limit.
 */

const MAX_QUEUED_BYTES = 1024 * 1024;
const MAX_BATCH_BYTES = 256 * 1024;
/** After a failed open/write, new data is dropped for this long rather than retried per chunk. */
const RETRY_AFTER_MS = 10_000;

export interface StderrLogOptions {
  logdir: string;
  kind: string;
  name: string;
  maxBytes: number;
  keep: number;
  log?: Logger;
}

/**
 * `logdir/<kind>_<name>.log`. Names may hold any text: letters (of any
 * script), digits, "_", "." and "-" stay, anything else (a "/" that would
 * leave logdir, a space or quote that confuses a shell) is percent-encoded,
 * so two names never share a file ("cam 1" -> stream_cam%201.log).
 */
function stderrLogPath(logdir: string, kind: string, name: string): string {
  const safe = `${kind}_${name}`.replace(/[^\p{L}\p{N}._-]/gu, (char) =>
    [...Buffer.from(char, 'utf8')].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
  return join(logdir, `${safe}.log`);
}

function isEnoent(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

/** Paths whose write failure was already reported: one report per file per process. */
const reported = new Set<string>();
const files = new Map<string, LogFile>();

class LogFile {
  refs = 0;
  maxBytes: number;
  keep: number;
  private handle: FileHandle | null = null;
  private size = 0;
  private queue: Buffer[] = [];
  private queued = 0;
  private dropped = 0;
  private busy = false;
  private retryAt = 0;

  constructor(
    readonly path: string,
    options: StderrLogOptions,
    private log: Logger | undefined,
  ) {
    this.maxBytes = options.maxBytes;
    this.keep = options.keep;
  }

  setLogger(log: Logger | undefined): void {
    if (log) this.log = log;
  }

  append(data: Buffer): void {
    if (Date.now() < this.retryAt || this.queued + data.length > MAX_QUEUED_BYTES) {
      this.dropped += data.length;
      return;
    }
    if (this.dropped > 0) {
      const note = Buffer.from(`\n[voyandz: ${this.dropped} bytes of stderr dropped: log writes too slow or failing]\n`);
      this.dropped = 0;
      this.queue.push(note);
      this.queued += note.length;
    }
    this.queue.push(data);
    this.queued += data.length;
    this.kick();
  }

  kick(): void {
    if (!this.busy) void this.pump();
  }

  private async pump(): Promise<void> {
    this.busy = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.takeBatch();
        try {
          await this.writeBatch(batch);
        } catch (err) {
          this.fail(err);
        }
      }
      if (this.refs === 0) await this.closeHandle();
    } finally {
      this.busy = false;
    }
    if (this.queue.length > 0) {
      this.kick();
    } else if (this.refs === 0 && files.get(this.path) === this) {
      files.delete(this.path);
    }
  }

  private takeBatch(): Buffer {
    let bytes = 0;
    let count = 0;
    while (count < this.queue.length && (count === 0 || bytes + (this.queue[count]).length <= MAX_BATCH_BYTES)) {
      bytes += (this.queue[count]).length;
      count++;
    }
    const parts = this.queue.splice(0, count);
    this.queued -= bytes;
    return parts.length === 1 ? (parts[0]) : Buffer.concat(parts, bytes);
  }

  private async writeBatch(batch: Buffer): Promise<void> {
    if (!this.handle) {
      this.handle = await open(this.path, 'a', 0o644);
      this.size = (await this.handle.stat()).size;
    }
    // Split so that no file grows past the cap, at a line end when one fits.
    let rest = batch;
    let full = false;
    while (rest.length > 0) {
      if (this.size > 0 && (full || this.size >= this.maxBytes)) await this.rotate();
      const room = Math.max(1, this.maxBytes - this.size);
      let piece = rest;
      full = rest.length > room;
      if (full) {
        const nl = rest.subarray(0, room).lastIndexOf(0x0a);
        piece = rest.subarray(0, nl >= 0 ? nl + 1 : room);
      }
      await this.writeAll(piece);
      this.size += piece.length;
      rest = rest.subarray(piece.length);
    }
  }

  private async writeAll(data: Buffer): Promise<void> {
    const handle = this.handle as FileHandle;
    let offset = 0;
    while (offset < data.length) {
      const { bytesWritten } = await handle.write(data, offset, data.length - offset);
      offset += bytesWritten;
    }
  }

  private async rotate(): Promise<void> {
    await this.closeHandle();
    if (this.keep <= 0) {
      await unlink(this.path).catch((err: unknown) => {
        if (!isEnoent(err)) throw err;
      });
    } else {
      // rename() replaces its target, which is how the oldest file is deleted.
      for (let i = this.keep - 1; i >= 1; i--) {
        await rename(`${this.path}.${i}`, `${this.path}.${i + 1}`).catch((err: unknown) => {
          if (!isEnoent(err)) throw err;
        });
      }
      await rename(this.path, `${this.path}.1`).catch((err: unknown) => {
        if (!isEnoent(err)) throw err;
      });
    }
    this.handle = await open(this.path, 'a', 0o644);
    this.size = 0;
  }

  private async closeHandle(): Promise<void> {
    const handle = this.handle;
    this.handle = null;
    if (handle) await handle.close().catch(() => undefined);
  }

  private fail(err: unknown): void {
    this.dropped += this.queued;
    this.queue = [];
    this.queued = 0;
    this.retryAt = Date.now() + RETRY_AFTER_MS;
    void this.closeHandle();
    if (reported.has(this.path)) return;
    reported.add(this.path);
    const reason = err instanceof Error ? err.message : String(err);
    const { code, message } = ERRORS.PROGRAM_LOG;
    const text = message(this.path, reason);
    if (this.log) this.log.error({ code, path: this.path, err }, text);
    else process.emitWarning(text, { code });
  }
}

function quoteArg(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** One program's handle on its log file. Never throws; close() once the program is done. */
export class StderrLog {
  readonly path: string;
  private file: LogFile | null;

  constructor(options: StderrLogOptions) {
    this.path = stderrLogPath(options.logdir, options.kind, options.name);
    let file = files.get(this.path);
    if (!file) {
      file = new LogFile(this.path, options, options.log);
      files.set(this.path, file);
    }
    // A reload may change the limits; the newest program's config wins.
    file.maxBytes = options.maxBytes;
    file.keep = options.keep;
    file.setLogger(options.log);
    file.refs++;
    this.file = file;
  }

  /** The line every program start writes, so a reader can tell runs apart. */
  start(argv: readonly string[], pid: number | undefined): void {
    this.note(`start (pid ${pid ?? 'none'}): ${argv.map(quoteArg).join(' ')}`);
  }

  /** A voyandz line (start, exit, spawn error) among the program's own output. */
  note(text: string): void {
    this.file?.append(Buffer.from(`=== ${new Date().toISOString()} voyandz: ${text}\n`));
  }

  write(chunk: Buffer): void {
    this.file?.append(chunk);
  }

  close(): void {
    const file = this.file;
    this.file = null;
    if (!file) return;
    file.refs--;
    file.kick();
  }
}
