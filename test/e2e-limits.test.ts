import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type RunningServer } from './helpers/server.js';
import { openRequest, rawGet, type OpenRequest, type RawTarget } from './helpers/http-raw.js';
import { sleep, waitFor } from './helpers/clients.js';
import { cmdline, listDescendants } from '../load-tests/proc.js';

/** A program writing `bytes` every 0.1 s; the token (sh's $0) names it in the process list. */
const program = (token: string, bytes: number): string => `sh -c 'while :; do head -c ${bytes} /dev/zero; sleep 0.1; done' ${token}`;
const code = (body: Buffer): string => body.toString('utf8').split(':')[0] ?? '';

async function holdStream(target: RawTarget, path: string): Promise<OpenRequest> {
  const request = openRequest(target, path);
  const answer = await request.answer;
  assert.equal(answer.status, 200, `${path}: ${answer.body.toString()}`);
  return request;
}

/** Sum of a metric's samples on /metrics (0 when absent). */
async function metricSum(server: RunningServer, name: string): Promise<number> {
  const answer = await rawGet({ port: server.port }, '/metrics', {}, 3000);
  let sum = 0;
  for (const line of answer.body.toString().split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

test('max_clients, server-wide and per stream: 503 with Retry-After, the slot freed when a client leaves', async () => {
  const server = await startServer(
    `
workers: 2
max_clients: 4
streams:
  a:
    command: ${program('lim-a', 2000)}
    mimetype: application/octet-stream
    max_clients: 2
  b:
    command: ${program('lim-b', 2000)}
    mimetype: application/octet-stream
`,
  );
  const target = { port: server.port };
  const held: OpenRequest[] = [];
  try {
    held.push(await holdStream(target, '/stream/a'), await holdStream(target, '/stream/a'));
    const third = await rawGet(target, '/stream/a');
    assert.equal(third.status, 503);
    assert.equal(code(third.body), 'VOYANDZ_ERR_MAX_CLIENTS');
    assert.match(third.body.toString(), /stream a already serves max_clients \(2\)/);
    assert.ok(Number(third.headers['retry-after']) > 0);
    held.push(await holdStream(target, '/stream/b'), await holdStream(target, '/stream/b'));
    const fifth = await rawGet(target, '/stream/b');
    assert.equal(fifth.status, 503);
    assert.match(fifth.body.toString(), /the server already serves max_clients \(4\)/);

    held.shift()?.close();
    const again = await waitFor(async () => {
      const request = openRequest(target, '/stream/a');
      const answer = await request.answer;
      if (answer.status === 200) return request;
      request.close();
      return undefined;
    }, 5000, 100, 'a slot of stream a');
    held.push(again);
    assert.equal(await metricSum(server, 'voyandz_stream_clients_counted'), 4);
    for (const request of held) request.close();
    await waitFor(async () => (await metricSum(server, 'voyandz_stream_clients_counted')) === 0, 5000, 100, 'counters back to 0');
  } finally {
    for (const request of held) request.close();
    assert.equal(await server.stop(), 0);
  }
});

test('max_clients_per_ip (429) and max_bandwidth (503) at the measured rate of a stream', async () => {
  // ~2.2 Mbit/s each: one client fits in 3M, two do not.
  const server = await startServer(
    `
workers: 1
max_bandwidth: 3M
max_clients_per_ip: 2
streams:
  fat:
    command: ${program('lim-fat', 30000)}
    mimetype: application/octet-stream
  thin:
    command: ${program('lim-thin', 100)}
    mimetype: application/octet-stream
`,
  );
  const held: OpenRequest[] = [];
  try {
    const from8 = { port: server.port, localAddress: '127.0.0.8' };
    held.push(await holdStream(from8, '/stream/thin'), await holdStream(from8, '/stream/thin'));
    const third = await rawGet(from8, '/stream/thin');
    assert.equal(third.status, 429);
    assert.equal(code(third.body), 'VOYANDZ_ERR_MAX_CLIENTS_PER_IP');
    assert.equal((await rawGet({ port: server.port, localAddress: '127.0.0.9' }, '/stream/thin')).status, 200, 'another address is not limited');

    const first = await holdStream({ port: server.port }, '/stream/fat');
    held.push(first);
    // The workers measure the rate over a few seconds; the primary samples it every 2 s.
    await waitFor(async () => {
      const stat = JSON.parse((await rawGet({ port: server.port }, '/stat.json', {}, 2000)).body.toString()) as { streams: { name: string; bitrate: number }[] };
      return (stat.streams.find((s) => s.name === 'fat')?.bitrate ?? 0) > 1.6e6;
    }, 15_000, 500, 'a measured rate');
    await sleep(2500);
    const second = await rawGet({ port: server.port }, '/stream/fat');
    assert.equal(second.status, 503, second.body.toString());
    assert.equal(code(second.body), 'VOYANDZ_ERR_MAX_BANDWIDTH');
    assert.ok(Number(second.headers['retry-after']) > 0);
    first.close();
    await waitFor(async () => {
      const answer = await rawGet({ port: server.port }, '/stream/fat', {}, 0);
      return answer.status === 200;
    }, 5000, 100, 'bandwidth freed by the client that left');
    const metrics = (await rawGet({ port: server.port }, '/metrics', {}, 3000)).body.toString();
    assert.match(metrics, /voyandz_requests_refused_total\{route="\/stream\/fat",reason="max_bandwidth"\} [1-9]/);
    assert.match(metrics, /voyandz_requests_refused_total\{route="\/stream\/thin",reason="per_ip"\} [1-9]/);
  } finally {
    for (const request of held) request.close();
    assert.equal(await server.stop(), 0);
  }
});

test('no leaked slots: 10 000 connections in bursts, a worker killed and a SIGHUP on the way; counters return to 0', async () => {
  const server = await startServer(
    `
workers: 2
max_clients: 20000
max_clients_per_ip: 20000
streams:
  s:
    command: ${program('lim-s', 500)}
    mimetype: application/octet-stream
    max_clients: 20000
  x:
    client: exclusive
    command: ${program('lim-x', 500)}
    mimetype: application/octet-stream
`,
    { workerMode: 'process' },
  );
  try {
    const target = { port: server.port };
    let opened = 0;
    for (let burst = 0; burst < 20; burst++) {
      const requests: OpenRequest[] = [];
      for (let i = 0; i < 500; i++) {
        requests.push(openRequest({ ...target, localAddress: `127.0.1.${(i % 50) + 1}` }, i % 10 === 0 ? '/stream/x' : '/stream/s'));
        opened++;
      }
      // Some leave at once, some after their answer, the rest a little later.
      for (const [i, request] of requests.entries()) if (i % 3 === 0) request.close();
      await Promise.all(requests.filter((_, i) => i % 3 === 1).map((r) => r.answer.then(() => r.close(), () => r.close())));
      if (burst === 7) {
        const worker = listDescendants(server.process.pid ?? 0).find((pid) => cmdline(pid).includes('stream-worker'));
        assert.ok(worker, 'a worker process');
        process.kill(worker, 'SIGKILL');
      }
      if (burst === 13) server.process.kill('SIGHUP');
      await sleep(50);
      for (const request of requests) request.close();
    }
    assert.equal(opened, 10_000);
    await waitFor(async () => (await metricSum(server, 'voyandz_stream_clients_counted')) === 0, 20_000, 250, 'every slot freed');
    // And the limits still admit clients afterwards.
    assert.equal((await rawGet(target, '/stream/s')).status, 200);
  } finally {
    assert.equal(await server.stop(), 0);
  }
});
