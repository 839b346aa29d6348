import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { ServerConfig } from '../config/types.js';
import { withoutSecrets } from '../config/render-access.js';
import type { ErrorArgs, ErrorKey } from '../errors.js';
import { CONTENT_TYPE } from '../http/content-type.js';
import { errorResponse } from '../http/error-response.js';
import type { ClusterStats } from '../stats/cluster-stats.js';
import { renderHomePage } from './home-page.js';
import { renderStatPage } from './stat-page.js';
import { MPEGTS_JS_URL, renderWatchPage } from './watch-page.js';
import { entryOf } from '../config/lookup.js';
import { readMpegtsJs } from './assets.js';

export interface PagesContext {
  config(): ServerConfig;
  stats(): Promise<ClusterStats>;
  metrics(): Promise<{ contentType: string; text: string }>;
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

  app.get('/', async (_request, reply) => {
    const config = ctx.config();
    if (!config.pages.home) return sendError(reply, 'PAGE_DISABLED', 'home');
    return reply.type(CONTENT_TYPE.HTML).send(renderHomePage(config));
  });

  app.get('/stat', async (_request, reply) => {
    if (!ctx.config().pages.stat) return sendError(reply, 'PAGE_DISABLED', 'stat');
    return reply.type(CONTENT_TYPE.HTML).send(renderStatPage(await ctx.stats()));
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
    // Password hashes are secrets too (offline guessing): never shown.
    return reply.type(CONTENT_TYPE.JSON).send(`${JSON.stringify(withoutSecrets(config), null, 2)}\n`);
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
