/**
 * Checks that look at more than one value (feed references, feed cycles, URL
 * collisions, contradicting keys) or at the machine (logdir).
 *
 * They read the data loosely — whatever has the right type is checked, the
 * rest is the schema's to report — so they run even when the schema found
 * problems, and one round of fixing is enough.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { checkFeedInputs } from './feed-inputs.js';
import { RESERVED_NAMES } from './entry-errors.js';
import { entryOf } from './lookup.js';
import { checkAccessFiles } from './access-checks.js';
import { checkProducers, checkStreamMode } from './pull-checks.js';
import type { PathIssue } from './path-issue.js';
import { RESURRECT_MODES, URL_PATTERN } from './schema.js';
import type { ResurrectMode } from './types.js';

/** Paths the server answers itself; the pages are reserved even when disabled (they answer 403). */
const RESERVED_URLS: Readonly<Record<string, string>> = {
  '/': 'the home page',
  '/stat': 'the status page',
  '/stat.json': 'the status data',
  '/config': 'the config page',
  '/metrics': 'the Prometheus metrics',
  '/healthz': 'the liveness check',
  '/readyz': 'the readiness check',
};

/** Path prefixes of pages (the router's PAGE_PREFIXES, and more). */
const RESERVED_PREFIXES: Readonly<Record<string, string>> = {
  '/watch/': 'the player pages (/watch/NAME)',
  '/assets/': 'the player pages\' scripts (/assets/…)',
  '/stat/': 'the console\'s thumbnails (/stat/thumb/NAME.jpg)',
  '/admin/': 'the console\'s actions (/admin/…)',
};

/** What a url collides with among the server's own pages, if anything. */
function reservedPage(url: string): string | undefined {
  const exact = entryOf(RESERVED_URLS, url);
  if (exact !== undefined) return exact;
  const prefix = Object.keys(RESERVED_PREFIXES).find((candidate) => url.startsWith(candidate) || `${url}/` === candidate);
  return prefix === undefined ? undefined : RESERVED_PREFIXES[prefix];
}

/** Every stream answers here, whatever its url says (the original did too). */
export function defaultUrl(streamName: string): string {
  return `/stream/${streamName}`;
}

/** `url: live/cam` means /live/cam, as it did in the original. */
export function normaliseUrl(url: string): string {
  return url.startsWith('/') ? url : `/${url}`;
}

/** Relative to the config file, not to wherever the server happens to be started from. */
export function resolveLogdir(logdir: string, configFile: string): string {
  return path.resolve(path.dirname(configFile), logdir);
}

type Fields = Record<string, unknown>;
type Entries = [name: string, fields: Fields][];

/** `configFile` is absolute. */
export function checkConfig(data: unknown, configFile: string): PathIssue[] {
  const top = asFields(data);
  const feeds = entries(top.feeds);
  const streams = entries(top.streams);
  return [
    ...checkFeedReferences(feeds, streams),
    ...checkFeedCycles(feeds),
    ...checkUrls(streams),
    ...checkResurrect('feeds', feeds),
    ...checkResurrect('streams', streams),
    ...mappings(top.feeds).flatMap(([name, fields]) => checkProducers('feeds', name, fields)),
    ...mappings(top.streams).flatMap(([name, fields]) => [...checkProducers('streams', name, fields), ...checkStreamMode(name, fields)]),
    ...checkLogdir(top.logdir, configFile),
    ...checkListenaddr(top.listenaddr),
    ...checkWorkers(top.workers),
    ...checkAccessFiles(data, configFile),
  ];
}

function checkFeedReferences(feeds: Entries, streams: Entries): PathIssue[] {
  const known = feeds.map(([name]) => name);
  const issues: PathIssue[] = [];
  for (const [kind, list] of [['feeds', feeds], ['streams', streams]] as const) {
    for (const [name, fields] of list) {
      const feed = fields.feed;
      if (typeof feed === 'string' && !known.includes(feed)) {
        issues.push({ path: [kind, name, 'feed'], message: `unknown feed "${feed}" ${knownList(known)}` });
      }
    }
  }
  for (const [name, fields] of streams) issues.push(...checkFeedInputs(name, fields, known, knownList(known)));
  return issues;
}

/** Capped: a generated config may have hundreds of feeds. */
function knownList(known: string[]): string {
  if (known.length === 0) return '(no feeds are defined)';
  const shown = known.slice(0, 10).join(', ');
  return known.length > 10 ? `(known: ${shown}, ... ${known.length - 10} more)` : `(known: ${shown})`;
}

/** A feed reading itself, directly or through others, could never start. Each cycle is reported once. */
function checkFeedCycles(feeds: Entries): PathIssue[] {
  const parentOf = new Map(feeds.map(([name, fields]) => [name, fields.feed]));
  const explored = new Set<string>();
  const issues: PathIssue[] = [];
  for (const [start] of feeds) {
    const chain: string[] = [];
    let current: unknown = start;
    while (typeof current === 'string' && parentOf.has(current) && !explored.has(current)) {
      const seen = chain.indexOf(current);
      if (seen >= 0) {
        const cycle = [...chain.slice(seen), current];
        issues.push({ path: ['feeds', current, 'feed'], message: `feed cycle: ${cycle.join(' -> ')}` });
        break;
      }
      chain.push(current);
      current = parentOf.get(current);
    }
    for (const name of chain) explored.add(name);
  }
  return issues;
}

