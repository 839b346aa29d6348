/**
 * Loading a config: YAML text -> templates and generated sets expanded ->
 * the original's habits tolerated -> schema -> cross checks -> ServerConfig.
 * Every stage after the YAML syntax runs even when an earlier one found
 * problems, so every problem is reported at once.
 *
 * Tolerant like the original, strict on request: an unknown key is a
 * warning (and ignored), an error inside one feed or stream disables that
 * entry while the rest runs; only an error about the config as a whole (or,
 * with `strict`, any problem at all) rejects it, as a ConfigError.
 */
import { isUtf8 } from 'node:buffer';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { VoyandzError } from '../errors.js';
import { checkConfig, checkReservedNames, defaultUrl, normaliseUrl } from './checks.js';
import { tolerateOriginal } from './compat.js';
import { ConfigError, formatIssue, sortIssues, type ConfigIssue } from './config-error.js';
import { cascade, entryId, entryRefOf, withoutEntries, type EntryRef } from './entry-errors.js';
import { resolveConfig } from './resolve.js';
import { dedupe, expandConfig, type Expansion } from './expand.js';
import { entryOf as lookupEntry } from './lookup.js';
import { isPlainMapping } from './placeholders.js';
import type { KeyPath, PathIssue } from './path-issue.js';
import { URL_PATTERN } from './schema.js';
import { checkSchema } from './schema-issues.js';
import type { DisabledEntry, ServerConfig, WrittenConfig } from './types.js';
import { YamlSource } from './yaml-source.js';

export interface LoadOptions {
  /** Reject the config on any problem, warnings included (also `strict: true` in the file). */
  strict?: boolean;
}

export interface ConfigLoad {
  /** What runs: entries with errors are in `config.disabled`, not in feeds/streams. */
  config: ServerConfig;
  /** The warnings, and the errors that disabled an entry each; in file order. */
  issues: ConfigIssue[];
}

/**
 * Reads and loads `file`. Throws VoyandzError CONFIG_READ when it cannot be
 * read, ConfigError when it cannot run at all.
 */
export async function loadConfigFile(file: string, options: LoadOptions = {}): Promise<ConfigLoad> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new VoyandzError('CONFIG_READ', file, error instanceof Error ? error.message : String(error));
  }
  // Decoding would silently turn a Latin-1 "ż" into U+FFFD, and a name or command with it.
  const bad = notUtf8At(bytes);
  if (bad !== undefined) throw new ConfigError(file, [{ file, ...bad, path: '', message: 'the file is not UTF-8 text (save it as UTF-8)', severity: 'error' }]);
  return loadConfigText(bytes.toString('utf8'), file, options);
}

/**
 * Loads config text. `file` names it in messages as given; relative paths in
 * the config (logdir) are relative to its directory.
 */
export function loadConfigText(text: string, file: string, options: LoadOptions = {}): ConfigLoad {
  const source = new YamlSource(text, file);
  const syntax = source.syntaxIssues();
  // Past a syntax error, yaml guesses at the structure: later messages would mislead.
  if (syntax.length > 0) throw new ConfigError(file, syntax);

  const absolute = path.resolve(file);
  const reserved = checkReservedNames(source.data()).map((issue) => source.place(issue));
  const expansion = expandConfig(dropEmptyValues(source.data() ?? {}, []));
  const tolerated = tolerateOriginal(expansion.data);
  const first = checkAll(tolerated, absolute);
  const warnings = first.issues.filter((issue) => issue.severity === 'warning');
  // Unknown keys are left out, as the original ignored them.
  const data = withoutKeys(tolerated, warnings.map((issue) => issue.path));
  const errors = first.issues.filter((issue) => issue.severity !== 'warning');

  const disabled = new Set<string>();
  for (const issue of [...expansion.issues, ...errors]) {
    const entry = entryRefOf(issue.path);
    if (entry !== undefined) disabled.add(entryId(entry));
  }
  errors.push(...cascade(data, disabled));

  const placed = place(expansion.issues, [...warnings, ...errors], expansion, source);
  const duplicates = source.duplicateKeys();
  const issues = [...reserved, ...duplicates, ...placed.map(({ issue }) => issue)];
  const strict = options.strict === true || (isPlainMapping(data) && data.strict === true);
  const fatal = reserved.length > 0 || duplicates.length > 0 || placed.some(({ issue, entry }) => entry === undefined && issue.severity === 'error');
  if (fatal || (strict && issues.length > 0)) throw new ConfigError(file, issues);

  const schema = checkSchema(withoutEntries(data, disabled));
  // Every problem of what is left was found above; this is only a safety net.
  if (!schema.ok) throw new ConfigError(file, [...issues, ...place([], schema.issues, expansion, source).map(({ issue }) => issue)]);
  const config = resolveConfig(schema.config, absolute, {
    disabled: disabledEntries(placed, data),
    written: writtenOf(expansion.data),
  });
  if (Object.keys(config.feeds).length + Object.keys(config.streams).length === 0 && issues.length === 0) {
    // The original starts with an empty config too; say so, since it is rarely meant.
    issues.push({ file, line: 1, column: 1, path: '', message: 'no feeds and no streams: the server serves only its pages', severity: 'warning' });
  }
  return { config, issues: sortIssues(issues) };
}

interface Placed {
  issue: ConfigIssue;
  /** The entry it disables (for an error); undefined when it is about the config as a whole. */
  entry: EntryRef | undefined;
  /** The entry's key it is about (`url`, `feed`, …). */
  key: string | number | undefined;
}

