import { createServer, type Server, type Socket } from 'node:net';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { ServerConfig, StreamConfig } from '../config/types.js';
import { ERRORS, VoyandzError } from '../errors.js';
import type { AccessPolicy } from '../access/policy.js';
import type { AccessVerdict } from '../access/access-check.js';
import { Gatekeeper, type AccessTarget } from '../access/gatekeeper.js';
import { refusal, RETRY_AFTER_SECONDS, type Refusal } from '../access/refusal.js';
import { AccessMetrics } from '../metrics/access-metrics.js';
import { guardAccept } from './accept-guard.js';
import { DescriptorHeadroom, openFilesLimit } from './descriptor-headroom.js';
import { LogThrottle } from './log-throttle.js';
import { PendingHeads } from './pending-heads.js';
import { errorResponse } from '../http/error-response.js';
import type { RequestHead } from '../http/request-head.js';
import { remoteOf } from '../http/remote.js';
import { streamAnswer, type HttpResponse } from '../http/response.js';
import { PrimaryMetrics } from '../metrics/primary-metrics.js';
import { createPagesApp } from '../pages/pages-app.js';
import { buildClusterStats, type ClusterStats } from '../stats/cluster-stats.js';
import { HISTORY_SAMPLE_MS, StatHistory } from '../stats/history.js';
import { Thumbnails } from '../stats/thumbnails.js';
import { serveConnection, type RequestDecision } from './connection.js';
import { LearntMimetypes } from './learnt-mimetypes.js';
import { Router, type Route } from './router.js';
import { createRuntimeDir } from './runtime-dir.js';
import { WorkerPool } from './worker-pool.js';
import { chooseTransport } from './transport-choice.js';

/** Named by URL, never imported: src/ does not depend on workers/. */
const WORKER_ENTRY = fileURLToPath(new URL('../../workers/stream-worker.js', import.meta.url));
const SHUTDOWN_GRACE_MS = 5000;
/** Pages that follow admin_access. */
const ADMIN_PAGES = new Set(['/stat', '/stat.json', '/config', '/metrics', '/admin']);
/** Polled by machines (Prometheus, health checks) or by the console itself every second: logged at debug. */
const QUIET_PAGES = new Set(['/stat', '/stat.json', '/metrics', '/healthz', '/readyz', '/assets']);
/** Load balancer and Kubernetes probes: at debug even when they answer 503 (every second, while not ready). */
const PROBES = new Set(['/healthz', '/readyz']);

/**
 * The primary process: accepts every connection, answers pages itself and
 * hands stream clients, socket and all, to the worker processes that run
 * the pipelines.
 */
export class Primary {
  private config: ServerConfig;
  private router: Router;
  private readonly startedAt = Date.now();
  private readonly runtimeDir = createRuntimeDir();
  private readonly pool: WorkerPool;
  private readonly metrics = new PrimaryMetrics();
  private readonly accessMetrics: AccessMetrics;
  private readonly pending = new PendingHeads(() => this.config.access.maxPendingHeads);
  private readonly throttle = new LogThrottle();
  private readonly app: FastifyInstance;
  private readonly server: Server;
  private readonly history = new StatHistory();
  private readonly thumbnails: Thumbnails;
  private readonly historyTimer: NodeJS.Timeout;
  private stopAcceptGuard: () => void = () => undefined;
  /** Paused by the accept guard (out of file descriptors): not ready for more clients. */
  private acceptPaused = false;
  /** With worker threads: descriptors kept free for the workers and the pages (see descriptor-headroom.ts). */
  private readonly headroom: DescriptorHeadroom | null;
  private readonly learnt = new LearntMimetypes();
  private reloads = 0;
  private stopping: Promise<void> | null = null;

