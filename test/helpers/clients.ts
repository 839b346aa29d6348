import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';

const run = promisify(execFile);

/** One agent for all test clients: many parallel connections to one origin. */
export const agent = new Agent({ connections: 1000, pipelining: 0 });

export interface Capture {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** GET a stream and keep reading until `bytes` arrived or `ms` passed; `onChunk` sees each chunk as it arrives. */
export async function capture(url: string, limit: { bytes?: number; ms?: number }, onChunk?: (chunk: Buffer) => void): Promise<Capture> {
  const response = await request(url, { dispatcher: agent });
  const chunks: Buffer[] = [];
  let size = 0;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, limit.ms ?? 30000);
    function done(): void {
      clearTimeout(timer);
      response.body.removeAllListeners('data');
      response.body.destroy();
      resolve();
    }
    response.body.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      onChunk?.(chunk);
      if (limit.bytes !== undefined && size >= limit.bytes) done();
    });
    response.body.on('end', done);
    response.body.on('error', done);
  });
  return { status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks) };
}

export async function getText(url: string, method: 'GET' | 'HEAD' = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  const response = await request(url, { dispatcher: agent, method });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text };
}

export interface ProbeStream {
  codec_type: string;
  codec_name: string;
}

/** ffprobe a captured file: the streams it finds, or an error if it cannot decode. */
export async function ffprobe(file: string): Promise<ProbeStream[]> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', file]);
  return (JSON.parse(stdout) as { streams: ProbeStream[] }).streams;
}

/** Decode a whole capture; returns ffmpeg's error output (empty when clean). */
export async function decodeErrors(file: string): Promise<string> {
  const { stderr } = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-']);
  return stderr;
}

export function save(file: string, data: Buffer): string {
  writeFileSync(file, data);
  return file;
}

/** Raw bytes over a TCP socket: for requests no HTTP client would send. */
export function rawExchange(port: number, parts: (string | Buffer)[], options: { gapMs?: number; waitMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', reject);
    const finish = (): void => {
      socket.destroy();
      resolve(Buffer.concat(received).toString('latin1'));
    };
    socket.on('close', finish);
    socket.on('connect', () => void (async () => {
      for (const part of parts) {
        socket.write(part);
        if (options.gapMs) await new Promise((r) => setTimeout(r, options.gapMs));
      }
      setTimeout(finish, options.waitMs ?? 1500);
    })());
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Poll until `check` returns a value (not undefined/false) or time runs out.
 * `stepMs` 0 polls every event-loop turn (for in-process fan-out tests).
 */
export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 15000,
  stepMs = 100,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await (stepMs === 0 ? new Promise<void>((resolve) => setImmediate(resolve)) : sleep(stepMs));
  }
}
