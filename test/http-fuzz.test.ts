import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { startServer, type RunningServer } from './helpers/server.js';
import { getText, sleep, waitFor } from './helpers/clients.js';
import { isProcessAlive } from '../load-tests/proc.js';
import { prng } from './helpers/random.js';

const BASES = [
  'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /stat.json HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /stream/ts HTTP/1.1\r\nHost: x\r\nUser-Agent: fuzz\r\nAccept: */*\r\n\r\n',
  'HEAD /stream/ts HTTP/1.0\r\n\r\n',
  'GET /pic.png?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
  'GET http://127.0.0.1/stat HTTP/1.1\r\nHost: x\r\n\r\n',
];
const NASTY = ['\0', '\r', '\n', '\r\n', ' ', ':', '%', '%zz', '/..', '\t', '\xff', 'Host: y\r\n', 'Content-Length: 5\r\n', 'Transfer-Encoding: chunked\r\n', 'a'.repeat(3000)];

function mutate(base: string, random: () => number): Buffer {
  let text = base;
  const edits = 1 + Math.floor(random() * 4);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(random() * (text.length + 1));
    const kind = Math.floor(random() * 5);
    if (kind === 0) text = text.slice(0, at) + NASTY[Math.floor(random() * NASTY.length)] + text.slice(at);
    else if (kind === 1) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(random() * 8));
    else if (kind === 2) text = text.slice(0, at) + String.fromCharCode(Math.floor(random() * 256)) + text.slice(at + 1);
    else if (kind === 3) text = text.slice(0, at);
    else text = text.slice(0, at) + text.slice(Math.floor(random() * text.length));
  }
  return Buffer.from(text, 'latin1');
}

/** Sends one request head, reads for a moment, and hangs up; the status lines seen. */
function exchange(port: number, data: Buffer): Promise<string[]> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let got = '';
    const finish = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(got.match(/HTTP\/1\.[01] \d{3}/g) ?? []);
    };
    const timer = setTimeout(finish, 400);
    socket.on('data', (chunk: Buffer) => {
      // Only the heads matter; keep the first bytes of each read.
      got += chunk.toString('latin1', 0, Math.min(chunk.length, 4096));
    });
    socket.on('error', finish);
    socket.on('close', finish);
    socket.write(data);
  });
}

function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** The server's processes (one, with worker threads), and how often each worker was restarted. */
async function serverPids(server: RunningServer): Promise<{ pids: number[]; restarts: number[] }> {
  const stat = JSON.parse((await getText(server.url('/stat.json'))).text) as { server: { pid: number }; workers: { pid: number; restarts: number }[] };
  return { pids: [...new Set([stat.server.pid, ...stat.workers.map((w) => w.pid)])], restarts: stat.workers.map((w) => w.restarts) };
}

test('HTTP fuzz: 2000 mutated request heads; no process dies, no 5xx, descriptors back to baseline', async () => {
  const server = await startServer(
    `
feeds:
  cam:
    command: ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=160x120:rate=10 -c:v mpeg1video -q:v 10 -f mpegts -
    mode: continuous
streams:
  ts:
    feed: cam
    command: ffmpeg -hide_banner -loglevel error -analyzeduration 500000 -i - -c copy -f mpegts -
    mimetype: video/mp2t
  png:
    type: shot
    command: ffmpeg -hide_banner -loglevel error -f lavfi -i testsrc2=size=64x48 -frames:v 1 -c:v png -f image2pipe -
    mimetype: image/png
    url: /pic.png
`,
    { workers: 2 },
  );
  try {
    // Warm up: the feed runs and every process has its steady descriptors.
    for (const base of BASES) await exchange(server.port, Buffer.from(base, 'latin1'));
    await sleep(3000);
    const { pids, restarts } = await serverPids(server);
    assert.deepEqual(restarts, [0, 0]);
    const baseline = pids.map(fdCount);
    const random = prng(20261202);
    const requests = Array.from({ length: 2000 }, () => mutate(BASES[Math.floor(random() * BASES.length)] ?? '', random));
    const fives: string[] = [];
    const CONCURRENCY = 40;
    for (let i = 0; i < requests.length; i += CONCURRENCY) {
      const batch = requests.slice(i, i + CONCURRENCY);
      const answers = await Promise.all(batch.map((data) => exchange(server.port, data)));
      answers.forEach((statuses, j) => {
        if (statuses.some((s) => / 5\d\d$/.test(s))) fives.push(JSON.stringify(batch[j]?.toString('latin1')));
      });
    }
    assert.deepEqual(fives.slice(0, 5), [], `${fives.length} requests answered 5xx`);
    assert.ok(pids.every(isProcessAlive), 'every server process kept its pid');
    assert.deepEqual(await serverPids(server), { pids, restarts }, 'no worker was respawned');
    // Ended responses are reaped within 2 s; page connections time out.
    const settled = await waitFor(() => {
      const now = pids.map(fdCount);
      return now.every((n, i) => n <= (baseline[i] ?? 0) + 2) ? now : undefined;
    }, 20000, 500, `descriptors back to ${baseline.join(', ')}`);
    assert.equal(settled.length, pids.length);
  } finally {
    await server.stop();
  }
});
