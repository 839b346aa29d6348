/**
 * Fan-out microbenchmark: CPU seconds the fanning process spends per GB
 * delivered, for one live stream fanned out to many loopback sockets.
 *
 *   node dist/load-tests/fanout-microbench.js [--sinks 1000] [--seconds 10]
 *        [--bitrate 2000000] [--chunk 5264]
 *
 * A child process holds the client ends (reads and discards), so
 * process.cpuUsage() of this process is the fan-out's cost alone. Chunks are
 * pushed on a timer at the stream's bitrate, each in its own event-loop turn
 * as reads from a program's pipe would be. 127.0.0.1 only.
 */
import { fork } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { Fanout } from '../src/fanout/fanout.js';

const MAX_SECONDS = 20;

interface Options {
  sinks: number;
  seconds: number;
  bitrate: number;
  chunk: number;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { sinks: 1000, seconds: 10, bitrate: 2_000_000, chunk: 188 * 7 * 4 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    const value = Number(argv[i + 1]);
    if (!(key in opts) || !Number.isFinite(value) || value <= 0) {
      throw new Error(`usage: fanout-microbench [--sinks N] [--seconds S<=${MAX_SECONDS}] [--bitrate BPS] [--chunk BYTES]`);
    }
    opts[key as keyof Options] = value;
  }
  opts.seconds = Math.min(opts.seconds, MAX_SECONDS);
  return opts;
}

/** Child: opens the client ends, discards what arrives, reports the byte count when asked. */
async function reader(port: number, count: number): Promise<void> {
  const sockets: net.Socket[] = [];
  let received = 0;
  for (let i = 0; i < count; i += 100) {
    const batch = Array.from({ length: Math.min(100, count - i) }, () => new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    }));
    for (const s of await Promise.all(batch)) {
      s.on('data', (c: Buffer) => {
        received += c.length;
      });
      sockets.push(s);
    }
  }
  process.send?.({ connected: sockets.length });
  process.on('message', () => {
    for (const s of sockets) s.destroy();
    process.send?.({ received, cpu: process.cpuUsage() }, () => process.exit(0));
  });
}

function waitMessage<T>(child: ReturnType<typeof fork>): Promise<T> {
  return new Promise((resolve) => child.once('message', (m) => resolve(m as T)));
}

async function main(opts: Options): Promise<void> {
  const fan = new Fanout({ name: 'bench', maxLagMs: 10_000 });
  const server = net.createServer((s) => {
    s.setNoDelay(true);
    fan.addSink(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', 1024, resolve));
  const { port } = server.address() as net.AddressInfo;
  const child = fork(fileURLToPath(import.meta.url), ['--reader', String(port), String(opts.sinks)]);
  await waitMessage<{ connected: number }>(child);
  while (fan.sinkCount < opts.sinks) await new Promise((r) => setImmediate(r));

  const chunk = Buffer.alloc(opts.chunk, 0x47);
  const chunksPerSecond = opts.bitrate / 8 / opts.chunk;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = (performance.now() - t0) / 1000;
      if (elapsed >= opts.seconds) {
        clearInterval(timer);
        resolve();
        return;
      }
      // Catch up on a late timer the way a pipe would: the kernel coalesces the reads.
      const due = Math.floor(elapsed * chunksPerSecond);
      for (; sent < due; sent++) fan.push(chunk);
    }, Math.max(1, Math.floor(1000 / chunksPerSecond)));
  });
  await new Promise((r) => setTimeout(r, 500));
  const cpu = process.cpuUsage(cpu0);
  const wall = (performance.now() - t0) / 1000;
  child.send('stop');
  const report = await waitMessage<{ received: number; cpu: NodeJS.CpuUsage }>(child);
  fan.end();
  await new Promise<void>((resolve) => server.close(() => resolve()));

  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const gb = report.received / 1e9;
  const result = {
    sinks: opts.sinks,
    bitrate: opts.bitrate,
    chunkBytes: opts.chunk,
    seconds: Number(wall.toFixed(2)),
    bytesIn: fan.bytesIn,
    bytesOut: fan.bytesOut,
    bytesReceived: report.received,
    droppedForLag: fan.droppedForLag,
    fanoutCpuSeconds: Number(cpuSeconds.toFixed(3)),
    fanoutCpuPercent: Number(((100 * cpuSeconds) / wall).toFixed(1)),
    cpuSecondsPerGB: Number((cpuSeconds / gb).toFixed(3)),
    readerCpuSeconds: Number(((report.cpu.user + report.cpu.system) / 1e6).toFixed(3)),
  };
  console.log(
    `${result.sinks} sinks x ${(opts.bitrate / 1e6).toFixed(1)} Mbit/s, ${opts.chunk} B chunks: ` +
      `${gb.toFixed(3)} GB delivered, fan-out CPU ${result.fanoutCpuSeconds} s ` +
      `(${result.fanoutCpuPercent}% of a core) = ${result.cpuSecondsPerGB} CPU s/GB, dropped ${result.droppedForLag}`,
  );
  console.log(JSON.stringify(result));
}

if (process.argv[2] === '--reader') {
  await reader(Number(process.argv[3]), Number(process.argv[4]));
} else {
  await main(parseArgs(process.argv.slice(2)));
}
