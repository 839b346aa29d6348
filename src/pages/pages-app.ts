import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { configView } from '../config/config-view.js';
import type { ServerConfig } from '../config/types.js';
import type { ErrorArgs, ErrorKey } from '../errors.js';
import { CONTENT_TYPE } from '../http/content-type.js';
import { errorResponse } from '../http/error-response.js';
import type { ClusterStats } from '../stats/cluster-stats.js';
import type { StatHistory } from '../stats/history.js';
import { renderHomePage } from './home-page.js';
import { renderStatPage } from './stat-page.js';
import { MPEGTS_JS_URL, renderWatchPage } from './watch-page.js';
import { entryOf } from '../config/lookup.js';
import { readMpegtsJs } from './assets.js';

export interface PagesContext {
  config(): ServerConfig;
  /** null when ready for clients (config loaded, every worker up, accepting); else why not. */
  readiness(): string | null;
  stats(): Promise<ClusterStats>;
  history(): StatHistory;
  metrics(): Promise<{ contentType: string; text: string }>;
  /** A JPEG of a shared stream's latest keyframe; null when it has none. */
  thumbnail(stream: string): Promise<Buffer | null>;
  /** Ends a stream client's connection; false when no such client is connected. */
  kick(id: number): boolean;
}

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

/** Kicking needs either admin rules that restrict someone, or a client on this machine. */
function mayKick(config: ServerConfig, ip: string): boolean {
  const rules = config.access.admin;
  return rules.allow.length > 0 || rules.users !== null || rules.signed !== null || LOOPBACK.test(ip);
}

function sendError<K extends ErrorKey>(reply: FastifyReply, key: K, ...args: ErrorArgs<K>): FastifyReply {
  const response = errorResponse(key, ...args);
  return reply.code(response.status).headers(response.headers).send(response.body);
}

/**
 * The pages the primary answers itself. They are rendered by fastify (routing,
 * HEAD, content types, errors); the primary's connection loop feeds each
 * request in and writes the answer, so it keeps every request boundary.
 */
export function createPagesApp(ctx: PagesContext): FastifyInstance {
  const app = Fastify({ logger: false });
  // The console's kick button is a plain form post: an empty body, nothing to parse.
  app.addContentTypeParser('application/x-www-form-urlencoded', (_request, _payload, done) => done(null, null));

  app.get('/', async (_request, reply) => {
    const config = ctx.config();
    if (!config.pages.home) return sendError(reply, 'PAGE_DISABLED', 'home');
    return reply.type(CONTENT_TYPE.HTML).send(renderHomePage(config));
  });

  app.get('/stat', async (_request, reply) => {
    if (!ctx.config().pages.stat) return sendError(reply, 'PAGE_DISABLED', 'stat');
    const config = ctx.config();
    return reply.type(CONTENT_TYPE.HTML).header('cache-control', 'no-store').send(renderStatPage(await ctx.stats(), config, ctx.history()));
  });

  app.get<{ Params: { file: string } }>('/stat/thumb/:file', async (request, reply) => {
    if (!ctx.config().pages.stat) return sendError(reply, 'PAGE_DISABLED', 'stat');
    const name = request.params.file.replace(/\.jpg$/, '');
    const jpeg = entryOf(ctx.config().streams, name) ? await ctx.thumbnail(name) : null;
    if (!jpeg) return sendError(reply, 'NOT_FOUND', request.url.split('?')[0] ?? request.url);
    // The page asks again with a new ?t= when a newer one may exist.
    return reply.type(CONTENT_TYPE.JPEG).header('cache-control', 'private, max-age=10').send(jpeg);
  });

  app.post<{ Params: { id: string } }>('/admin/clients/:id/kick', async (request, reply) => {
    if (!mayKick(ctx.config(), request.ip)) return sendError(reply, 'ADMIN_LOOPBACK_ONLY', 'kicking a client');
    // A form on any web page can post here from an operator's browser (it carries their password): only the console's own page may.
    const foreign = crossSiteOrigin(request.headers.origin, request.headers.host, request.headers['sec-fetch-site']);
    if (foreign !== undefined) return sendError(reply, 'CROSS_SITE', 'kicking a client', foreign);
    const id = Number(request.params.id);
    if (!Number.isSafeInteger(id) || !ctx.kick(id)) return sendError(reply, 'CLIENT_NOT_FOUND', request.params.id);
    // A form post from the console (works without JS): back to it.
    return reply.code(303).header('location', '/stat').type(CONTENT_TYPE.PLAIN).send(`client ${id} kicked\n`);
  });

  app.get('/healthz', async (_request, reply) => reply.type(CONTENT_TYPE.PLAIN).send('ok\n'));

  app.get('/readyz', async (_request, reply) => {
    const notReady = ctx.readiness();
    return notReady === null ? reply.type(CONTENT_TYPE.PLAIN).send('ready\n') : sendError(reply, 'NOT_READY', notReady);
  });

  app.get('/stat.json', async (_request, reply) => {
    if (!ctx.config().pages.stat) return sendError(reply, 'PAGE_DISABLED', 'stat');
    return reply.type(CONTENT_TYPE.JSON).send(`${JSON.stringify(await ctx.stats(), null, 2)}\n`);
  });

  app.get<{ Params: { name: string } }>('/watch/:name', async (request, reply) => {
    const stream = entryOf(ctx.config().streams, request.params.name);
    if (!stream) return sendError(reply, 'NOT_FOUND', request.url.split('?')[0] ?? request.url);
    return reply.type(CONTENT_TYPE.HTML).send(renderWatchPage(stream));
  });

  app.get(MPEGTS_JS_URL, async (_request, reply) =>
    reply.type(CONTENT_TYPE.JS).header('cache-control', 'public, max-age=86400').send(await readMpegtsJs()),
  );

  app.get('/config', async (_request, reply) => {
    const config = ctx.config();
    if (!config.pages.config) return sendError(reply, 'PAGE_DISABLED', 'config');
    return reply.type(CONTENT_TYPE.JSON).send(`${JSON.stringify(configView(config), null, 2)}\n`);
  });

  app.get('/metrics', async (_request, reply) => {
    const { contentType, text } = await ctx.metrics();
    return reply.type(contentType).send(text);
  });

  app.setNotFoundHandler((request, reply) => sendError(reply, 'NOT_FOUND', request.url.split('?')[0] ?? request.url));

  // fastify's own errors (FST_ERR_…) and a page that throws: still one of ours.
  app.setErrorHandler((error: { statusCode?: number; message: string }, request, reply) => {
    if (error.statusCode !== undefined && error.statusCode < 500) return sendError(reply, 'BAD_REQUEST', error.message);
    return sendError(reply, 'INTERNAL', `${request.url}: ${error.message}`);
  });

  return app;
}

/** The origin of a request made by another site's page (Origin or Sec-Fetch-Site say so), else undefined. */
function crossSiteOrigin(origin: string | undefined, host: string | undefined, fetchSite: string | string[] | undefined): string | undefined {
  if (fetchSite === 'cross-site' || fetchSite === 'same-site') return origin ?? fetchSite;
  if (origin === undefined || origin === 'null') return origin;
  try {
    return new URL(origin).host === host ? undefined : origin;
  } catch {
    return origin;
  }
}
