import type { DisabledEntry, ServerConfig, StreamConfig } from '../config/types.js';

export type Route =
  | { kind: 'stream'; stream: StreamConfig }
  | { kind: 'disabled'; entry: DisabledEntry }
  | { kind: 'page'; route: string }
  | { kind: 'bad-url' };

/** The config refuses a stream url that is one of these, or under a prefix (a test holds src/config/checks.ts to it). */
export const PAGES: ReadonlySet<string> = new Set(['/', '/stat', '/stat.json', '/config', '/metrics', '/healthz', '/readyz']);
/** Pages under a prefix, labelled by it (metrics and access rules take the label, not each name). */
export const PAGE_PREFIXES: readonly string[] = ['/watch/', '/assets/', '/stat/', '/admin/'];

function pageRoute(decoded: string): string {
  if (PAGES.has(decoded)) return decoded;
  return PAGE_PREFIXES.find((prefix) => decoded.startsWith(prefix))?.slice(0, -1) ?? 'other';
}

/**
 * Stream URLs are matched exactly (after percent-decoding), like the
 * original: a stream answers at /stream/NAME and at its url. A stream
 * disabled by its config errors keeps its paths, to say why it is not there.
 */
export class Router {
  private readonly streams = new Map<string, StreamConfig>();
  private readonly disabled = new Map<string, DisabledEntry>();

  constructor(config: ServerConfig) {
    for (const stream of Object.values(config.streams)) {
      this.streams.set(stream.url, stream);
      if (stream.altUrl !== undefined) this.streams.set(stream.altUrl, stream);
    }
    for (const entry of Object.values(config.disabled.streams)) {
      for (const url of entry.urls) if (!this.streams.has(url)) this.disabled.set(url, entry);
    }
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
    const entry = this.disabled.get(decoded);
    if (entry) return { kind: 'disabled', entry };
    return { kind: 'page', route: pageRoute(decoded) };
  }
}
