import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../load-tests/loopback.js';

export const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));

export interface LogLine {
  msg?: string;
  level?: number;
  [key: string]: unknown;
}

export interface RunningServer {
  port: number;
  dir: string;
  process: ChildProcess;
  logs: LogLine[];
  stderr: string[];
  url(path: string): string;
  /** Resolves with the first log line matching, or rejects after timeoutMs. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** SIGTERM and wait; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export interface ServerOptions {
  workers?: number;
  /** Default: the server's (thread). Tests that kill or stop a worker by its pid need `process`. */
  workerMode?: 'process' | 'thread';
  /** `spill_load`; 0 spreads a shared stream's clients over every worker from the first: tests of the peer link say so, whatever the default (0.5). */
  spillLoad?: number;
  env?: NodeJS.ProcessEnv;
  /** Default 127.0.0.1; `::1` for IPv6 tests (loopback only). */
  listenaddr?: string;
  /** Start under `ulimit -n N` (descriptor exhaustion tests). */
  maxFiles?: number;
  /** A fixed port (a test that restarts a server at the same address); default: a free one. */
  port?: number;
}

/** Start the built CLI as a user would, on a config written to a temp dir. */
export async function startServer(configYaml: string, options: ServerOptions = {}): Promise<RunningServer> {
  const dir = mkdtempSync(join(tmpdir(), 'voyandz-test-'));
  const port = options.port ?? (await freePort());
  const listenaddr = options.listenaddr ?? '127.0.0.1';
  const header = [
    `listenaddr: "${listenaddr}"`,
    `listenport: ${port}`,
    ...(options.workers ? [`workers: ${options.workers}`] : []),
    ...(options.workerMode ? [`worker_mode: ${options.workerMode}`] : []),
    ...(options.spillLoad === undefined ? [] : [`spill_load: ${options.spillLoad}`]),
    '',
  ].join('\n');
  const file = join(dir, 'voyandz.yaml');
  writeFileSync(file, header + configYaml.replaceAll('$DIR', dir));
  const argv = [CLI, '-f', file];
  const [command, args] =
    options.maxFiles === undefined
      ? [process.execPath, argv]
      : ['sh', ['-c', `ulimit -n ${options.maxFiles} && exec "$0" "$@"`, process.execPath, ...argv]];
  const child = spawn(command, args, {
    env: { ...process.env, VOYANDZ_LOG_FORMAT: 'json', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  const stderr: string[] = [];
  const waiters = new Set<{ match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }>();
  let partial = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (text: string) => {
    partial += text;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const raw of lines) {
      if (!raw.trim()) continue;
      let line: LogLine;
      try {
        line = JSON.parse(raw) as LogLine;
      } catch {
        line = { msg: raw };
      }
      logs.push(line);
      for (const waiter of waiters) {
        if (waiter.match(line)) {
          waiters.delete(waiter);
          waiter.resolve(line);
        }
      }
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => stderr.push(text));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const waitForLog = (match: (line: LogLine) => boolean, timeoutMs = 15000): Promise<LogLine> => {
    const seen = logs.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (line: LogLine): void => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`timed out waiting for a log line; stderr: ${stderr.join('')}`));
      }, timeoutMs);
      waiters.add(waiter);
    });
  };

  const server: RunningServer = {
    port,
    dir,
    process: child,
    logs,
    stderr,
    url: (path) => `http://${listenaddr.includes(':') ? `[${listenaddr}]` : listenaddr}:${port}${path}`,
    waitForLog,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const code = await exited;
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
  try {
    await Promise.race([
      waitForLog((line) => typeof line.msg === 'string' && line.msg.startsWith('listening on'), 20000),
      exited.then((code) => {
        throw new Error(`server exited with ${code} before listening: ${stderr.join('')}`);
      }),
    ]);
  } catch (error) {
    // A server that never said it listens is stopped here: the test that asked for it
    // has no handle to stop it, and a live child would keep the test file from ending.
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(killer);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return server;
}
