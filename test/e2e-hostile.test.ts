import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { startServer, type RunningServer } from './helpers/server.js';
import { openRequest, rawGet, type OpenRequest } from './helpers/http-raw.js';
import { sleep, waitFor } from './helpers/clients.js';

const program = (token: string, bytes: number): string => `sh -c 'while :; do head -c ${bytes} /dev/zero; sleep 0.1; done' ${token}`;
const STREAM = `
streams:
  s:
    command: ${program('hostile-s', 2000)}
    mimetype: application/octet-stream
`;

interface Slow {
  socket: Socket;
  received: () => string;
  closed: () => boolean;
}

/** A slowloris client: the start of a head, then one byte every `everyMs`, never the end. */
function slowloris(port: number, localAddress: string, everyMs: number): Slow {
  const socket = connect({ port, host: '127.0.0.1', localAddress });
  let text = '';
  let closed = false;
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  socket.on('close', () => {
    closed = true;
    clearInterval(timer);
  });
  socket.write('GET /stream/s HTTP/1.1\r\nHost: x\r\nX-Slow: ');
  const timer = setInterval(() => {
    if (!socket.destroyed) socket.write('a');
  }, everyMs);
  return { socket, received: () => text, closed: () => closed };
}

async function metric(server: RunningServer, pattern: RegExp): Promise<number> {
  const text = (await rawGet({ port: server.port }, '/metrics', {}, 3000)).body.toString();
  return Number(pattern.exec(text)?.[1] ?? 0);
}

test('head_timeout is a total deadline: a byte every 300 ms does not hold a connection (408); idle keep-alive closes after 5 s', async () => {
  const server = await startServer(`head_timeout: 1.5\nworkers: 1\n${STREAM}`);
  const slow: Slow[] = [];
  try {
    for (let i = 0; i < 20; i++) slow.push(slowloris(server.port, '127.0.0.1', 300));
    const keepAlive = connect({ port: server.port, host: '127.0.0.1' });
    let keepAliveClosedAt = 0;
    keepAlive.on('error', () => undefined);
    keepAlive.resume();
    keepAlive.on('close', () => (keepAliveClosedAt = Date.now()));
    const sentAt = Date.now();
    keepAlive.write('GET /stat.json HTTP/1.1\r\nHost: x\r\n\r\n');
    await sleep(3500);
    assert.equal(slow.filter((s) => s.closed()).length, 20, 'every trickling connection closed');
    for (const s of slow) assert.match(s.received(), /^HTTP\/1\.1 408 /);
    assert.match(slow[0]?.received() ?? '', /VOYANDZ_ERR_HEAD_TIMEOUT/);
    assert.ok(await metric(server, /voyandz_requests_refused_total\{route="other",reason="head_timeout"\} (\d+)/) >= 20);
    await waitFor(() => keepAliveClosedAt > 0, 6000, 100, 'the idle keep-alive connection to close');
    const idleFor = keepAliveClosedAt - sentAt;
    assert.ok(idleFor >= 4500 && idleFor < 7500, `idle keep-alive closed after ${idleFor} ms`);
  } finally {
    for (const s of slow) s.socket.destroy();
    assert.equal(await server.stop(), 0);
  }
});

test('2000 slowloris connections: the pending-heads cap holds, and a normal client still gets a stream within 1 s', async () => {
  const server = await startServer(`workers: 1\n${STREAM}`);
  const slow: Slow[] = [];
  try {
    for (let i = 0; i < 2000; i++) {
      slow.push(slowloris(server.port, `127.0.2.${(i % 200) + 1}`, 2000));
      if (i % 200 === 199) await sleep(20);
    }
    await sleep(1500);
    const closed = slow.filter((s) => s.closed()).length;
    assert.ok(closed >= 900, `${closed} of 2000 closed at once (max_pending_heads 1000)`);
    assert.ok((await metric(server, /voyandz_pending_heads (\d+)/)) <= 1000);
    for (let round = 0; round < 3; round++) {
      const started = Date.now();
      const client: OpenRequest = openRequest({ port: server.port, localAddress: '127.0.0.1' }, '/stream/s');
      try {
        const answer = await client.answer;
        assert.equal(answer.status, 200);
        await waitFor(() => client.received() > 0 || answer.body.length > 0, 1000, 10, 'stream bytes');
        assert.ok(Date.now() - started < 1000, `round ${round}: ${Date.now() - started} ms to the first bytes`);
      } finally {
        client.close();
      }
      await sleep(300);
    }
    assert.ok((await metric(server, /voyandz_requests_refused_total\{route="other",reason="pending_heads"\} (\d+)/)) >= 900);
  } finally {
    for (const s of slow) s.socket.destroy();
    assert.equal(await server.stop(), 0);
  }
});