  private constructor(
    initial: ServerConfig,
    private readonly log: Logger,
    private readonly gate: Gatekeeper,
  ) {
    this.config = initial;
    this.router = new Router(initial);
    this.pool = new WorkerPool(initial, this.runtimeDir, WORKER_ENTRY, chooseTransport(initial.workerMode, log), log, {
      clientGone: (id) => this.gate.release(id),
      handoffLost: (worker) => {
        this.accessMetrics.countHandoffLost();
        const left = this.throttle.take('handoff');
        if (left !== null) this.log.warn({ code: ERRORS.HANDOFF_LOST.code, worker, left }, ERRORS.HANDOFF_LOST.message(String(worker)));
      },
      contentTypeLearnt: (stream, contentType) => this.learnt.learn(stream, contentType),
      workerRestarting: (worker) => this.metrics.countWorkerRestart(worker),
    });
    this.metrics.showWorkers(initial.workers);
    const limit = this.pool.mode === 'thread' ? openFilesLimit() : null;
    this.headroom = limit === null ? null : new DescriptorHeadroom(limit);
    this.accessMetrics = new AccessMetrics(this.metrics.registry, {
      counted: () => this.gate.ledger.streams(),
      limits: () => this.gate.streamLimits(Object.keys(this.config.streams)),
      pendingHeads: () => this.pending.size,
    });
    this.thumbnails = new Thumbnails((stream) => this.pool.thumbnail(stream));
    this.app = createPagesApp({
      config: () => this.learnt.apply(this.config),
      readiness: () => this.readiness(),
      stats: () => this.stats(),
      history: () => this.history,
      metrics: async () => this.metrics.render(await this.pool.gatherMetrics()),
      thumbnail: (stream) => this.thumbnails.get(stream),
      kick: (id) => {
        const kicked = this.pool.kick(id);
        if (kicked) this.log.info({ id }, `client ${id} kicked`);
        return kicked;
      },
    });
    this.historyTimer = setInterval(() => void this.sampleHistory(), HISTORY_SAMPLE_MS);
    this.historyTimer.unref();
    this.server = createServer((socket) => {
      if (this.headroom?.exhausted(socket)) {
        socket.destroy();
        this.connectionRefused('descriptors', socket);
        return;
      }
      serveConnection(socket, {
        route: (head, s) => this.route(head, s),
        onEarlyError: (status, s) => {
          this.metrics.countRequest('other', status);
          this.log.info({ remote: remoteOf(s), status }, 'bad request');
        },
        onRefused: (reason, s) => this.connectionRefused(reason, s),
        headTimeoutMs: () => this.config.access.headTimeoutSeconds * 1000,
        pending: this.pending,
      });
    });
  }

  static async start(config: ServerConfig, log: Logger): Promise<Primary> {
    let pool: WorkerPool | null = null;
    // Reads the htpasswd and secret files: a config naming unusable ones starts nothing.
    const gate = await Gatekeeper.create(config.access, () => pool?.gatherStats() ?? Promise.resolve([]));
    const primary = new Primary(config, log, gate);
    pool = primary.pool;
    await primary.app.ready();
    await primary.pool.start();
    const { workerCount, mode } = primary.pool;
    log.info({ workers: workerCount, workerMode: mode, runtimeDir: primary.runtimeDir }, `started ${workerCount} worker ${mode === 'thread' ? 'thread(s)' : 'process(es)'}`);
    await primary.listen();
    return primary;
  }

  /** Users and secrets are re-read first; if they cannot be, the running config stays as a whole. */
  reload(next: ServerConfig): void {
    const attempt = ++this.reloads;
    this.gate.prepare(next.access).then(
      (policy) => {
        // A later SIGHUP overtook this one: its config wins.
        if (attempt === this.reloads) this.applyReload(next, policy);
      },
      (error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        this.log.error({ code: ERRORS.CONFIG_INVALID.code, errors: message }, `reload failed; keeping the running config: ${message}`);
      },
    );
  }

  private applyReload(next: ServerConfig, policy: AccessPolicy): void {
    const config = this.config;
    if (next.listenaddr !== config.listenaddr || next.listenport !== config.listenport || next.workers !== config.workers || next.workerMode !== config.workerMode) {
      this.log.warn('listenaddr, listenport, workers and worker_mode take effect only after a restart');
      next = { ...next, listenaddr: config.listenaddr, listenport: config.listenport, workers: config.workers, workerMode: config.workerMode };
    }
    this.config = next;
    this.gate.apply(next.access, policy);
    this.router = new Router(next);
    this.pool.reconfigure(next);
    this.log.info({ feeds: Object.keys(next.feeds).length, streams: Object.keys(next.streams).length }, 'config reloaded');
  }

  private async stats(): Promise<ClusterStats> {
    const workers = await this.pool.gatherStats();
    return buildClusterStats(this.learnt.apply(this.config), workers, this.startedAt, { workerMode: this.pool.mode, rss: process.memoryUsage.rss(), workerRestarts: this.pool.restarts });
  }

