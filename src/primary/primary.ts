import { createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { ServerConfig, StreamConfig } from '../config/types.js';
import { VoyandzError } from '../errors.js';
import { errorResponse } from '../http/error-response.js';
import type { RequestHead } from '../http/request-head.js';
import { remoteOf } from '../http/remote.js';
import { streamAnswer, type HttpResponse } from '../http/response.js';
import { PrimaryMetrics } from '../metrics/primary-metrics.js';
import { createPagesApp } from '../pages/pages-app.js';
import { buildClusterStats } from '../stats/cluster-stats.js';
import { serveConnection, type RequestDecision } from './connection.js';
import { Router } from './router.js';
import { WorkerPool } from './worker-pool.js';

/** Named by URL, never imported: src/ does not depend on workers/. */
const WORKER_ENTRY = fileURLToPath(new URL('../../workers/stream-worker.js', import.meta.url));
const SHUTDOWN_GRACE_MS = 5000;

/**
 * The primary process: accepts every connection, answers pages itself and
 * hands stream clients, socket and all, to the worker processes that run
 * the pipelines.
 */
export class Primary {
  private config: ServerConfig;
  private router: Router;
  private readonly startedAt = Date.now();
  private readonly runtimeDir = mkdtempSync(join(tmpdir(), 'voyandz-'));
  private readonly pool: WorkerPool;
  private readonly metrics = new PrimaryMetrics();
  private readonly app: FastifyInstance;
  private readonly server: Server;
  private stopping: Promise<void> | null = null;

  private constructor(
    initial: ServerConfig,
    private readonly log: Logger,
  ) {
    this.config = initial;
    this.router = new Router(initial);
    this.pool = new WorkerPool(initial, this.runtimeDir, WORKER_ENTRY, log);
    this.app = createPagesApp({
      config: () => this.config,
      stats: async () => buildClusterStats(this.config, await this.pool.gatherStats(), this.startedAt),
      metrics: async () => this.metrics.render(await this.pool.gatherMetrics()),
    });
    this.server = createServer((socket) =>
      serveConnection(socket, {
        route: (head, s) => this.route(head, s),
        onEarlyError: (status, s) => {
          this.metrics.countRequest('other', status);
          this.log.info({ remote: remoteOf(s), status }, 'bad request');
        },
      }),
    );
  }

  static async start(config: ServerConfig, log: Logger): Promise<Primary> {
    const primary = new Primary(config, log);
    await primary.app.ready();
    await primary.pool.start();
    log.info({ workers: primary.pool.workerCount }, `started ${primary.pool.workerCount} worker process(es)`);
    await primary.listen();
    return primary;
  }

  reload(next: ServerConfig): void {
    const config = this.config;
    if (next.listenaddr !== config.listenaddr || next.listenport !== config.listenport || next.workers !== config.workers) {
      this.log.warn('listenaddr, listenport and workers take effect only after a restart');
      next = { ...next, listenaddr: config.listenaddr, listenport: config.listenport, workers: config.workers };
    }
    this.config = next;
    this.router = new Router(next);
    this.pool.reconfigure(next);
    this.log.info({ feeds: Object.keys(next.feeds).length, streams: Object.keys(next.streams).length }, 'config reloaded');
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.server.close();
      await this.pool.shutdown(SHUTDOWN_GRACE_MS);
      await this.app.close();
      rmSync(this.runtimeDir, { recursive: true, force: true });
    })();
    return this.stopping;
  }

  private listen(): Promise<void> {
    const { listenaddr, listenport } = this.config;
    return new Promise<void>((resolve, reject) => {
      this.server.once('error', (error: NodeJS.ErrnoException) => reject(new VoyandzError('LISTEN', `${listenaddr}:${listenport}`, error.message)));
      this.server.listen(listenport, listenaddr, () => {
        this.log.info({ address: listenaddr, port: listenport }, `listening on http://${listenaddr}:${listenport}/`);
        resolve();
      });
    });
  }

  /** One parsed request: answer it here, or hand the socket to a worker. */
  private route(head: RequestHead, socket: Socket): RequestDecision {
    const match = this.router.match(head.path);
    if (match.kind === 'bad-url') return this.respond(errorResponse('BAD_URL', head.path), 'other', head, socket);
    const routeLabel = match.kind === 'stream' ? match.stream.url : match.kind === 'disabled' ? (match.entry.urls[0] ?? 'other') : match.route;
    if (head.method !== 'GET' && head.method !== 'HEAD') {
      const refusal = errorResponse('METHOD_NOT_ALLOWED', head.method);
      refusal.headers.allow = 'GET, HEAD';
      return this.respond(refusal, routeLabel, head, socket);
    }
    if (match.kind === 'page') return { kind: 'respond', response: this.renderPage(head, socket, match.route) };
    if (match.kind === 'disabled') return this.respond(errorResponse('STREAM_DISABLED', match.entry.name, match.entry.errors.join('\n')), routeLabel, head, socket);
    const stream = match.stream;
    // HEAD never starts a program: the headers are known from the config.
    if (head.method === 'HEAD') return this.respond(streamAnswer(stream.mimetype), routeLabel, head, socket);
    return this.handOff(stream, head, socket, routeLabel);
  }

  private handOff(stream: StreamConfig, head: RequestHead, socket: Socket, routeLabel: string): RequestDecision {
    socket.pause();
    const handed = this.pool.dispatch(stream, socket, {
      method: head.method,
      path: head.path,
      httpVersion: head.httpVersion,
      headers: head.headers,
      remote: remoteOf(socket),
      acceptedAt: Date.now(),
    });
    if (handed) return { kind: 'handoff' };
    socket.resume();
    return this.respond(errorResponse('STREAM_UNAVAILABLE', stream.name, 'no worker is ready'), routeLabel, head, socket);
  }

  private async renderPage(head: RequestHead, socket: Socket, route: string): Promise<HttpResponse> {
    const started = Date.now();
    const remote = remoteOf(socket);
    const reply = await this.app.inject({
      method: head.method as 'GET' | 'HEAD',
      url: head.target,
      headers: head.headers,
      remoteAddress: socket.remoteAddress ?? '',
    });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(reply.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
    }
    this.metrics.countRequest(route, reply.statusCode);
    this.log.info(
      { remote, method: head.method, path: head.path, status: reply.statusCode, bytes: reply.rawPayload.length, durationMs: Date.now() - started },
      'request',
    );
    return { status: reply.statusCode, headers, body: reply.rawPayload };
  }

  private respond(response: HttpResponse, route: string, head: RequestHead, socket: Socket): RequestDecision {
    this.metrics.countRequest(route, response.status);
    this.log.info({ remote: remoteOf(socket), method: head.method, path: head.path, status: response.status, bytes: response.body.length }, 'request');
    return { kind: 'respond', response: Promise.resolve(response) };
  }
}
