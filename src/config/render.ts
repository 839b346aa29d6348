/**
 * A resolved config written back in the file's own terms: what `--check`
 * prints. Templates and sets are expanded and every default is spelled out,
 * so a user sees exactly what each feed and stream will run — and the output
 * is itself a valid config file.
 */
import { stringify } from 'yaml';
import { renderAccessKeys, renderStreamAccessKeys } from './render-access.js';
import { renderPullKeys } from './render-pull.js';
import type { FeedConfig, FeedMode, ServerConfig, StreamConfig, StreamInput } from './types.js';

export function renderConfig(config: ServerConfig): string {
  const file = {
    listenaddr: config.listenaddr,
    listenport: config.listenport,
    ...(config.logdir === undefined ? {} : { logdir: config.logdir }),
    log_max_bytes: config.logMaxBytes,
    log_keep: config.logKeep,
    workers: config.workers,
    worker_mode: config.workerMode,
    spill_load: config.spillLoad,
    strict: config.strict,
    stat_clients: config.statClients,
    max_lag: config.maxLagSeconds,
    pages: config.pages,
    ...renderAccessKeys(config.access),
    feeds: Object.fromEntries(Object.values(config.feeds).map((feed) => [feed.name, renderFeed(feed)])),
    streams: Object.fromEntries(
      Object.values(config.streams).map((stream) => [stream.name, { ...renderStream(stream), ...renderStreamAccessKeys(config.access, stream.name) }]),
    ),
  };
  return `# ${config.file}, resolved: templates and sets expanded, defaults filled in\n${disabledNote(config)}${stringify(file, { lineWidth: 0 })}`;
}

function renderFeed(feed: FeedConfig): Record<string, unknown> {
  return {
    ...(feed.pull === undefined ? { command: feed.command } : renderPullKeys(feed.pull)),
    mode: renderMode(feed.mode),
    ...(feed.feed === undefined ? {} : { feed: feed.feed }),
    resurrect: feed.resurrect,
    stall_timeout: feed.stallTimeoutSeconds,
    format: feed.format === 'multipart' ? 'mpjpeg' : feed.format,
  };
}

function renderStream(stream: StreamConfig): Record<string, unknown> {
  return {
    ...(stream.pull === undefined ? { command: stream.command } : renderPullKeys(stream.pull)),
    type: stream.type,
    ...(stream.mimetype === '' ? {} : { mimetype: stream.mimetype }),
    ...(stream.pull === undefined ? {} : { mode: renderMode(stream.mode) }),
    ...(stream.feed === undefined ? {} : { feed: stream.feed }),
    ...(stream.inputs === undefined ? {} : { feeds: renderInputs(stream.inputs) }),
    client: stream.client,
    join: stream.join,
    ...(stream.altUrl === undefined ? {} : { url: stream.altUrl }),
    resurrect: stream.resurrect,
    max_lag: stream.maxLagSeconds,
    burst: stream.burstSeconds,
    shot_timeout: stream.shotTimeoutSeconds,
    lag_policy: stream.lagPolicy,
    start_timeout: stream.startTimeoutSeconds,
    stall_timeout: stream.stallTimeoutSeconds,
  };
}

/** The list form when every alias is its feed's name, as most configs write it. */
function renderInputs(inputs: readonly StreamInput[]): string[] | Record<string, string> {
  return inputs.every((input) => input.alias === input.feed)
    ? inputs.map((input) => input.feed)
    : Object.fromEntries(inputs.map((input) => [input.alias, input.feed]));
}

/** Entries with errors are left out of what runs: say which, so the output is not mistaken for the whole file. */
function disabledNote(config: ServerConfig): string {
  const names = [
    ...Object.keys(config.disabled.feeds).map((name) => `feeds.${name}`),
    ...Object.keys(config.disabled.streams).map((name) => `streams.${name}`),
  ];
  return names.length === 0 ? '' : `# disabled by their errors (left out below): ${names.join(', ')}\n`;
}

function renderMode(mode: FeedMode): string | number {
  return typeof mode === 'string' ? mode : mode.lingerSeconds;
}
