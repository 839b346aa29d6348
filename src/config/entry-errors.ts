/**
 * One broken feed or stream disables itself, not the server: the original
 * served every other stream of a config with a typo in one. An error inside
 * `feeds.NAME` or `streams.NAME` belongs to that entry; anything else (a
 * port, the logdir, a template, a generated set) is the whole config's.
 * Two exceptions are the whole config's too: an entry's `access:` (a broken
 * users or secret file must neither open a stream nor silently drop its
 * viewers: at start nothing runs, on SIGHUP the running rules stay), and a
 * name that is no plain key (`__proto__`, `constructor`, `prototype`: a name
 * an object lookup could confuse with JavaScript's own properties).
 * A disabled feed takes with it what reads it: a feed chained to it and the
 * streams that read it would have no input.
 */
import { isPlainMapping } from './placeholders.js';
import type { KeyPath, PathIssue } from './path-issue.js';

type EntryKind = 'feeds' | 'streams';

export interface EntryRef {
  kind: EntryKind;
  name: string;
}

/** `feeds\0cam`: one string per entry, for sets and maps. */
export function entryId(entry: EntryRef): string {
  return `${entry.kind}\0${entry.name}`;
}

/** The entry an issue is about; undefined for an issue about the config as a whole. */
export function entryRefOf(path: KeyPath): EntryRef | undefined {
  const [kind, name, key] = path;
  if ((kind !== 'feeds' && kind !== 'streams') || path.length < 2) return undefined;
  if (key === 'access' || RESERVED_NAMES.has(String(name))) return undefined;
  return { kind, name: String(name) };
}

/** Names JavaScript objects already answer to: refused, not looked up. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Issues for the entries that read a disabled feed, directly or down a chain,
 * added to `disabled` as they are found.
 */
export function cascade(data: unknown, disabled: Set<string>): PathIssue[] {
  const top = isPlainMapping(data) ? data : {};
  const issues: PathIssue[] = [];
  let changed = true;
  while (changed) {
    changed = false;
    for (const kind of ['feeds', 'streams'] as const) {
      const entries = isPlainMapping(top[kind]) ? top[kind] : {};
      for (const [name, fields] of Object.entries(entries)) {
        const id = entryId({ kind, name });
        if (disabled.has(id) || !isPlainMapping(fields)) continue;
        const read = feedsRead(fields).find(({ feed }) => disabled.has(entryId({ kind: 'feeds', name: feed })));
        if (read === undefined) continue;
        disabled.add(id);
        changed = true;
        issues.push({ path: [kind, name, ...read.at], message: `reads feed "${read.feed}", which is disabled by its errors` });
      }
    }
  }
  return issues;
}

/** The feeds an entry reads, each with the key path (under the entry) that names it. */
function feedsRead(fields: Record<string, unknown>): { feed: string; at: (string | number)[] }[] {
  const read: { feed: string; at: (string | number)[] }[] = [];
  if (typeof fields.feed === 'string') read.push({ feed: fields.feed, at: ['feed'] });
  const feeds = fields.feeds;
  if (Array.isArray(feeds)) feeds.forEach((feed, index) => typeof feed === 'string' && read.push({ feed, at: ['feeds', index] }));
  else if (isPlainMapping(feeds)) {
    for (const [alias, feed] of Object.entries(feeds)) if (typeof feed === 'string') read.push({ feed, at: ['feeds', alias] });
  }
  return read;
}

/** The data without the disabled entries, for the schema to parse what runs. */
export function withoutEntries(data: unknown, disabled: ReadonlySet<string>): unknown {
  if (!isPlainMapping(data) || disabled.size === 0) return data;
  const out: Record<string, unknown> = { ...data };
  for (const kind of ['feeds', 'streams'] as const) {
    const entries = data[kind];
    if (!isPlainMapping(entries)) continue;
    out[kind] = Object.fromEntries(Object.entries(entries).filter(([name]) => !disabled.has(entryId({ kind, name }))));
  }
  return out;
}
