/**
 * What /config shows: the config file's own keys with the values as written
 * (`mode: 5`, `url: plain/ts`, a user's `note:`), as the original's page
 * did, plus what voyandz resolved from them under keys of its own (argv,
 * the paths a stream answers at, defaults it filled in). Templates and
 * generated sets appear expanded.
 */
import type { DisabledEntry, FeedConfig, ServerConfig, StreamConfig } from './types.js';

type Json = Record<string, unknown>;

export function configView(config: ServerConfig): Json {
  const { written, disabled, feeds, streams, ...settings } = config;
  return {
    ...settings,
    ...written.settings,
    feeds: entries(feeds, disabled.feeds, written.feeds, feedView),
    streams: entries(streams, disabled.streams, written.streams, streamView),
  };
}

function entries<T extends { name: string }>(
  running: Record<string, T>,
  disabled: Record<string, DisabledEntry>,
  written: Record<string, unknown>,
  view: (entry: T) => Json,
): Json {
  const out: Json = {};
  // In the file's order, running or not.
  const names = [...new Set([...Object.keys(written), ...Object.keys(running), ...Object.keys(disabled)])];
  for (const name of names) {
    const own = asJson(written[name]);
    const entry = running[name];
    if (entry !== undefined) out[name] = { ...view(entry), ...own };
    else if (disabled[name] !== undefined) out[name] = { ...own, disabled: true, errors: disabled[name].errors };
  }
  return out;
}

function feedView(feed: FeedConfig): Json {
  return { ...feed, mode: typeof feed.mode === 'string' ? feed.mode : feed.mode.lingerSeconds };
}

function streamView(stream: StreamConfig): Json {
  const { altUrl, ...rest } = stream;
  return { ...rest, urls: altUrl === undefined ? [stream.url] : [stream.url, altUrl] };
}

function asJson(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
}
