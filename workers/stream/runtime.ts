import type { Server, Socket } from 'node:net';
import { threadId } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { ServerConfig, StreamConfig } from '../../src/config/types.js';
import type { HandedRequest, WorkerSetup } from '../../src/cluster/messages.js';
import { findComponents } from '../../src/cluster/assignment.js';
import { feedId, parseSourceId, sourceId, streamId, type SourceId } from '../../src/cluster/source-id.js';
import { ERRORS } from '../../src/errors.js';
import { endAndReap, REAP_GRACE_MS } from '../../src/fanout/socket-close.js';
import { entryOf } from '../../src/config/lookup.js';
import { newSourceCounters, Source, type SourceCounters, type SourceDefinition } from '../../src/pipeline/source.js';
import { SPLICE_REASONS, type SpliceReason } from '../../src/pipeline/splice.js';
import { FeedReaders, feedReadersFor } from '../../src/pipeline/feed-readers.js';
import type { ProgramRegistry, Tap } from '../../src/pipeline/tap.js';
import type { ClientStats, SourceStats, StreamClientStats, WorkerStats } from '../../src/stats/types.js';
import { RateMeter } from '../../src/stats/rate-meter.js';
import { LoadMeter } from './load-meter.js';
import { policyFor, sniffedStreamPolicyFor } from '../../src/fanout/join/policy-for.js';
import { RemoteStream, startPeerServer, type PeerTap } from './peer-link.js';
import { serveShared } from './shared-session.js';
import { serveExclusive } from './exclusive-session.js';
import type { SessionResult } from './session.js';
import { serveShot } from './shot-session.js';
import { THUMBNAIL_CAPTURE_MS, THUMBNAIL_INPUT_BYTES, thumbnailMaker } from './thumbnail.js';

interface ClientRecord {
  id: number;
  socket: Socket;
  stream: string;
  remote: string;
  userAgent: string;
  connectedAt: number;
  bytesSent: () => number;
  lagMs: () => number;
  /** Bytes at the last rate sample, and the rate (bits/s) they gave. */
  sampledBytes: number;
  bitrate: number;
  /** Set when the server ends the connection (kick, shutdown); else the client or the stream ended it. */
  endedBy: 'kicked' | 'shutdown' | null;
}

/** Bytes sent to clients that already left, per stream: with the live clients', the stream's total. */
type ClosedBytes = Map<string, number>;

export interface RuntimeEvents extends ProgramRegistry {
  clientClosed(stream: string, id: number): void;
  requestServed(route: string, status: number): void;
  /** A pulled stream (owned here) that has no mimetype learnt its origin's Content-Type. */
  contentTypeLearnt(stream: string, contentType: string): void;
}

const RATE_SAMPLE_MS = 1000;

/**
 * Everything one worker process runs: the pipelines it owns (feeds and
 * shared streams as Sources), subscriptions to streams other workers own,
 * and the clients the primary handed it. It owns the counters of every feed
 * and stream for the life of the worker, so a Source or peer link replaced
 * by a restart, a relink or a reload never makes a total go down.
 */
export class WorkerRuntime {
  private setup: WorkerSetup | null = null;
  private readonly sources = new Map<SourceId, Source>();
  private readonly signatures = new Map<SourceId, string>();
  private readonly remotes = new Map<string, RemoteStream>();
  private readonly counters = new Map<SourceId, SourceCounters>();
  /** Streams seen through a peer link: counted apart from the owner's, which are another worker's. */
  private readonly remoteCounters = new Map<string, SourceCounters>();
  private readonly clients = new Set<ClientRecord>();
  private readonly closedBytes: ClosedBytes = new Map();
  /** Clients that connected, per stream, counted on arrival. */
  private readonly connections = new Map<string, number>();
  /** Read from programs (and peer links), per feed or stream. */
  private readonly inRates = new RateMeter<SourceId>();
  /** How busy this worker is, for the primary's placement of clients and for /stat.json. */
  readonly load = new LoadMeter();
  /** Sent to clients, per stream name. */
  private readonly outRates = new RateMeter();
  private peerServer: Server | null = null;
  private readonly rateTimer: NodeJS.Timeout;
  private lastRss = 0;

  constructor(
    readonly workerId: number,
    /** A thread shares its process's RSS with the primary and the other workers: it reports none of its own. */
    private readonly mode: 'process' | 'thread',
    private readonly log: Logger,
    private readonly events: RuntimeEvents,
  ) {
    this.rateTimer = setInterval(() => this.sampleRates(), RATE_SAMPLE_MS);
    this.rateTimer.unref();
  }

