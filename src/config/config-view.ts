/**
 * What /config shows: the config file's own keys with the values as written
 * (`mode: 5`, `url: plain/ts`, a user's `note:`), as the original's page
 * did, plus what voyandz resolved from them under keys of its own (argv,
 * the paths a stream answers at, defaults it filled in). Templates and
 * generated sets appear expanded.
 */
import { entryOf } from './lookup.js';
import { withoutSecrets, HIDDEN } from './render-access.js';
import type { DisabledEntry, FeedConfig, ServerConfig, StreamConfig } from './types.js';

type Json = Record<string, unknown>;

export function configView(config: ServerConfig): Json {
  // Password hashes are secrets too (offline guessing): never shown, as resolved or as written.
  const { written, disabled, feeds, streams, ...settings } = withoutSecrets(config);
  return hideUsers({
    ...settings,
    ...written.settings,
    // The original showed every page's switch, defaults filled in, next to the ones written.
    pages: { ...settings.pages, ...asJson(written.settings.pages) },
    feeds: entries(feeds, disabled.feeds, written.feeds, feedView),
    streams: entries(streams, disabled.streams, written.streams, streamView),
  }) as Json;
}

/** Every inline `users:` mapping (name: bcrypt hash) as written, wherever it is, with its hashes hidden. */
function hideUsers(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(hideUsers);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([key, inner]) =>
      key === 'users' && typeof inner === 'object' && inner !== null && !Array.isArray(inner)
        ? [key, Object.fromEntries(Object.keys(inner).map((name) => [name, HIDDEN]))]
        : [key, hideUsers(inner)],
    ),
  );
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
    const own = asJson(entryOf(written, name));
    const entry = entryOf(running, name);
    const off = entryOf(disabled, name);
    if (entry !== undefined) out[name] = { ...view(entry), ...own };
    else if (off !== undefined) out[name] = { ...own, disabled: true, errors: off.errors };
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
