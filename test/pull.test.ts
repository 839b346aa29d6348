import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pull, type PullOptions } from '../src/pipeline/pull.js';
import type { ProgramExit } from '../src/pipeline/program.js';
import { freePort } from '../load-tests/loopback.js';

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/** A real HTTP server on loopback, one handler per path. */
async function origin(routes: Record<string, Handler>): Promise<{ url: (path: string) => string; server: Server; seen: IncomingMessage[] }> {
  const seen: IncomingMessage[] = [];
  const server = createServer((request, response) => {
    seen.push(request);
    const handler = Object.hasOwn(routes, request.url ?? '') ? routes[request.url ?? ''] : undefined;
    if (handler) handler(request, response);
    else response.writeHead(404).end('no\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: (path) => `http://127.0.0.1:${port}${path}`, server, seen };
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

const anyType = (): undefined => undefined;

/** Runs a pull to its end; returns what it relayed and how it ended. */
function pullAll(options: PullOptions, stopAfterBytes?: number): Promise<{ pull: Pull; bytes: Buffer; exit: ProgramExit }> {
  const pull = new Pull(options);
  const chunks: Buffer[] = [];
  let size = 0;
  pull.stdout.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    size += chunk.length;
    if (stopAfterBytes !== undefined && size >= stopAfterBytes) void pull.stop();
  });
  return new Promise((resolve) => pull.once('exit', (exit) => resolve({ pull, bytes: Buffer.concat(chunks), exit })));
}

test('a 200 is relayed byte for byte with its Content-Type; the request carries the headers; the origin ending it exits with code 0', async () => {
  const body = Buffer.from(Array.from({ length: 200_000 }, (_, i) => i % 251));
  const o = await origin({
    '/stream/ts': (_request, response) => {
      response.writeHead(200, { 'content-type': 'video/mp2t' });
      response.write(body.subarray(0, 100_000));
      setTimeout(() => response.end(body.subarray(100_000)), 50);
    },
  });
  try {
    let clock = 1000;
    const { pull, bytes, exit } = await pullAll({
      what: 'stream ts',
      url: o.url('/stream/ts'),
      headers: { authorization: 'Basic ZWRnZTpzZWNyZXQ=' },
      checkContentType: anyType,
      now: () => (clock += 250),
    });
    assert.ok(bytes.equals(body), 'every byte, in order');
    assert.equal(pull.bytesOut, body.length);
    assert.equal(pull.contentType, 'video/mp2t');
    assert.equal(o.seen[0]?.headers.authorization, 'Basic ZWRnZTpzZWNyZXQ=');
    assert.deepEqual([exit.code, exit.error, exit.stopped, pull.failure], [0, undefined, false, 'ended']);
    assert.equal(exit.ranMs, 250, 'how long it ran is read from the injected clock');
    assert.match(exit.stderrTail, /the origin ended the response after 200000 bytes$/);
  } finally {
    await close(o.server);
  }
});

test('refused answers end the pull with PULL_FAILED and a reason a person can act on, before a byte is relayed', async () => {
  const o = await origin({
    '/busy': (_request, response) => response.writeHead(503, { 'content-type': 'text/plain' }).end('VOYANDZ_ERR_MAX_CLIENTS: the server already serves max_clients (5) clients; retry later\n'),
    '/login': (_request, response) => response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<html>login</html>'),
    '/a': (_request, response) => response.writeHead(302, { location: '/b' }).end(),
    '/b': (_request, response) => response.writeHead(307, { location: '/a' }).end(),
    '/moved': (_request, response) => response.writeHead(301, { location: '/ok' }).end(),
    '/ok': (_request, response) => response.writeHead(200, { 'content-type': 'video/webm' }).end(Buffer.from('webm')),
  });
  const checkWebm: PullOptions['checkContentType'] = (type) => (type?.startsWith('text/html') ? 'a page, not a stream' : undefined);
  try {
    const cases: [string, RegExp, string][] = [
      ['/busy', /: HTTP 503: VOYANDZ_ERR_MAX_CLIENTS: the server already serves max_clients \(5\) clients; retry later$/, 'status'],
      ['/login', /: a page, not a stream$/, 'content-type'],
      ['/a', /: redirect loop: http:\/\/127\.0\.0\.1:\d+\/a -> http:\/\/127\.0\.0\.1:\d+\/b -> http:\/\/127\.0\.0\.1:\d+\/a$/, 'redirect'],
    ];
    for (const [path, message, failure] of cases) {
      const { pull, bytes, exit } = await pullAll({ what: 'stream s', url: o.url(path), headers: {}, checkContentType: checkWebm });
      assert.equal(bytes.length, 0, path);
      assert.equal(exit.error?.code, 'VOYANDZ_ERR_PULL_FAILED', path);
      assert.ok(exit.error.message.startsWith(`pull of stream s from ${o.url(path)}`), exit.error.message);
      assert.match(exit.error.message, message);
      assert.equal(pull.failure, failure, path);
      assert.equal(exit.code, null);
    }
    const moved = await pullAll({ what: 'stream s', url: o.url('/moved'), headers: {}, checkContentType: checkWebm });
    assert.equal(moved.bytes.toString(), 'webm', 'a redirect is followed');
    assert.equal(moved.pull.finalUrl, o.url('/ok'));
  } finally {
    await close(o.server);
  }
});

test('an origin that is down: connection refused; stop() mid-stream ends it as stopped, not failed', async () => {
  const down = await pullAll({ what: 'feed f', url: `http://127.0.0.1:${await freePort()}/stream/x`, headers: {}, checkContentType: anyType });
  assert.equal(down.pull.failure, 'connect');
  assert.match(down.exit.error?.message ?? '', /connection refused \(is the origin up\?\)$/);
  const o = await origin({
    '/endless': (_request, response) => {
      response.writeHead(200, { 'content-type': 'video/mp2t' });
      const timer = setInterval(() => response.write(Buffer.alloc(188 * 7, 0x47)), 5);
      response.on('close', () => clearInterval(timer));
    },
  });
  try {
    const { pull, bytes, exit } = await pullAll({ what: 'feed f', url: o.url('/endless'), headers: {}, checkContentType: anyType }, 50_000);
    assert.ok(bytes.length >= 50_000);
    assert.deepEqual([exit.stopped, exit.error, exit.code, pull.failure], [true, undefined, null, null]);
    assert.equal(await pull.stop().then(() => 'again'), 'again', 'stop() after the end resolves');
  } finally {
    await close(o.server);
  }
});