  /** First setup or a reload: keep what did not change, stop what left, start autostart feeds. */
  async applySetup(setup: WorkerSetup): Promise<string> {
    const previous = this.setup;
    this.setup = setup;
    const peerPath = setup.peerPaths[this.workerId] ?? '';
    this.peerServer ??= await startPeerServer(peerPath, (name) => this.ownedStream(name), this.log);

    const wanted = ownedSourceSignatures(setup);
    for (const [id, source] of this.sources) {
      if (wanted.get(id) !== this.signatures.get(id)) {
        this.sources.delete(id);
        this.signatures.delete(id);
        void source.shutdown();
      }
    }
    for (const [id, signature] of wanted) {
      if (this.sources.has(id)) continue;
      const definition = definitionOf(setup.config, id);
      if (!definition) continue;
      const learnt = definition.kind === 'stream' && definition.config.mimetype === '' ? definition.config.name : null;
      this.sources.set(id, new Source(definition, {
        config: setup.config,
        log: this.log,
        registry: this.events,
        feed: (feed) => this.sources.get(feedId(feed)),
        ...(learnt === null ? {} : { contentTypeLearnt: (type: string) => this.events.contentTypeLearnt(learnt, type) }),
      }, this.countersOf(this.counters, id)));
      this.signatures.set(id, signature);
    }
    for (const [name, remote] of this.remotes) {
      const id = streamId(name);
      const before = previous && entryOf(previous.config.streams, name);
      const after = entryOf(setup.config.streams, name);
      const ownerChanged = previous && entryOf(previous.ownerOf, id) !== entryOf(setup.ownerOf, id);
      if (!after || ownerChanged || JSON.stringify(before) !== JSON.stringify(after)) {
        remote.shutdown();
        this.remotes.delete(name);
      }
    }
    for (const source of this.sources.values()) if (source.autostarts) source.pin();
    return peerPath;
  }

  handleClient(streamName: string, request: HandedRequest, socket: Socket): void {
    const setup = this.setup;
    const stream = setup && entryOf(setup.config.streams, streamName);
    if (!setup || !stream) {
      socket.destroy();
      this.events.clientClosed(streamName, request.id);
      return;
    }
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
    const userAgent = request.headers['user-agent'] ?? '';
    const record: ClientRecord = {
      id: request.id,
      socket,
      stream: stream.name,
      remote: request.remote,
      userAgent,
      connectedAt: Date.now(),
      bytesSent: () => 0,
      lagMs: () => 0,
      sampledBytes: 0,
      bitrate: 0,
      endedBy: null,
    };
    this.clients.add(record);
    this.connections.set(stream.name, (this.connections.get(stream.name) ?? 0) + 1);
    this.log.info(
      { id: request.id, remote: request.remote, userAgent, stream: stream.name, path: request.path },
      `client ${request.remote} connected to ${stream.name}`,
    );
    const meter = (bytesSent: () => number, lagMs?: () => number): void => {
      record.bytesSent = bytesSent;
      if (lagMs) record.lagMs = lagMs;
    };
    let session: Promise<SessionResult>;
    if (stream.type === 'shot') {
      session = serveShot(stream, setup.config, socket, this.feedReaders(stream), this.events, this.log);
    } else if (stream.client === 'exclusive') {
      session = serveExclusive(stream, setup.config, socket, this.feedReaders(stream), this.events, this.log, meter);
    } else {
      session = serveShared(stream, socket, this.streamTap(stream), request.remote, stream.startTimeoutSeconds * 1000, meter);
    }
    void session.then((result) => {
      this.clients.delete(record);
      // A shot's answer is its stream data: counted like a stream client's bytes.
      const sent = stream.type === 'shot' && result.status === 200 ? result.bytes : record.bytesSent();
      this.closedBytes.set(stream.name, (this.closedBytes.get(stream.name) ?? 0) + sent);
      this.events.clientClosed(stream.name, request.id);
      this.events.requestServed(stream.url, result.status);
      this.log.info(
        {
          remote: request.remote,
          method: request.method,
          path: request.path,
          stream: stream.name,
          userAgent,
          status: result.status,
          bytes: Math.max(result.bytes, record.bytesSent()),
          durationMs: Date.now() - request.acceptedAt,
          reason: record.endedBy ?? result.endedBy ?? 'closed',
        },
        'connection closed',
      );
    });
  }

