import { createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { ServerConfig } from '../config/types.js';
import { ERRORS } from '../errors.js';
import { PrimaryMetrics } from '../metrics/primary-metrics.js';
import { createPagesApp } from '../pages/pages-app.js';
import { buildClusterStats } from '../stats/cluster-stats.js';
import { serveConnection, type PageResponse, type RequestDecision } from './connection.js';
import type { RequestHead } from '../http/request-head.js';
import { Router } from './router.js';
import { WorkerPool } from './worker-pool.js';

const WORKER_ENTRY = fileURLToPath(new URL('../../workers/stream-worker.js', import.meta.url));
const SHUTDOWN_GRACE_MS = 5000;

export interface Primary {
  reload(config: ServerConfig): void;
  stop(): Promise<void>;
}

/**
 * The primary process: accepts every connection, answers pages itself and
 * hands stream clients, socket and all, to the worker processes that run
 * the pipelines.
 */
export async function startPrimary(initial: ServerConfig, log: Logger): Promise<Primary> {
  let config = initial;
  let router = new Router(config);
  const startedAt = Date.now();
  const runtimeDir = mkdtempSync(join(tmpdir(), 'voyandz-'));
  const pool = new WorkerPool(config, runtimeDir, WORKER_ENTRY, log);
  const metrics = new PrimaryMetrics();
  const app: FastifyInstance = createPagesApp({
    config: () => config,
    stats: async () => buildClusterStats(config, await pool.gatherStats(), startedAt),
    metrics: async () => metrics.render(await pool.gatherMetrics()),
  });
  await app.ready();
  await pool.start();
  log.info({ workers: pool.workerCount }, `started ${pool.workerCount} worker process(es)`);

  const renderPage = async (head: RequestHead, remote: string, route: string): Promise<PageResponse> => {
    const started = Date.now();
    const reply = await app.inject({
      method: head.method as 'GET' | 'HEAD',
      url: head.target,
      headers: head.headers,
      remoteAddress: remote,
    });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(reply.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
    }
    metrics.countRequest(route, reply.statusCode);
    log.info(
      { remote, method: head.method, path: head.path, status: reply.statusCode, bytes: reply.rawPayload.length, durationMs: Date.now() - started },
      'request',
    );
    return { status: reply.statusCode, headers, body: reply.rawPayload };
  };

  const plain = (status: number, text: string, extra: Record<string, string> = {}): PageResponse => ({
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', ...extra },
    body: Buffer.from(`${text}\n`),
  });

  const respond = (response: PageResponse, route: string, head: RequestHead, remote: string): RequestDecision => {
    metrics.countRequest(route, response.status);
    log.info({ remote, method: head.method, path: head.path, status: response.status, bytes: response.body.length }, 'request');
    return { kind: 'respond', response: Promise.resolve(response) };
  };

  const route = (head: RequestHead, socket: Socket): RequestDecision => {
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    const match = router.match(head.path);
    const routeLabel = match.kind === 'stream' ? match.stream.url : match.route;
    if (head.method !== 'GET' && head.method !== 'HEAD') {
      const error = ERRORS.METHOD_NOT_ALLOWED;
      return respond(plain(405, `${error.code}: ${error.message(head.method)}`, { allow: 'GET, HEAD' }), routeLabel, head, remote);
    }
    if (match.kind === 'page') return { kind: 'respond', response: renderPage(head, remote, match.route) };
    const stream = match.stream;
    if (head.method === 'HEAD') {
      // HEAD never starts a program: the headers are known from the config.
      return respond(
        { status: 200, headers: { 'content-type': stream.mimetype, 'cache-control': 'no-cache, no-store, must-revalidate' }, body: Buffer.alloc(0) },
        routeLabel,
        head,
        remote,
      );
    }
    socket.pause();
    const handed = pool.dispatch(stream, socket, {
      method: head.method,
      path: head.path,
      httpVersion: head.httpVersion,
      headers: head.headers,
      remote,
      acceptedAt: Date.now(),
    });
    if (handed) return { kind: 'handoff' };
    socket.resume();
    const error = ERRORS.STREAM_UNAVAILABLE;
    return respond(plain(503, `${error.code}: ${error.message(stream.name, 'no worker is ready')}`), routeLabel, head, remote);
  };

  const server: Server = createServer((socket) =>
    serveConnection(socket, {
      route,
      onEarlyError: (status, remote) => {
        metrics.countRequest('other', status);
        log.info({ remote, status }, 'bad request');
      },
    }),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(Object.assign(new Error(ERRORS.LISTEN.message(`${config.listenaddr}:${config.listenport}`, error.message)), { code: ERRORS.LISTEN.code })),
    );
    server.listen(config.listenport, config.listenaddr, () => resolve());
  });
  log.info({ address: config.listenaddr, port: config.listenport }, `listening on http://${config.listenaddr}:${config.listenport}/`);

  let stopping: Promise<void> | null = null;
  return {
    reload(next: ServerConfig): void {
      if (next.listenaddr !== config.listenaddr || next.listenport !== config.listenport || next.workers !== config.workers) {
        log.warn('listenaddr, listenport and workers take effect only after a restart');
        next = { ...next, listenaddr: config.listenaddr, listenport: config.listenport, workers: config.workers };
      }
      config = next;
      router = new Router(config);
      pool.reconfigure(config);
      log.info({ feeds: Object.keys(config.feeds).length, streams: Object.keys(config.streams).length }, 'config reloaded');
    },
    stop(): Promise<void> {
      stopping ??= (async () => {
        server.close();
        await pool.shutdown(SHUTDOWN_GRACE_MS);
        await app.close();
        rmSync(runtimeDir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}