function checkAll(data: unknown, configFile: string): { issues: PathIssue[] } {
  const schema = checkSchema(data);
  return { issues: [...(schema.ok ? [] : schema.issues), ...checkConfig(data, configFile)] };
}

/**
 * Into the file, deduplicated, with line and column: expansion's own issues
 * are already where they were written; the others, found in the expanded
 * data, are translated there (or dropped, for an entry whose expansion failed
 * and was reported as such).
 */
function place(own: PathIssue[], found: PathIssue[], expansion: Expansion, source: YamlSource): Placed[] {
  const translated = found.flatMap((issue) => expansion.translate(issue) ?? []);
  return dedupe([...own, ...translated]).map((issue) => ({ issue: source.place(issue), entry: entryRefOf(issue.path), key: issue.path[2] }));
}

/**
 * The entries left out, each with its errors and the paths where it answers
 * 503: its /stream/NAME, and its url unless that url is in error (a page's
 * path or another stream's, which stays theirs).
 */
function disabledEntries(placed: Placed[], data: unknown): ServerConfig['disabled'] {
  const disabled: ServerConfig['disabled'] = { feeds: {}, streams: {} };
  const streams = isPlainMapping(data) && isPlainMapping(data.streams) ? data.streams : {};
  const badUrl = new Set(placed.filter((p) => p.entry?.kind === 'streams' && p.key === 'url' && p.issue.severity === 'error').map((p) => p.entry?.name));
  for (const { issue, entry } of placed) {
    if (entry === undefined || issue.severity !== 'error') continue;
    const existing = lookupEntry(disabled[entry.kind], entry.name);
    const urls = entry.kind === 'streams' ? urlsOf(entry.name, badUrl.has(entry.name) ? undefined : streams[entry.name]) : [];
    const record: DisabledEntry = existing ?? { name: entry.name, urls, errors: [] };
    record.errors.push(formatIssue(issue));
    disabled[entry.kind][entry.name] = record;
  }
  return disabled;
}

function urlsOf(name: string, fields: unknown): string[] {
  const urls = [defaultUrl(name)];
  const url = isPlainMapping(fields) ? fields.url : undefined;
  if (typeof url === 'string' && URL_PATTERN.test(url) && normaliseUrl(url) !== urls[0]) urls.push(normaliseUrl(url));
  return urls;
}

function writtenOf(data: unknown): WrittenConfig {
  const top = isPlainMapping(data) ? data : {};
  const entries = (value: unknown): Record<string, unknown> => (isPlainMapping(value) ? value : {});
  const settings = Object.fromEntries(Object.entries(top).filter(([key]) => !['feeds', 'streams', 'templates', 'generate'].includes(key)));
  return { settings, feeds: entries(top.feeds), streams: entries(top.streams) };
}

/** The data without the values at `paths` (unknown keys, which are ignored). */
function withoutKeys(data: unknown, paths: readonly KeyPath[]): unknown {
  if (paths.length === 0) return data;
  const copy = structuredClone(data);
  for (const keyPath of paths) {
    let node: unknown = copy;
    for (const segment of keyPath.slice(0, -1)) node = isPlainMapping(node) || Array.isArray(node) ? (node as Record<string, unknown>)[String(segment)] : undefined;
    if (isPlainMapping(node)) Reflect.deleteProperty(node, String(keyPath[keyPath.length - 1]));
  }
  return copy;
}

/**
 * `key:` with nothing after it means "not set", so that a commented-out value
 * (`logdir:  # /var/log/voyandz`, which the original read as "no logdir")
 * falls back to the default, or is reported as required. Not for entries of
 * feeds:/streams: an empty entry is a mistake to report, not a feed or
 * stream to leave out silently.
 */
function dropEmptyValues(value: unknown, path: readonly string[]): unknown {
  // Only plain mappings: lists, dates and other YAML types are the schema's to judge.
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) return value;
  const entriesOfNamedMap = path.length === 1 && (path[0] === 'feeds' || path[0] === 'streams' || path[0] === 'templates');
  // A param written `url:` or `url: ~` has no default: it is required, not absent.
  const templateParams = path.length === 3 && path[0] === 'templates' && path[2] === 'params';
  // fromEntries defines own properties: a `__proto__` key stays a key (and is reported as unknown).
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, inner]) => inner !== null || entriesOfNamedMap || templateParams)
      .map(([key, inner]) => [key, dropEmptyValues(inner, [...path, key])]),
  );
}

/** Line and column (in characters, 1-based) of the first byte that is not UTF-8; undefined for UTF-8 text. */
function notUtf8At(bytes: Buffer): { line: number; column: number } | undefined {
  if (isUtf8(bytes)) return undefined;
  let start = 0;
  // A newline byte is never inside a multi-byte character, so lines can be checked alone.
  for (let line = 1; ; line++) {
    const newline = bytes.indexOf(0x0a, start);
    const end = newline < 0 ? bytes.length : newline;
    const text = bytes.subarray(start, end);
    if (!isUtf8(text)) {
      let valid = text.length - 1;
      while (valid > 0 && !isUtf8(text.subarray(0, valid))) valid--;
      return { line, column: text.subarray(0, valid).toString('utf8').length + 1 };
    }
    if (newline < 0) return { line, column: 1 };
    start = newline + 1;
  }
}