  /** For /readyz: the config is loaded (there is no primary without one); every worker up; accepting. */
  private readiness(): string | null {
    if (this.stopping) return 'shutting down';
    const ready = this.pool.readyCount;
    if (ready < this.pool.workerCount) return `${ready} of ${this.pool.workerCount} workers are up`;
    if (this.acceptPaused || !this.server.listening) return 'not accepting connections (out of file descriptors: accepting is paused)';
    return null;
  }

  private async sampleHistory(): Promise<void> {
    try {
      const stats = await this.stats();
      this.history.record(stats.streams);
      this.thumbnails.keepOnly(new Set(stats.streams.map((s) => s.name)));
    } catch (error) {
      // A timer must never take the primary down.
      this.log.warn({ code: ERRORS.INTERNAL.code, err: error }, ERRORS.INTERNAL.message('sampling the stat history failed'));
    }
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearInterval(this.historyTimer);
      this.stopAcceptGuard();
      this.server.close();
      await this.pool.shutdown(SHUTDOWN_GRACE_MS);
      await this.app.close();
      await this.gate.close();
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
        this.guardAccept();
        resolve();
      });
    });
  }

  /** Out of file descriptors, accepting pauses and resumes instead of failing or spinning. */
  private guardAccept(): void {
    const { listenaddr, listenport } = this.config;
    this.stopAcceptGuard = guardAccept(this.server, () => this.server.listen(listenport, listenaddr), {
      paused: (code, ms) => {
        this.acceptPaused = true;
        this.accessMetrics.countAcceptError(code);
        const left = this.throttle.take('accept');
        if (left !== null) this.log.error({ code: ERRORS.ACCEPT_FAILED.code, errno: code, left }, ERRORS.ACCEPT_FAILED.message(code, String(ms)));
      },
      resumed: () => {
        this.acceptPaused = false;
        this.log.info({ address: listenaddr, port: listenport }, 'accepting connections again');
      },
      failed: (error) => this.log.error({ err: error }, `server error: ${error.message}`),
    });
  }

  /**
   * One parsed request: answer it here, or hand the socket to a worker. The
   * access rules and limits are checked first, so a refused client never
   * reaches a worker; only a password not yet verified makes it wait.
   */
  private route(head: RequestHead, socket: Socket): RequestDecision | Promise<RequestDecision> {
    const match = this.router.match(head.path);
    if (match.kind === 'bad-url') return this.respond(errorResponse('BAD_URL', head.path), 'other', head, socket);
    const routeLabel = match.kind === 'stream' ? match.stream.url : match.kind === 'disabled' ? (match.entry.urls[0] ?? 'other') : match.route;
    const post = match.kind === 'page' && match.route === '/admin';
    if (post ? head.method !== 'POST' : head.method !== 'GET' && head.method !== 'HEAD') {
      const refusal = post ? errorResponse('METHOD_NOT_ALLOWED', head.method, 'POST') : errorResponse('METHOD_NOT_ALLOWED', head.method);
      refusal.headers.allow = post ? 'POST' : 'GET, HEAD';
      return this.respond(refusal, routeLabel, head, socket);
    }
    const client = this.gate.clientOf(socket, head);
    const target: AccessTarget =
      match.kind === 'stream'
        ? { kind: 'stream', name: match.stream.name }
        : match.kind === 'disabled'
          ? { kind: 'stream', name: match.entry.name }
          : ADMIN_PAGES.has(match.route)
            ? { kind: 'admin' }
            : { kind: 'page' };
    // match.kind is not 'bad-url': the path decodes.
    const verdict = this.gate.check(target, head, client, decodeURIComponent(head.path));
    const next = (refused: AccessVerdict): RequestDecision =>
      refused ? this.refuse(refused, routeLabel, head, socket, client) : this.allowed(match, head, socket, routeLabel, client);
    return verdict instanceof Promise ? verdict.then(next) : next(verdict);
  }

  private allowed(match: Exclude<Route, { kind: 'bad-url' }>, head: RequestHead, socket: Socket, routeLabel: string, client: string): RequestDecision {
    if (match.kind === 'page') return { kind: 'respond', response: this.renderPage(head, socket, match.route, client) };
    if (match.kind === 'disabled') return this.respond(errorResponse('STREAM_DISABLED', match.entry.name, match.entry.errors.join('\n')), routeLabel, head, socket);
    const stream = match.stream;
    // HEAD never starts a program: the headers are known from the config (a pull's, from its origin's last answer).
    if (head.method === 'HEAD') return this.respond(streamAnswer(this.learnt.mimetypeOf(stream)), routeLabel, head, socket);
    if (this.headroom?.low(socket)) {
      const refused = refusal('descriptors', 'DESCRIPTORS_LOW', String(this.headroom.limit));
      refused.response.headers['retry-after'] = String(RETRY_AFTER_SECONDS);
      return this.refuse(refused, routeLabel, head, socket, client);
    }
    const slot = this.gate.admit(stream.name, client);
    if (!('id' in slot)) return this.refuse(slot, routeLabel, head, socket, client);
    return this.handOff(stream, head, socket, routeLabel, slot.id);
  }

  private handOff(stream: StreamConfig, head: RequestHead, socket: Socket, routeLabel: string, id: number): RequestDecision {
    if (socket.destroyed) {
      // The client left while its password was being checked: nothing to hand over.
      this.gate.release(id);
      return { kind: 'handoff' };
    }
    socket.pause();
    const handed = this.pool.dispatch(stream, socket, {
      id,
      method: head.method,
      path: head.path,
      httpVersion: head.httpVersion,
      headers: head.headers,
      remote: remoteOf(socket),
      acceptedAt: Date.now(),
    });
    if (handed) return { kind: 'handoff' };
    this.gate.release(id);
    socket.resume();
    return this.respond(errorResponse('STREAM_UNAVAILABLE', stream.name, 'no worker is ready'), routeLabel, head, socket);
  }

  /** `client`: the address the access rules saw (a trusted proxy's client), which pages see as request.ip. */
  private async renderPage(head: RequestHead, socket: Socket, route: string, client: string): Promise<HttpResponse> {
    const started = Date.now();
    const remote = remoteOf(socket);
    const reply = await this.app.inject({
      method: head.method as 'GET' | 'HEAD' | 'POST',
      url: head.target,
      headers: head.headers,
      remoteAddress: client,
    });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(reply.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
    }
    this.metrics.countRequest(route, reply.statusCode);
    const level = (QUIET_PAGES.has(route) && reply.statusCode < 400) || PROBES.has(route) ? 'debug' : 'info';
    this.log[level](
      { remote, method: head.method, path: head.path, status: reply.statusCode, bytes: reply.rawPayload.length, durationMs: Date.now() - started },
      'request',
    );
    return { status: reply.statusCode, headers, body: reply.rawPayload };
  }

  private refuse(refused: Refusal, route: string, head: RequestHead, socket: Socket, client: string): RequestDecision {
    this.accessMetrics.countRefused(route, refused.reason);
    this.metrics.countRequest(route, refused.response.status);
    this.log.info(
      { remote: remoteOf(socket), client, method: head.method, path: head.path, status: refused.response.status, code: refused.code, reason: refused.reason },
      'refused',
    );
    return { kind: 'respond', response: Promise.resolve(refused.response) };
  }

  /** Connections closed before any request: logged within limits, since they come in floods. */
  private connectionRefused(reason: 'head_timeout' | 'pending_heads' | 'descriptors', socket: Socket): void {
    this.accessMetrics.countRefused('other', reason);
    if (reason === 'head_timeout') this.metrics.countRequest('other', 408);
    const left = this.throttle.take(reason);
    if (left === null) return;
    const [code, message] =
      reason === 'head_timeout'
        ? [ERRORS.HEAD_TIMEOUT.code, ERRORS.HEAD_TIMEOUT.message(String(this.config.access.headTimeoutSeconds))]
        : reason === 'pending_heads'
          ? [ERRORS.PENDING_HEADS.code, ERRORS.PENDING_HEADS.message(String(this.config.access.maxPendingHeads), remoteOf(socket))]
          : [ERRORS.DESCRIPTORS_LOW.code, ERRORS.DESCRIPTORS_LOW.message(String(this.headroom?.limit ?? ''))];
    this.log.info({ remote: remoteOf(socket), code, reason, left }, message);
  }

  private respond(response: HttpResponse, route: string, head: RequestHead, socket: Socket): RequestDecision {
    this.metrics.countRequest(route, response.status);
    this.log.info({ remote: remoteOf(socket), method: head.method, path: head.path, status: response.status, bytes: response.body.length }, 'request');
    return { kind: 'respond', response: Promise.resolve(response) };
  }
}
