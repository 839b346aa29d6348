import { CONTENT_TYPE } from '../http/content-type.js';
import type { ServerConfig, StreamConfig } from '../config/types.js';

/**
 * A pulled stream with no mimetype of its own serves its origin's
 * Content-Type, which only the worker running the pull learns (and tells the
 * primary). The primary answers HEAD and renders pages (the player a watch
 * page picks) with it; until the origin first answered, such a stream is
 * `application/octet-stream` to the primary.
 */
export class LearntMimetypes {
  private readonly types = new Map<string, string>();
  private version = 0;
  private cached: { config: ServerConfig; version: number; view: ServerConfig } | null = null;

  learn(stream: string, contentType: string): void {
    if (this.types.get(stream) === contentType) return;
    this.types.set(stream, contentType);
    this.version++;
  }

  /** What a HEAD of the stream answers. */
  mimetypeOf(stream: StreamConfig): string {
    return stream.mimetype || (this.types.get(stream.name) ?? CONTENT_TYPE.OCTET_STREAM);
  }

  /** The config as the pages see it: every such stream with what its origin serves (or octet-stream). */
  apply(config: ServerConfig): ServerConfig {
    if (!Object.values(config.streams).some((s) => s.mimetype === '')) return config;
    const cached = this.cached;
    if (cached?.config === config && cached.version === this.version) return cached.view;
    const streams = Object.fromEntries(Object.entries(config.streams).map(([name, s]) => [name, s.mimetype === '' ? { ...s, mimetype: this.mimetypeOf(s) } : s]));
    const view = { ...config, streams };
    this.cached = { config, version: this.version, view };
    return view;
  }
}
