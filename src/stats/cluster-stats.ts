import type { DisabledEntry, FeedMode, ServerConfig } from '../config/types.js';
import type { ClientStats, ProgramInfo, ProgramState, SourceStats, WorkerStats } from './types.js';
import { PROGRAM_NAME, VERSION } from '../version.js';
import { feedId, sourceId, streamId, type SourceId } from '../cluster/source-id.js';

/** Feeds and streams the config disabled for their errors are listed too, with the reason. */
type RowState = ProgramState | 'disabled';

interface StreamRow {
  name: string;
  url: string;
  /** The config's url: a second path of the stream. */
  altUrl?: string;
  type: string;
  client: string;
  feed: string | null;
  state: RowState | 'per-client';
  /** Why a disabled stream is not running: its config errors. */
  error?: string;
  pid: number | null;
  clients: number;
  bytesSent: number;
  bitrate: number;
  restarts: number;
  droppedForLag: number;
  /** The shared program's details; null for per-client streams and shots. */
  program: ProgramInfo | null;
}

interface FeedRow {
  name: string;
  mode: string;
  feed: string | null;
  state: RowState;
  error?: string;
  pid: number | null;
  bytesRead: number;
  bitrate: number;
  restarts: number;
  consumers: number;
  program: ProgramInfo | null;
}

export interface ClusterStats {
  server: {
    name: string;
    version: string;
    pid: number;
    startedAt: string;
    now: string;
    uptimeSeconds: number;
    workers: number;
    /** How the workers run (config worker_mode, or process when threads were impossible). */
    workerMode: 'process' | 'thread';
    /** The primary process's RSS: with worker threads, the whole server's. */
    rss: number;
  };
  totals: { clients: number; bytesSent: number; bitrate: number; droppedForLag: number; restarts: number };
  streams: StreamRow[];
  feeds: FeedRow[];
  /**
   * rss: null for threads (see server.rss). threadId: a thread's id in the
   * process (a debugger's "[worker N]"), null for processes. load: the
   * fraction of the last quarter second or more its event loop was busy
   * (placement.ts). restarts: times it died and was started again.
   */
  workers: { id: number; pid: number; threadId: number | null; rss: number | null; clients: number; load: number; restarts: number }[];
  clients?: ClientStats[];
}

function describeMode(mode: FeedMode): string {
  return typeof mode === 'string' ? mode : `${mode.lingerSeconds}s`;
}

/** Merge what every worker reports into one view of the whole server. */
export function buildClusterStats(
  config: ServerConfig,
  workers: WorkerStats[],
  startedAt: number,
  server: { workerMode: 'process' | 'thread'; rss: number; workerRestarts: readonly number[] },
): ClusterStats {
  const now = Date.now();
  const sources = new Map<SourceId, SourceStats>();
  for (const w of workers) for (const s of w.sources) sources.set(sourceId(s.kind, s.name), s);

  const streams: StreamRow[] = Object.values(config.streams).map((stream) => {
    let clients = 0;
    let bytesSent = 0;
    let bitrate = 0;
    let droppedForLag = 0;
    for (const w of workers) {
      for (const row of w.streams) {
        if (row.name !== stream.name) continue;
        clients += row.clients;
        bytesSent += row.bytesSent;
        bitrate += row.bitrate;
        droppedForLag += row.droppedForLag;
      }
    }
    const source = sources.get(streamId(stream.name));
    const perClient = stream.type === 'shot' || stream.client === 'exclusive';
    return {
      name: stream.name,
      url: stream.url,
      ...(stream.altUrl === undefined ? {} : { altUrl: stream.altUrl }),
      type: stream.type,
      client: stream.client,
      feed: stream.feed ?? stream.inputs?.map((input) => input.feed).join(', ') ?? null,
      state: perClient ? 'per-client' : source?.state ?? 'idle',
      pid: source?.pid ?? null,
      clients,
      bytesSent,
      bitrate,
      restarts: source?.restarts ?? 0,
      droppedForLag,
      program: source?.program ?? null,
    };
  });

  const feeds: FeedRow[] = Object.values(config.feeds).map((feed) => {
    const source = sources.get(feedId(feed.name));
    return {
      name: feed.name,
      mode: describeMode(feed.mode),
      feed: feed.feed ?? null,
      state: source?.state ?? 'idle',
      pid: source?.pid ?? null,
      bytesRead: source?.bytesIn ?? 0,
      bitrate: source?.bitrate ?? 0,
      restarts: source?.restarts ?? 0,
      consumers: source?.consumers ?? 0,
      program: source?.program ?? null,
    };
  });

  streams.push(...Object.values(config.disabled.streams).map(disabledStreamRow));
  feeds.push(...Object.values(config.disabled.feeds).map(disabledFeedRow));

  const sum = (rows: StreamRow[], key: 'clients' | 'bytesSent' | 'bitrate' | 'droppedForLag' | 'restarts'): number =>
    rows.reduce((total, row) => total + row[key], 0);
  const stats: ClusterStats = {
    server: {
      name: PROGRAM_NAME,
      version: VERSION,
      pid: process.pid,
      startedAt: new Date(startedAt).toISOString(),
      now: new Date(now).toISOString(),
      uptimeSeconds: Math.round((now - startedAt) / 1000),
      workers: config.workers,
      workerMode: server.workerMode,
      rss: server.rss,
    },
    totals: {
      clients: sum(streams, 'clients'),
      bytesSent: sum(streams, 'bytesSent'),
      bitrate: sum(streams, 'bitrate'),
      droppedForLag: sum(streams, 'droppedForLag'),
      restarts: sum(streams, 'restarts') + feeds.reduce((t, f) => t + f.restarts, 0),
    },
    streams,
    feeds,
    workers: workers.map((w) => ({
      id: w.workerId,
      pid: w.pid,
      threadId: w.threadId,
      rss: w.rss,
      clients: w.streams.reduce((t, s) => t + s.clients, 0),
      load: w.load,
      restarts: server.workerRestarts[w.workerId] ?? 0,
    })),
  };
  if (config.statClients) stats.clients = workers.flatMap((w) => w.clients);
  return stats;
}

function disabledStreamRow(entry: DisabledEntry): StreamRow {
  const url = entry.urls.at(0) ?? '';
  const altUrl = entry.urls.at(1);
  return {
    name: entry.name,
    url,
    ...(altUrl === undefined ? {} : { altUrl }),
    type: 'stream',
    client: '—',
    feed: null,
    state: 'disabled',
    error: entry.errors.join('\n'),
    pid: null,
    clients: 0,
    bytesSent: 0,
    bitrate: 0,
    restarts: 0,
    droppedForLag: 0,
    program: null,
  };
}

function disabledFeedRow(entry: DisabledEntry): FeedRow {
  return { name: entry.name, mode: '—', feed: null, state: 'disabled', error: entry.errors.join('\n'), pid: null, bytesRead: 0, bitrate: 0, restarts: 0, consumers: 0, program: null };
}
