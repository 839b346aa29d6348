/**
 * Servers under test, started and stopped by the probes and the bench:
 * voyandz (the built CLI on a temp config) and Icecast 2 (a temp
 * icecast.xml). Both listen on 127.0.0.1 only, on a free port, and are
 * stopped by the PID we spawned (SIGTERM, then SIGKILL of what is left of
 * the process group we created).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './loopback.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
export const LATENCY_FEED = fileURLToPath(new URL('./latency-feed.js', import.meta.url));

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface ServerUnderTest {
  readonly name: string;
  readonly port: number;
  /** Root of the process tree whose CPU and RSS are the server's. */
  readonly pid: number;
  /** Extra processes started for this server (its sources, for Icecast); stopped with it. */
  readonly helpers: ChildProcess[];
  url(path: string): string;
  stop(): Promise<void>;
}

/** Status code of a GET on loopback, or null when nothing answers; the body is not read. */
function probeStatus(port: number, path: string, timeoutMs = 2000): Promise<number | null> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let head = '';
    const done = (status: number | null): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(status);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    socket.on('error', () => done(null));
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      if (m) done(Number(m[1]));
    });
    socket.write(`GET ${path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n`);
  });
}

/** Polls until `path` answers 200; throws after timeoutMs with what the server logged. */
async function waitFor200(name: string, port: number, path: string, timeoutMs: number, log: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: number | null = null;
  while (Date.now() < deadline) {
    last = await probeStatus(port, path, 1000);
    if (last === 200) return;
    await sleep(200);
  }
  throw new Error(`${name}: ${path} did not answer 200 within ${timeoutMs} ms (last: ${last ?? 'no answer'})\n${log().slice(-2000)}`);
}

/** SIGTERM to the child, SIGKILL to its process group if it lingers. */
async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs));
  if ((await Promise.race([exited, timer])) === 'timeout') {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
    await exited;
  }
}

function collect(child: ChildProcess): () => string {
  let text = '';
  const add = (chunk: Buffer): void => {
    text = (text + chunk.toString('utf8')).slice(-8000);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return () => text;
}

export interface VoyandzOptions {
  dir: string;
  /** YAML after listenaddr/listenport/workers. */
  body: string;
  workers: number;
  /** Path answering 200 once the server is ready. */
  readyPath: string;
  env?: NodeJS.ProcessEnv;
  /**
   * Node flags for the primary; forked workers inherit them (fork's default
   * execArgv), which is how the bench profiles a worker: --cpu-prof is not
   * allowed in NODE_OPTIONS.
   */
  nodeArgs?: string[];
}

export async function startVoyandz(opts: VoyandzOptions): Promise<ServerUnderTest> {
  const port = await freePort();
  mkdirSync(opts.dir, { recursive: true });
  const file = join(opts.dir, `voyandz-${port}.yaml`);
  writeFileSync(file, `listenaddr: 127.0.0.1\nlistenport: ${port}\nworkers: ${opts.workers}\n${opts.body}`);
  // detached: its own process group, so a stuck tree can be killed as one.
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), CLI, '-f', file], {
    env: { ...process.env, VOYANDZ_LOG_FORMAT: 'json', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const log = collect(child);
  const name = `voyandz ×${opts.workers}`;
  try {
    await waitFor200(name, port, opts.readyPath, 20_000, log);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  return {
    name,
    port,
    pid: child.pid as number,
    helpers: [],
    url: (path) => `http://127.0.0.1:${port}${path}`,
    stop: () => stopChild(child),
  };
}

export function icecastBinary(): string | null {
  for (const bin of ['icecast2', 'icecast']) {
    const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return null;
}

/** Icecast settings the bench uses, written down in RESULTS.md. */
export const ICECAST_SETTINGS = {
  clients: 2600,
  sources: 4,
  queueSizeBytes: 8 * 1024 * 1024,
  burstOnConnect: 1,
  burstSizeBytes: 65536,
  sourceTimeoutSeconds: 10,
};

export interface IcecastSource {
  mount: string;
  /** Program and arguments; `$URL` is replaced by icecast://source:PASS@127.0.0.1:PORT/mount (or http:// for `http: true`). */
  argv: string[];
  http?: boolean;
}

/**
 * Icecast on a temp icecast.xml. As root it must drop privileges
 * (<changeowner>), so its dir is world-writable; its sources are started
 * once it listens and it is ready when every mount answers 200.
 */
export async function startIcecast(dir: string, sources: IcecastSource[]): Promise<ServerUnderTest> {
  const bin = icecastBinary();
  if (!bin) throw new Error('icecast2 is not installed (apt-get install -y icecast2)');
  const port = await freePort();
  const logdir = join(dir, `icecast-${port}`);
  mkdirSync(logdir, { recursive: true });
  chmodSync(dir, 0o777);
  chmodSync(logdir, 0o777);
  const pass = 'loadtest';
  const s = ICECAST_SETTINGS;
  const root = process.getuid?.() === 0;
  const xml = `<icecast>
  <location>loopback</location><admin>none@localhost</admin>
  <limits>
    <clients>${s.clients}</clients><sources>${s.sources}</sources>
    <queue-size>${s.queueSizeBytes}</queue-size><client-timeout>30</client-timeout>
    <header-timeout>15</header-timeout><source-timeout>${s.sourceTimeoutSeconds}</source-timeout>
    <burst-on-connect>${s.burstOnConnect}</burst-on-connect><burst-size>${s.burstSizeBytes}</burst-size>
  </limits>
  <authentication>
    <source-password>${pass}</source-password><relay-password>${pass}</relay-password>
    <admin-user>admin</admin-user><admin-password>${pass}</admin-password>
  </authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket><port>${port}</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <fileserve>0</fileserve>
  <paths>
    <basedir>/usr/share/icecast2</basedir><logdir>${logdir}</logdir>
    <webroot>/usr/share/icecast2/web</webroot><adminroot>/usr/share/icecast2/admin</adminroot>
  </paths>
  <logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog><loglevel>2</loglevel><logsize>10000</logsize></logging>
  <security><chroot>0</chroot>${root ? '<changeowner><user>nobody</user><group>nogroup</group></changeowner>' : ''}</security>
</icecast>
`;
  const file = join(logdir, 'icecast.xml');
  writeFileSync(file, xml);
  const child = spawn(bin, ['-c', file], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const log = collect(child);
  const helpers: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(helpers.map((h) => stopChild(h, 2000)));
    await stopChild(child);
  };
  try {
    const deadline = Date.now() + 10_000;
    while ((await probeStatus(port, '/', 500)) === null) {
      if (Date.now() > deadline) throw new Error(`icecast did not listen on ${port}\n${log()}`);
      await sleep(200);
    }
    for (const src of sources) {
      const scheme = src.http ? 'http' : 'icecast';
      const url = `${scheme}://source:${pass}@127.0.0.1:${port}${src.mount}`;
      const h = spawn(src.argv[0], src.argv.slice(1).map((a) => a.replaceAll('$URL', url)), {
        stdio: ['ignore', 'ignore', 'pipe'],
        detached: true,
      });
      collect(h);
      helpers.push(h);
    }
    for (const src of sources) await waitFor200('icecast', port, src.mount, 15_000, log);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    name: 'icecast',
    port,
    pid: child.pid as number,
    helpers,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    stop,
  };
}
