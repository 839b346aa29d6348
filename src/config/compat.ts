/**
 * Habits of the original voyandz's config files that its loader (PyYAML and
 * plain dict lookups) let through, turned into the one form the schema
 * checks: a quoted number (`listenport: "8090"`), a capitalised value
 * (`mode: Continuous`, `client: Exclusive`), an empty `logdir: ''`, and
 * top-level `x-…` keys, which hold YAML anchors for `<<: *anchor` merges.
 *
 * Runs on the data after templates are expanded and before the schema, and
 * says nothing: these configs are valid. The file's own values stay what
 * /config shows (see config-view.ts).
 */
import { isPlainMapping } from './placeholders.js';

type Fields = Record<string, unknown>;

/** Keys whose values are numbers, where "30" means 30. */
const NUMBERS = {
  top: ['listenport', 'workers', 'max_lag', 'shot_timeout', 'log_max_bytes', 'log_keep'],
  feeds: [] as string[],
  streams: ['max_lag', 'shot_timeout'],
};

/** Keys whose values are names from a list, where case never mattered to a reader. */
const WORDS = {
  top: ['workers', 'worker_mode'],
  feeds: ['mode', 'resurrect'],
  streams: ['type', 'client', 'join', 'resurrect'],
};

const NUMERIC = /^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)\s*$/;

/** Top-level keys for the user's own use (anchor holders, notes), as in docker-compose files. */
function isExtensionKey(key: string): boolean {
  return key.startsWith('x-');
}

export function tolerateOriginal(data: unknown): unknown {
  if (!isPlainMapping(data)) return data;
  const top = normalise(Object.fromEntries(Object.entries(data).filter(([key]) => !isExtensionKey(key))), 'top');
  // The original read an empty logdir as "no logdir".
  if (top.logdir === '') delete top.logdir;
  for (const kind of ['feeds', 'streams'] as const) {
    const entries = top[kind];
    if (!isPlainMapping(entries)) continue;
    top[kind] = Object.fromEntries(
      Object.entries(entries).map(([name, entry]) => [name, isPlainMapping(entry) ? normalise(entry, kind) : entry]),
    );
  }
  return top;
}

function normalise(fields: Fields, at: keyof typeof NUMBERS): Fields {
  const out: Fields = { ...fields };
  for (const key of NUMBERS[at]) {
    const value = out[key];
    if (typeof value === 'string' && NUMERIC.test(value)) out[key] = Number(value);
  }
  for (const key of WORDS[at]) {
    const value = out[key];
    if (typeof value === 'string') out[key] = value.trim().toLowerCase();
  }
  return out;
}
