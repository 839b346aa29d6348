/**
 * Parts of the relay test (origin, edges, HAProxy): a viewer over a raw TCP
 * socket that reconnects like a player, HAProxy run from deploy/haproxy.cfg,
 * and ffprobe checks of what viewers received.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { listening } from '../../load-tests/loopback.js';
import { findExecutable } from './executables.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const HAPROXY_CFG = join(ROOT, 'deploy', 'haproxy.cfg');
const EBML = Buffer.from([0x1a, 0x45, 0xdf, 0xa3]);

/** haproxy on PATH or in /usr/sbin (Debian); null when there is none. */
export function findHaproxy(): string | null {
  return findExecutable('haproxy');
}

export interface Haproxy {
  lines: string[];
  waitFor(pattern: RegExp, timeoutMs: number): Promise<number>;
  stop(): Promise<void>;
}

/** deploy/haproxy.cfg as shipped, in the foreground; only the ports come from the test (environment). */
export async function startHaproxy(binary: string, ports: { lb: number; edge1: number; edge2: number }): Promise<Haproxy> {
  const child: ChildProcess = spawn(binary, ['-db', '-f', HAPROXY_CFG], {
    env: { ...process.env, VOYANDZ_LB_PORT: String(ports.lb), VOYANDZ_EDGE1_PORT: String(ports.edge1), VOYANDZ_EDGE2_PORT: String(ports.edge2) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const seen = (text: string): void => {
    for (const line of text.split('\n')) if (line.trim() !== '') lines.push(`${Date.now()} ${line}`);
  };
  child.stdout?.setEncoding('utf8').on('data', seen);
  child.stderr?.setEncoding('utf8').on('data', seen);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const waitFor = async (pattern: RegExp, timeoutMs: number): Promise<number> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = lines.find((l) => pattern.test(l));
      if (line !== undefined) return Number(line.split(' ')[0]);
      if (Date.now() > deadline) throw new Error(`haproxy never logged ${pattern}; it said:\n${lines.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  // Listening: a TCP connect succeeds.
  const deadline = Date.now() + 5000;
  while (!(await listening(ports.lb))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`haproxy did not start:\n${lines.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    lines,
    waitFor,
    async stop() {
      if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
      await exited;
    },
  };
}

/** One response a viewer got. */
export interface Connection {
  openedAt: number;
  status: number;
  /** X-Served-By (which edge HAProxy chose); '' when not through HAProxy. */
  servedBy: string;
  /** The first bytes of the body (for ffprobe from byte 0). */
  first: Buffer[];
  firstLength: number;
  bytes: number;
  /** EBML headers seen in the body (WebM: exactly one, at byte 0). */
  ebml: number;
  /** Set while capturing: every body byte from `capturedFrom` (a body offset) on. */
  captured: Buffer[] | null;
  capturedFrom: number;
  closedAt: number | null;
}

/** A player that reconnects at once when its connection closes. */
export class Viewer {
  readonly connections: Connection[] = [];
  private socket: Socket | null = null;
  private stopped = false;

  constructor(
    readonly stream: string,
    private readonly port: number,
    private readonly firstBytes = 64 * 1024,
  ) {}

  get current(): Connection | undefined {
    return this.connections.at(-1);
  }

  open(): void {
    if (this.stopped) return;
    const socket = connect(this.port, '127.0.0.1');
    this.socket = socket;
    const c: Connection = { openedAt: Date.now(), status: 0, servedBy: '', first: [], firstLength: 0, bytes: 0, ebml: 0, captured: null, capturedFrom: 0, closedAt: null };
    this.connections.push(c);
    let head: Buffer | null = Buffer.alloc(0);
    let tail = Buffer.alloc(0);
    socket.on('error', () => undefined);
    socket.write(`GET /stream/${this.stream} HTTP/1.1\r\nHost: relay-test\r\nUser-Agent: relay-viewer\r\n\r\n`);
    socket.on('data', (chunk: Buffer) => {
      let body = chunk;
      if (head !== null) {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        const text = head.toString('latin1', 0, end);
        c.status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
        c.servedBy = /^x-served-by: *(\S+)/im.exec(text)?.[1] ?? '';
        body = head.subarray(end + 4);
        head = null;
        // A player retries an error answer (a proxy may keep that connection open for keep-alive).
        if (c.status !== 200) {
          socket.destroy();
          return;
        }
      }
      if (c.firstLength < this.firstBytes) {
        const part = body.subarray(0, this.firstBytes - c.firstLength);
        c.first.push(part);
        c.firstLength += part.length;
      }
      const scan = Buffer.concat([tail, body]);
      for (let at = scan.indexOf(EBML); at >= 0; at = scan.indexOf(EBML, at + 1)) c.ebml++;
      tail = scan.subarray(Math.max(0, scan.length - 3));
      c.captured?.push(body);
      c.bytes += body.length;
    });
    socket.once('close', () => {
      c.closedAt = Date.now();
      if (this.socket !== socket) return;
      this.socket = null;
      if (c.status === 200 || c.status === 0) this.open();
      else setTimeout(() => this.open(), 100);
    });
  }

  /** From now on, keep every byte of the current connection. */
  capture(): void {
    const c = this.current;
    if (!c) return;
    c.captured = [];
    c.capturedFrom = c.bytes;
  }

  stop(): void {
    this.stopped = true;
    this.socket?.destroy();
    this.socket = null;
  }
}

/** Is the first video frame of `file` a keyframe (a decoder starts at byte 0)? */
export async function firstFrameIsKey(file: string): Promise<boolean> {
  try {
    const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=key_frame', '-read_intervals', '%+#1', '-of', 'csv=p=0', file]);
    return stdout.trim().split('\n')[0]?.split(',')[0]?.trim() === '1';
  } catch {
    return false;
  }
}

/**
 * Decodes all of `file`: frames decoded and the decoder's error lines
 * (empty when clean). ffprobe, not ffmpeg -f null, whose muxer also
 * complains when time goes back (an origin restart does that).
 */
export async function decodeReport(file: string): Promise<{ frames: number; errors: string }> {
  const { stdout, stderr } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=pts_time', '-of', 'csv=p=0', file], { maxBuffer: 64 * 1024 * 1024 });
  return { frames: stdout.split('\n').filter((l) => l.trim() !== '').length, errors: stderr.trim() };
}

/**
 * Viewers whose first `bytes` are the same (they joined at the same join
 * point) decode alike: one file per distinct prefix, with how many viewers
 * it stands for. Far fewer ffprobe runs than viewers.
 */
export function distinctPrefixes(prefixes: Buffer[], bytes: number): { prefix: Buffer; viewers: number[] }[] {
  const groups = new Map<string, { prefix: Buffer; viewers: number[] }>();
  prefixes.forEach((whole, i) => {
    const prefix = whole.subarray(0, bytes);
    const key = createHash('sha1').update(prefix).digest('hex');
    const group = groups.get(key) ?? { prefix, viewers: [] };
    group.viewers.push(i);
    groups.set(key, group);
  });
  return [...groups.values()];
}

/** Places where video time goes back or leaps forward by more than a second: each is a discontinuity a player sees. */
export async function discontinuities(file: string): Promise<number> {
  const { stdout } = await run('ffprobe', ['-v', 'quiet', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', file], { maxBuffer: 64 * 1024 * 1024 });
  const times = stdout.split('\n').map(Number).filter((t) => Number.isFinite(t) && t > 0);
  let jumps = 0;
  for (let i = 1; i < times.length; i++) {
    const step = (times[i] ?? 0) - (times[i - 1] ?? 0);
    // B-frame reordering moves pts back by a frame or two: not a jump.
    if (step < -0.5 || step > 1) jumps++;
  }
  return jumps;
}

/** Runs `jobs` with at most `width` at a time (ffprobe is CPU: the box has two cores). */
export async function inBatches<T>(jobs: (() => Promise<T>)[], width: number): Promise<T[]> {
  const out: T[] = new Array<T>(jobs.length);
  const queue = jobs.map((job, i) => ({ job, i }));
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) out[item.i] = await item.job();
    }),
  );
  return out;
}