  stats(): WorkerStats {
    const sources: SourceStats[] = [...this.sources.values()].map((s) => ({
      name: s.name,
      kind: s.kind,
      state: s.state,
      pid: s.pid,
      restarts: s.restarts,
      stalls: s.stalls,
      bytesIn: s.bytesIn,
      bitrate: this.inRates.rate(sourceId(s.kind, s.name)),
      consumers: s.consumers,
      program: s.programInfo(),
    }));
    const live = new Map<string, { clients: number; bytes: number }>();
    const clients: ClientStats[] = [];
    for (const c of this.clients) {
      const bytes = c.bytesSent();
      const row = live.get(c.stream) ?? { clients: 0, bytes: 0 };
      row.clients++;
      row.bytes += bytes;
      live.set(c.stream, row);
      clients.push({
        id: c.id,
        stream: c.stream,
        remote: c.remote,
        userAgent: c.userAgent,
        connectedAt: c.connectedAt,
        bytesSent: bytes,
        bitrate: c.bitrate,
        lagMs: Math.round(c.lagMs()),
        worker: this.workerId,
      });
    }
    const streams: StreamClientStats[] = Object.keys(this.setup?.config.streams ?? {}).map((name) => {
      const row = live.get(name) ?? { clients: 0, bytes: 0 };
      const own = this.counters.get(streamId(name));
      const remote = this.remoteCounters.get(name);
      return {
        name,
        clients: row.clients,
        connections: this.connections.get(name) ?? 0,
        bytesSent: (this.closedBytes.get(name) ?? 0) + row.bytes,
        bitrate: this.outRates.rate(name),
        droppedForLag: (own?.droppedForLag ?? 0) + (remote?.droppedForLag ?? 0),
        skippedForLag: (own?.skippedForLag ?? 0) + (remote?.skippedForLag ?? 0),
        peerResyncs: own?.peerResyncs ?? 0,
        closedOnRestart: Object.fromEntries(
          SPLICE_REASONS.map((reason) => [reason, (own?.closedOnRestart[reason] ?? 0) + (remote?.closedOnRestart[reason] ?? 0)]),
        ) as Record<SpliceReason, number>,
      };
    });
    const thread = this.mode === 'thread';
    return { workerId: this.workerId, pid: process.pid, threadId: thread ? threadId : null, rss: thread ? null : this.rss(), load: this.load.sample(), sources, streams, clients };
  }

  /** Ends the connection of client `id` (the primary's request id); false when this worker has no such client. */
  kick(id: number): boolean {
    for (const client of this.clients) {
      if (client.id !== id) continue;
      client.endedBy = 'kicked';
      endAndReap(client.socket);
      return true;
    }
    return false;
  }

  /** A JPEG of the latest keyframe of a stream this worker owns; null when it has none. */
  async thumbnail(name: string): Promise<Buffer | null> {
    const stream = this.setup ? entryOf(this.setup.config.streams, name) : undefined;
    const source = this.sources.get(streamId(name));
    if (!stream || !source) return null;
    const maker = thumbnailMaker(stream.mimetype);
    const bytes = await source.captureFromJoin(THUMBNAIL_INPUT_BYTES, (b) => maker.enough(b), THUMBNAIL_CAPTURE_MS);
    return bytes && maker.make(bytes);
  }

