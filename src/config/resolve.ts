/**
 * From the file as written (checked by the schema and by checks.ts) to the
 * ServerConfig the rest of voyandz reads: defaults filled in, commands split,
 * original spellings (no-resurrect, numeric modes) turned into one form.
 * Runs only on a config with no issues, so it never fails.
 */
import os from 'node:os';
import { defaultUrl, normaliseUrl, resolveLogdir, resurrectMode } from './checks.js';
import { splitCommand } from './command.js';
import { inputsOf, substituteInputs } from './feed-inputs.js';
import { resolveAccess } from './resolve-access.js';
import { resolveJoin } from '../fanout/join/container.js';
import { FEED_MODES, type RawConfig, type RawFeed, type RawStream } from './schema.js';
import type { FeedConfig, FeedMode, PullConfig, ResurrectMode, ServerConfig, StreamConfig } from './types.js';

/** What the loader learnt beyond the schema's view: entries left out, and the file's own values. */
export type LoadFindings = Pick<ServerConfig, 'disabled' | 'written'>;

/** `configFile` is absolute. */
export function resolveConfig(raw: RawConfig, configFile: string, findings: LoadFindings): ServerConfig {
  const feeds: Record<string, FeedConfig> = {};
  for (const [name, feed] of Object.entries(raw.feeds)) feeds[name] = resolveFeed(name, feed, raw);
  const streams: Record<string, StreamConfig> = {};
  for (const [name, stream] of Object.entries(raw.streams)) streams[name] = resolveStream(name, stream, raw);
  return {
    file: configFile,
    listenaddr: raw.listenaddr,
    listenport: raw.listenport,
    ...(raw.logdir === undefined ? {} : { logdir: resolveLogdir(raw.logdir, configFile) }),
    pages: { ...raw.pages },
    workers: raw.workers === 'auto' ? os.availableParallelism() : raw.workers,
    workerMode: raw.worker_mode,
    spillLoad: raw.spill_load,
    statClients: raw.stat_clients,
    logMaxBytes: raw.log_max_bytes,
    logKeep: raw.log_keep,
    maxLagSeconds: raw.max_lag,
    feeds,
    streams,
    access: resolveAccess(raw, configFile),
    strict: raw.strict,
    ...findings,
  };
}

function resolveFeed(name: string, feed: RawFeed, raw: RawConfig): FeedConfig {
  return {
    name,
    ...commandOf(feed.command),
    ...pullOf(feed, raw),
    mode: modeOf(feed.mode),
    ...(feed.feed === undefined ? {} : { feed: feed.feed }),
    resurrect: resurrectOf(feed),
    stallTimeoutSeconds: feed.stall_timeout ?? raw.stall_timeout,
    format: feed.format === 'mpjpeg' ? 'multipart' : feed.format,
  };
}

function resolveStream(name: string, stream: RawStream, raw: RawConfig): StreamConfig {
  const inputs = inputsOf(stream.feeds);
  const command = stream.command ?? '';
  const { argv } = commandOf(inputs === undefined ? command : substituteInputs(command, inputs));
  const mimetype = stream.mimetype ?? '';
  return {
    name,
    command: command.trim(),
    argv,
    ...pullOf(stream, raw),
    type: stream.type,
    mimetype,
    // The original ignored a stream's mode; only a pull's keeps it running longer than its clients.
    mode: stream.pull === undefined ? 'on-demand' : modeOf(stream.mode),
    ...(stream.feed === undefined ? {} : { feed: stream.feed }),
    ...(inputs === undefined ? {} : { inputs }),
    client: stream.client,
    url: defaultUrl(name),
    ...altUrlOf(name, stream.url),
    resurrect: resurrectOf(stream),
    maxLagSeconds: stream.max_lag ?? raw.max_lag,
    burstSeconds: Math.min(stream.burst, stream.max_lag ?? raw.max_lag),
    shotTimeoutSeconds: stream.shot_timeout ?? raw.shot_timeout,
    // A pulled stream's container is known from its origin's answer: `auto` looks at it then.
    join: stream.pull !== undefined && mimetype === '' ? (stream.join === 'auto' ? 'keyframe' : stream.join) : resolveJoin(stream.join, mimetype),
    lagPolicy: stream.lag_policy,
    startTimeoutSeconds: stream.start_timeout ?? raw.start_timeout,
    stallTimeoutSeconds: stream.stall_timeout ?? raw.stall_timeout,
  };
}

/** Folded YAML (`command: >`) ends in a newline that means nothing: shown trimmed. A pulled entry has none. */
function commandOf(command: string | undefined): { command: string; argv: string[] } {
  if (command === undefined || command === '') return { command: '', argv: [] };
  const split = splitCommand(command);
  // The schema rejected every command that cannot be split.
  if (!split.ok) throw new Error(`unreachable: command passed the schema but ${split.message}`);
  return { command: command.trim(), argv: split.argv };
}

/** The pull of a relay, its headers over the top-level ones (names are case-insensitive: kept lower-case). */
function pullOf(entry: { pull?: string | undefined; pull_headers?: Record<string, string> | undefined }, raw: RawConfig): { pull?: PullConfig } {
  if (entry.pull === undefined) return {};
  const headers: Record<string, string> = {};
  for (const [name, value] of [...Object.entries(raw.pull_headers ?? {}), ...Object.entries(entry.pull_headers ?? {})]) headers[name.toLowerCase()] = value;
  return { pull: { url: entry.pull, headers } };
}

/** A number of seconds (written as a number or a numeric string) is on-demand with a linger time. */
function modeOf(mode: RawFeed['mode']): FeedMode {
  const named = FEED_MODES.find((candidate) => candidate === mode);
  return named ?? { lingerSeconds: Number(mode) };
}

/** The url as a path of its own; none when it is the stream's /stream/NAME anyway. */
function altUrlOf(name: string, url: string | undefined): { altUrl?: string } {
  if (url === undefined || normaliseUrl(url) === defaultUrl(name)) return {};
  return { altUrl: normaliseUrl(url) };
}

function resurrectOf(entry: { resurrect?: boolean | string | undefined; 'no-resurrect'?: boolean | undefined }): ResurrectMode {
  return resurrectMode(entry.resurrect) ?? (entry['no-resurrect'] === true ? 'never' : 'always');
}
