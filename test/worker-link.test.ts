import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { HandedRequest } from '../src/cluster/messages.js';
import { chooseThreadNatives } from '../src/primary/thread-natives.js';
import { threadTransport } from '../src/primary/worker-link.js';
import { WorkerPool } from '../src/primary/worker-pool.js';
import type { StreamConfig } from '../src/config/types.js';
import { load, yaml } from './helpers/config.js';
import { waitFor } from './helpers/clients.js';

const FAKE = fileURLToPath(new URL('./helpers/fake-worker.js', import.meta.url));
const silent = pino({ level: 'silent' });

/** A loopback connection: the client's end, and the server's end as the primary would have accepted it. */
async function connection(server: Server): Promise<{ client: Socket; accepted: Socket }> {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const client = connect(address.port, '127.0.0.1');
  return { client, accepted: await accepted };
}

function answer(client: Socket): Promise<string> {
  let text = '';
  client.setEncoding('utf8');
  client.on('data', (chunk: string) => (text += chunk));
  return new Promise((resolve) => client.once('close', () => resolve(text)));
}

async function withPool(workers: number, run: (pool: WorkerPool, server: Server, gone: number[], stream: StreamConfig) => Promise<void>): Promise<void> {
  const choice = chooseThreadNatives();
  assert.ok(choice.natives, `the addon's dupCloexec and reapChild load: ${choice.why}`);
  const config = load(yaml(`workers: ${workers}`, 'streams:', '  s:', '    command: cat', '    mimetype: text/plain'));
  const dir = mkdtempSync(join(tmpdir(), 'voyandz-link-'));
  const gone: number[] = [];
  const pool = new WorkerPool(config, dir, FAKE, threadTransport(choice.natives), silent, {
    clientGone: (id) => gone.push(id),
    handoffLost: () => undefined,
    contentTypeLearnt: () => undefined,
    workerRestarting: () => undefined,
  });
  const stream = config.streams.s;
  assert.ok(stream);
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await pool.start();
    await run(pool, server, gone, stream);
  } finally {
    await pool.shutdown(2000);
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const request = (id: number): HandedRequest => ({ id, method: 'GET', path: '/stream/s', httpVersion: '1.1', headers: {}, remote: '127.0.0.1', acceptedAt: Date.now() });

test('thread hand-off: a thread that exits before acknowledging a descriptor leaves it to the primary, which gives it to another thread', async () => {
  await withPool(2, async (pool, server, gone, stream) => {
    const { client, accepted } = await connection(server);
    const text = answer(client);
    assert.equal(pool.dispatch(stream, accepted, request(1)), true);
    assert.ok(accepted.destroyed, "the primary's own socket is closed once its descriptor is copied");
    assert.equal(await text, 'worker 1\n', 'served by the other thread');
    await waitFor(() => gone.includes(1), 5000, 50, 'the client reported gone');
    assert.deepEqual(gone, [1], 'reported once');
    await waitFor(() => pool.readyCount === 2, 5000, 50, 'worker 0 respawned');
    assert.deepEqual(pool.restarts, [1, 0], 'the restart is counted (a thread keeps the server\'s pid)');
  });
});

test('thread hand-off: with no other thread to take it, the unacknowledged descriptor is closed (the client sees the end)', async () => {
  await withPool(1, async (pool, server, gone, stream) => {
    const { client, accepted } = await connection(server);
    const text = answer(client);
    assert.equal(pool.dispatch(stream, accepted, request(7)), true);
    assert.equal(await text, '', 'closed without an answer');
    assert.deepEqual(gone, [7]);
  });
});