/**
 * A stream's url is a second path for it. It may not take a path that is
 * already something: a page, another stream's /stream/NAME (which that
 * stream keeps, as in the original) or an earlier stream's url.
 */
function checkUrls(streams: Entries): PathIssue[] {
  const defaults = new Map(streams.map(([name]) => [defaultUrl(name), name]));
  const owners = new Map<string, string>();
  const issues: PathIssue[] = [];
  for (const [name, fields] of streams) {
    // A malformed url is the schema's to report.
    if (typeof fields.url !== 'string' || !URL_PATTERN.test(fields.url)) continue;
    const url = normaliseUrl(fields.url);
    if (url === defaultUrl(name)) continue;
    const page = reservedPage(url);
    const stream = defaults.get(url);
    const earlier = owners.get(url);
    const at = ['streams', name, 'url'];
    if (page !== undefined) issues.push({ path: at, message: `"${url}" is reserved for ${page}` });
    else if (stream !== undefined) issues.push({ path: at, message: `"${url}" is the path of stream ${stream} (every stream answers at /stream/NAME)` });
    else if (earlier !== undefined) issues.push({ path: at, message: `"${url}" is already the url of stream ${earlier}` });
    else owners.set(url, name);
  }
  return issues;
}

/** `no-resurrect` is the original's spelling of `resurrect: never`; saying both, differently, is a mistake. */
function checkResurrect(kind: 'feeds' | 'streams', list: Entries): PathIssue[] {
  const issues: PathIssue[] = [];
  for (const [name, fields] of list) {
    const mode = resurrectMode(fields.resurrect);
    const noResurrect = fields['no-resurrect'];
    if (mode === undefined || typeof noResurrect !== 'boolean') continue;
    if (noResurrect === (mode !== 'never')) {
      issues.push({
        path: [kind, name, 'no-resurrect'],
        message: `contradicts "resurrect: ${String(fields.resurrect)}"; keep one of the two`,
      });
    }
  }
  return issues;
}

/** The resurrect mode a value names; undefined for anything else (the schema's to report). */
export function resurrectMode(value: unknown): ResurrectMode | undefined {
  if (value === true) return 'always';
  if (value === false) return 'never';
  return RESURRECT_MODES.find((mode) => mode === value);
}

/**
 * Refused rather than half-working: a plain object would drop `__proto__`
 * and find `constructor` where there is none. Checked on the data as parsed,
 * before anything copies it into plain objects.
 */
export function checkReservedNames(data: unknown): PathIssue[] {
  const top = asFields(data);
  return (['feeds', 'streams', 'templates'] as const).flatMap((kind) =>
    entries(top[kind])
      .filter(([name]) => RESERVED_NAMES.has(name))
      .map(([name]): PathIssue => ({ path: [kind, name], at: 'key', message: `"${name}" cannot be a name (JavaScript objects already have it); choose another` })),
  );
}

/** A host name's labels (RFC 1123): letters, digits, inner hyphens. */
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Found now rather than as a listen error after the workers have started. */
function checkListenaddr(listenaddr: unknown): PathIssue[] {
  if (typeof listenaddr !== 'string' || listenaddr === '') return [];
  if (isIP(listenaddr) !== 0 || HOST_NAME.test(listenaddr)) return [];
  return [{ path: ['listenaddr'], message: `"${listenaddr}" is neither an IP address (127.0.0.1, 0.0.0.0, ::) nor a host name` }];
}

/**
 * Each worker is a Node process (~40 MB before any client): far more than
 * the cores can run only costs memory and start time, and a typo (an extra
 * zero) would fork thousands.
 */
function maxWorkers(): number {
  return Math.min(256, 4 * os.availableParallelism());
}

function checkWorkers(workers: unknown): PathIssue[] {
  if (typeof workers !== 'number' || workers <= maxWorkers()) return [];
  const cpus = os.availableParallelism();
  return [{ path: ['workers'], message: `${workers} is too many: at most ${maxWorkers()} (4 per CPU, ${cpus} here, and never more than 256)` }];
}

/** Programs' stderr goes there: find out now, not when the first program starts. */
function checkLogdir(logdir: unknown, configFile: string): PathIssue[] {
  if (typeof logdir !== 'string' || logdir === '') return [];
  const dir = resolveLogdir(logdir, configFile);
  const problem = directoryProblem(dir);
  return problem === undefined ? [] : [{ path: ['logdir'], message: problem }];
}

function directoryProblem(dir: string): string | undefined {
  try {
    if (!statSync(dir).isDirectory()) return `"${dir}" is not a directory`;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? `directory "${dir}" does not exist` : `cannot use directory "${dir}" (${code})`;
  }
  try {
    // Creating files in a directory takes both write and search permission.
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch {
    return `directory "${dir}" is not writable`;
  }
  return undefined;
}

function asFields(value: unknown): Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Fields) : {};
}

/** The entries of feeds: or streams: that are mappings (any other is the schema's to report). */
function mappings(value: unknown): Entries {
  return Object.entries(asFields(value)).flatMap(([name, fields]): Entries => (typeof fields === 'object' && fields !== null && !Array.isArray(fields) ? [[name, fields as Fields]] : []));
}

/** Every named entry of feeds: or streams:, an entry that is not a mapping having no fields. */
function entries(value: unknown): Entries {
  return Object.entries(asFields(value)).map(([name, fields]) => [name, asFields(fields)]);
}
