import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { configView } from '../config/config-view.js';
import type { ServerConfig } from '../config/types.js';
import type { ErrorArgs, ErrorKey } from '../errors.js';
import { CONTENT_TYPE } from '../http/content-type.js';
import { errorResponse } from '../http/error-response.js';
import type { ClusterStats } from '../stats/cluster-stats.js';
import { renderHomePage } from './home-page.js';
import { renderStatPage } from './stat-page.js';

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
