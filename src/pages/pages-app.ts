import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { ServerConfig } from '../config/types.js';
import { ERRORS } from '../errors.js';
import type { ClusterStats } from '../stats/cluster-stats.js';
import { renderHomePage } from './home-page.js';
import { renderStatPage } from './stat-page.js';

export interface PagesContext {
  config(): ServerConfig;
  stats(): Promise<ClusterStats>;
  metrics(): Promise<{ contentType: string; text: string }>;
}

const HTML = 'text/html; charset=utf-8';

function disabled(reply: FastifyReply, page: string): FastifyReply {
  const error = ERRORS.PAGE_DISABLED;
  return reply.code(403).type('text/plain; charset=utf-8').send(`${error.code}: ${error.message(page)}\n`);
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
    if (!config.pages.home) return disabled(reply, 'home');
    return reply.type(HTML).send(renderHomePage(config));
  });

  app.get('/stat', async (_request, reply) => {
    if (!ctx.config().pages.stat) return disabled(reply, 'stat');
    return reply.type(HTML).send(renderStatPage(await ctx.stats()));
  });

  app.get('/stat.json', async (_request, reply) => {
    if (!ctx.config().pages.stat) return disabled(reply, 'stat');
    return reply.type('application/json; charset=utf-8').send(`${JSON.stringify(await ctx.stats(), null, 2)}\n`);
  });

  app.get('/config', async (_request, reply) => {
    const config = ctx.config();
    if (!config.pages.config) return disabled(reply, 'config');
    return reply.type('application/json; charset=utf-8').send(`${JSON.stringify(config, null, 2)}\n`);
  });

  app.get('/metrics', async (_request, reply) => {
    const { contentType, text } = await ctx.metrics();
    return reply.type(contentType).send(text);
  });

  app.setNotFoundHandler((request, reply) => {
    const error = ERRORS.NOT_FOUND;
    const path = request.url.split('?')[0] ?? request.url;
    return reply.code(404).type('text/plain; charset=utf-8').send(`${error.code}: ${error.message(path)}\n`);
  });

  return app;
}