  /** Ends every client (each gets its access-log line) and stops every program. */
  async shutdown(): Promise<void> {
    clearInterval(this.rateTimer);
    // Whatever ends them now (their stream stopping first), their log says shutdown.
    for (const client of this.clients) client.endedBy ??= 'shutdown';
    this.peerServer?.close();
    for (const remote of this.remotes.values()) remote.shutdown();
    await Promise.all([...this.sources.values()].map((s) => s.shutdown()));
    // Per-client programs (exclusive streams, shots) end with their client.
    for (const client of this.clients) endAndReap(client.socket);
    // Ended responses are reaped within REAP_GRACE_MS; wait for their sessions to finish and log.
    const deadline = Date.now() + REAP_GRACE_MS + 500;
    while (this.clients.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  }

  /** Under descriptor exhaustion even reading our own RSS can throw: show the last value. */
  private rss(): number {
    try {
      this.lastRss = process.memoryUsage.rss();
    } catch {
      // EMFILE: keep the previous reading
    }
    return this.lastRss;
  }

  private sampleRates(): void {
    try {
      const stats = this.stats();
      for (const s of stats.sources) this.inRates.sample(sourceId(s.kind, s.name), s.bytesIn);
      for (const s of stats.streams) this.outRates.sample(s.name, s.bytesSent);
      for (const c of this.clients) {
        const bytes = c.bytesSent();
        c.bitrate = Math.max(0, ((bytes - c.sampledBytes) * 8 * 1000) / RATE_SAMPLE_MS);
        c.sampledBytes = bytes;
      }
    } catch (error) {
      // A timer must never take the worker (and its clients) down.
      this.log.warn({ code: ERRORS.INTERNAL.code, err: error }, ERRORS.INTERNAL.message('sampling rates failed'));
    }
  }

  private countersOf<K>(map: Map<K, SourceCounters>, key: K): SourceCounters {
    let counters = map.get(key);
    if (!counters) {
      counters = newSourceCounters();
      map.set(key, counters);
    }
    return counters;
  }

  private ownedStream(name: string): PeerTap | undefined {
    return this.sources.get(streamId(name));
  }

  /** The feeds of a per-client program; this worker runs them (it owns the stream's component). */
  private feedReaders(stream: StreamConfig): FeedReaders {
    const readers = feedReadersFor(stream, (feed) => this.sources.get(feedId(feed)));
    if (readers instanceof FeedReaders) return readers;
    this.log.error(
      { code: ERRORS.FEED_NOT_LOCAL.code, stream: stream.name, feed: readers.missing },
      ERRORS.FEED_NOT_LOCAL.message(`stream ${stream.name}`, readers.missing),
    );
    return new FeedReaders(undefined, []);
  }

  /** The stream's own Source when this worker owns it, else a subscription to its owner. */
  private streamTap(stream: StreamConfig): Tap {
    const own = this.sources.get(streamId(stream.name));
    if (own) return own;
    let remote = this.remotes.get(stream.name);
    if (!remote) {
      const owner = (this.setup && entryOf(this.setup.ownerOf, streamId(stream.name))) ?? 0;
      const onFallback = (reason: string): void =>
        this.log.warn({ stream: stream.name, mimetype: stream.mimetype, reason }, `stream ${stream.name}: late joiners start raw (${reason})`);
      remote = new RemoteStream({
        name: stream.name,
        peerPath: this.setup?.peerPaths[owner] ?? '',
        maxLagMs: stream.maxLagSeconds * 1000,
        log: this.log,
        counters: this.countersOf(this.remoteCounters, stream.name),
        makePolicy: () =>
          stream.mimetype === ''
            ? sniffedStreamPolicyFor(stream.join, onFallback, stream.burstSeconds)
            : policyFor(stream.mimetype, stream.join, onFallback, undefined, stream.burstSeconds),
      });
      this.remotes.set(stream.name, remote);
    }
    return remote;
  }
}

function definitionOf(config: ServerConfig, id: SourceId): SourceDefinition | undefined {
  const { kind, name } = parseSourceId(id);
  if (kind === 'feed') {
    const feed = entryOf(config.feeds, name);
    return feed && { kind, config: feed };
  }
  const stream = entryOf(config.streams, name);
  return stream && { kind, config: stream };
}

/**
 * Feeds and shared streams of the components this worker owns, each with a
 * signature covering its definition and its parents', so a reload restarts
 * exactly what changed.
 */
function ownedSourceSignatures(setup: WorkerSetup): Map<SourceId, string> {
  const { config } = setup;
  const owned = new Set(setup.owned);
  const wanted = new Map<SourceId, string>();
  const feedSignature = (name: string, seen = new Set<string>()): string => {
    const feed = entryOf(config.feeds, name);
    if (!feed || seen.has(name)) return '';
    seen.add(name);
    return JSON.stringify(feed) + (feed.feed ? feedSignature(feed.feed, seen) : '');
  };
  for (const component of findComponents(config)) {
    if (!owned.has(component.id)) continue;
    for (const f of component.feeds) wanted.set(feedId(f), feedSignature(f));
    for (const s of component.streams) {
      const stream = entryOf(config.streams, s);
      if (!stream || stream.type === 'shot' || stream.client === 'exclusive') continue;
      const feeds = [...(stream.feed ? [stream.feed] : []), ...(stream.inputs ?? []).map((input) => input.feed)];
      wanted.set(streamId(s), JSON.stringify(stream) + feeds.map((feed) => feedSignature(feed)).join(''));
    }
  }
  return wanted;
}
