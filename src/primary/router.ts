import type { ServerConfig, StreamConfig } from '../config/types.js';

export type Route =
  | { kind: 'stream'; stream: StreamConfig }
  | { kind: 'page'; route: string }
  | { kind: 'bad-url' };

const PAGES = new Set(['/', '/stat', '/stat.json', '/config', '/metrics', '/healthz']);
/** Pages under a prefix, labelled by it (metrics and access rules take the label, not each name). */
const PAGE_PREFIXES = ['/watch/', '/assets/', '/stat/', '/admin/'];

function pageRoute(decoded: string): string {
  if (PAGES.has(decoded)) return decoded;
  return PAGE_PREFIXES.find((prefix) => decoded.startsWith(prefix))?.slice(0, -1) ?? 'other';
}

/** Stream URLs are matched exactly (after percent-decoding), like the original. */
export class Router {
  private readonly streams = new Map<string, StreamConfig>();

  constructor(config: ServerConfig) {
    for (const stream of Object.values(config.streams)) this.streams.set(stream.url, stream);
  }

  match(path: string): Route {
    let decoded: string;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      return { kind: 'bad-url' };
    }
    const stream = this.streams.get(decoded);
    if (stream) return { kind: 'stream', stream };
    return { kind: 'page', route: pageRoute(decoded) };
  }
}