test('under ulimit -n 256, 400 stream clients and 400 idle connections: the server stays up and serves again once they leave', async () => {
  const server = await startServer(`workers: 1\n${STREAM}`, { maxFiles: 256 });
  const held: OpenRequest[] = [];
  const idle: Socket[] = [];
  try {
    for (let i = 0; i < 400; i++) held.push(openRequest({ port: server.port, localAddress: `127.0.3.${(i % 100) + 1}` }, '/stream/s'));
    const settled = await Promise.all(held.map((r) => r.answer.then((a) => a.status, () => 0)));
    const served = settled.filter((status) => status === 200).length;
    assert.ok(served > 0 && served < 400, `${served} of 400 served under 256 descriptors`);
    // Hand-offs the worker had no descriptor for are freed: the count is of clients really served.
    let counted = -1;
    let live = -1;
    await waitFor(
      async () => {
        live = held.filter((r, i) => settled[i] === 200 && !r.socket.destroyed).length;
        // With worker threads the table is shared: until the refused connections' descriptors are freed (within 1 s), a new connection is closed at once.
        counted = await metric(server, /voyandz_stream_clients_counted\{stream="s"\} (\d+)/).catch(() => -1);
        return counted === live;
      },
      15_000,
      250,
      'the clients counted to match those served',
    ).catch((error: unknown) => assert.fail(`${String(error)}: ${counted} counted, ${live} served`));
    for (let i = 0; i < 400; i++) {
      const socket = connect({ port: server.port, host: '127.0.0.1', localAddress: `127.0.4.${(i % 100) + 1}` });
      socket.on('error', () => undefined);
      idle.push(socket);
    }
    await sleep(1500);
    for (const r of held) r.close();
    for (const socket of idle) socket.destroy();
    await sleep(1000);
    assert.equal(server.process.exitCode, null, 'the server is still running');
    // Serves again: a stream with bytes, pages, and every slot freed.
    const again = await waitFor(async () => {
      const client = openRequest({ port: server.port }, '/stream/s');
      const answer = await client.answer.catch(() => null);
      if (answer?.status !== 200) {
        client.close();
        return undefined;
      }
      await waitFor(() => client.received() > 0, 3000, 20, 'bytes');
      client.close();
      return true;
    }, 15_000, 250, 'a stream after the flood');
    assert.equal(again, true);
    await waitFor(async () => (await metric(server, /voyandz_stream_clients_counted\{stream="s"\} (\d+)/)) === 0, 15_000, 250, 'slots freed');
  } finally {
    for (const r of held) r.close();
    for (const socket of idle) socket.destroy();
    assert.equal(await server.stop(), 0);
  }
});

for (const mode of ['thread', 'process'] as const) {
  test(`under ulimit -n 128, 300 stream clients on 2 worker ${mode}s: no worker dies, refusals are answered`, async () => {
    const server = await startServer(`workers: 2\n${STREAM}`, { maxFiles: 128, workerMode: mode });
    // A worker process that died has a new pid; a worker thread keeps the server's, and counts the restart.
    const workers = async (): Promise<string[]> => {
      const text = (await rawGet({ port: server.port }, '/stat.json', {}, 3000)).body.toString();
      return (JSON.parse(text) as { workers: { id: number; pid: number; restarts: number }[] }).workers.map((w) => `worker ${w.id} pid ${w.pid} restarts ${w.restarts}`).sort();
    };
    const held: OpenRequest[] = [];
    try {
      const before = await workers();
      assert.equal(before.length, 2);
      assert.ok(before.every((w) => w.endsWith('restarts 0')), before.join(', '));
      for (let i = 0; i < 300; i++) held.push(openRequest({ port: server.port, localAddress: `127.0.5.${(i % 100) + 1}` }, '/stream/s'));
      // Each either gets an answer (200, or a refusal such as 503) or is closed unanswered
      // when the primary had no descriptor to accept it with; nothing else.
      const settled = await Promise.all(held.map((r) => r.answer.then((a) => a.status, () => 0)));
      const served = settled.filter((status) => status === 200).length;
      assert.ok(served > 0, `${served} of 300 served under 128 descriptors`);
      assert.ok(settled.every((status) => [0, 200, 503].includes(status)), `answers: ${[...new Set(settled)].join(', ')}`);
      await sleep(2000);
      for (const r of held) r.close();
      await sleep(1000);
      assert.equal(server.process.exitCode, null, 'the primary is still running');
      assert.deepEqual(await waitFor(async () => workers().catch(() => undefined), 10_000), before, 'no worker died and was respawned');
      if (mode === 'process') return;
      // Worker threads share the server's one table: the primary kept its top free, and says so.
      const text = (await rawGet({ port: server.port }, '/metrics', {}, 3000)).body.toString();
      const keptFree = [...text.matchAll(/^voyandz_requests_refused_total\{[^}]*reason="descriptors"[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
      assert.ok(keptFree > 0, 'refusals for want of descriptors counted');
    } finally {
      for (const r of held) r.close();
      assert.equal(await server.stop(), 0);
    }
  });
}
