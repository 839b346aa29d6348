import type { Server, Socket } from 'node:net';
import type { Logger } from 'pino';
import type { ServerConfig, StreamConfig } from '../../src/config/types.js';
import type { HandedRequest, WorkerSetup } from '../../src/cluster/messages.js';
import { findComponents } from '../../src/cluster/assignment.js';
import { Source } from '../../src/pipeline/source.js';
import { FeedReaders, feedReadersFor } from '../../src/pipeline/feed-readers.js';
import type { ProgramRegistry, Tap } from '../../src/pipeline/tap.js';
import type { ClientStats, SourceStats, StreamClientStats, WorkerStats } from '../../src/stats/types.js';
import { RateMeter } from '../../src/stats/rate-meter.js';
import { policyFor } from '../../src/fanout/join/policy-for.js';
import { RemoteStream, startPeerServer } from './peer-link.js';
import { serveShared } from './shared-session.js';
import { serveExclusive } from './exclusive-session.js';
import type { SessionResult } from './session.js';
import { serveShot } from './shot-session.js';

interface ClientRecord {
  stream: string;
  remote: string;
  connectedAt: number;
  bytesSent: () => number;
}

interface StreamTotals {
  closedBytes: number;
  droppedForLag: number;
}

export interface RuntimeEvents extends ProgramRegistry {
  clientClosed(stream: string, id: number): void;
  requestServed(route: string, status: number): void;
}

/**
 * Everything one worker process runs: the pipelines it owns (feeds and
 * shared streams as Sources), subscriptions to streams other workers own,
 * and the clients the primary handed it.
 */
export class WorkerRuntime {
  private setup: WorkerSetup | null = null;
  private readonly sources = new Map<string, Source>();
  private readonly signatures = new Map<string, string>();
  private readonly remotes = new Map<string, RemoteStream>();
  private readonly clients = new Set<ClientRecord>();
  private readonly totals = new Map<string, StreamTotals>();
  private readonly rates = new RateMeter();
  private peerServer: Server | null = null;
  private readonly rateTimer: NodeJS.Timeout;

  constructor(
    readonly workerId: number,
    private readonly log: Logger,
    private readonly events: RuntimeEvents,
  ) {
    this.rateTimer = setInterval(() => this.sampleRates(), 1000);
    this.rateTimer.unref();
  }

  get config(): ServerConfig | null {
    return this.setup?.config ?? null;
  }

  /** First setup or a reload: keep what did not change, stop what left, start autostart feeds. */
  async applySetup(setup: WorkerSetup): Promise<string> {
    const previous = this.setup;
    this.setup = setup;
    const peerPath = setup.peerPaths[this.workerId] ?? '';
    if (!this.peerServer) this.peerServer = await startPeerServer(peerPath, (name) => this.ownedTap(name), this.log);

    const wanted = this.ownedSourceKeys(setup);
    for (const [key, source] of this.sources) {
      if (wanted.get(key) !== this.signatures.get(key)) {
        this.sources.delete(key);
        this.signatures.delete(key);
        void source.shutdown();
      }
    }
    for (const [key, signature] of wanted) {
      if (this.sources.has(key)) continue;
      const [kind, name] = key.split(':') as ['feed' | 'stream', string];
      const def = kind === 'feed' ? setup.config.feeds[name] : setup.config.streams[name];
      if (!def) continue;
      this.sources.set(key, new Source(kind, def, {
        config: setup.config,
        log: this.log,
        registry: this.events,
        feed: (feed) => this.sources.get(`feed:${feed}`),
      }));
      this.signatures.set(key, signature);
    }
    for (const [name, remote] of this.remotes) {
      const before = previous?.config.streams[name];
      const after = setup.config.streams[name];
      const ownerChanged = previous?.ownerOf[`stream:${name}`] !== setup.ownerOf[`stream:${name}`];
      if (!after || ownerChanged || JSON.stringify(before) !== JSON.stringify(after)) {
        remote.shutdown();
        this.remotes.delete(name);
      }
    }
    for (const source of this.sources.values()) {
      if (source.kind === 'feed' && (source.def as { mode: unknown }).mode === 'autostart') source.pin();
    }
    return peerPath;
  }

  handleClient(streamName: string, request: HandedRequest, socket: Socket): void {
    const setup = this.setup;
    const stream = setup?.config.streams[streamName];
    if (!setup || !stream) {
      socket.destroy();
      this.events.clientClosed(streamName, request.id);
      return;
    }
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
    const record: ClientRecord = { stream: stream.name, remote: request.remote, connectedAt: Date.now(), bytesSent: () => 0 };
    this.clients.add(record);
    const meter = (bytesSent: () => number): void => {
      record.bytesSent = bytesSent;
    };
    let session: Promise<SessionResult>;
    if (stream.type === 'shot') {
      session = serveShot(stream, setup.config, socket, this.feedReaders(stream), this.events);
    } else if (stream.client === 'exclusive') {
      session = serveExclusive(stream, setup.config, socket, this.feedReaders(stream), this.events, meter);
    } else {
      session = serveShared(stream, socket, this.streamTap(stream), request.remote, meter);
    }
    void session.then((result) => {
      this.clients.delete(record);
      this.totalsOf(stream.name).closedBytes += record.bytesSent();
      this.events.clientClosed(stream.name, request.id);
      this.events.requestServed(stream.url, result.status);
      this.log.info(
        {
          remote: request.remote,
          method: request.method,
          path: request.path,
          status: result.status,
          bytes: Math.max(result.bytes, record.bytesSent()),
          durationMs: Date.now() - request.acceptedAt,
        },
        'connection closed',
      );
    });
  }

  stats(): WorkerStats {
    const sources: SourceStats[] = [...this.sources.values()].map((s) => ({
      name: s.def.name,
      kind: s.kind,
      state: s.state,
      pid: s.pid,
      restarts: s.restarts,
      bytesIn: s.bytesIn,
      bitrate: this.rates.rate(`in:${s.kind}:${s.def.name}`),
      consumers: s.consumers,
    }));
    const streams: StreamClientStats[] = [];
    const clients: ClientStats[] = [];
    const live = new Map<string, { clients: number; bytes: number }>();
    for (const c of this.clients) {
      const bytes = c.bytesSent();
      const row = live.get(c.stream) ?? { clients: 0, bytes: 0 };
      row.clients++;
      row.bytes += bytes;
      live.set(c.stream, row);
      clients.push({ stream: c.stream, remote: c.remote, connectedAt: c.connectedAt, bytesSent: bytes, worker: this.workerId });
    }
    for (const name of Object.keys(this.setup?.config.streams ?? {})) {
      const row = live.get(name) ?? { clients: 0, bytes: 0 };
      const totals = this.totalsOf(name);
      streams.push({
        name,
        clients: row.clients,
        bytesSent: totals.closedBytes + row.bytes,
        bitrate: this.rates.rate(`out:${name}`),
        droppedForLag: totals.droppedForLag + this.liveDrops(name),
      });
    }
    return { workerId: this.workerId, pid: process.pid, rss: process.memoryUsage.rss(), sources, streams, clients };
  }

  async shutdown(): Promise<void> {
    clearInterval(this.rateTimer);
    this.peerServer?.close();
    for (const remote of this.remotes.values()) remote.shutdown();
    await Promise.all([...this.sources.values()].map((s) => s.shutdown()));
  }

  private sampleRates(): void {
    const stats = this.stats();
    for (const s of stats.sources) this.rates.sample(`in:${s.kind}:${s.name}`, s.bytesIn);
    for (const s of stats.streams) this.rates.sample(`out:${s.name}`, s.bytesSent);
  }

  private liveDrops(stream: string): number {
    const tap = this.sources.get(`stream:${stream}`) ?? this.remotes.get(stream);
    return tap?.fanout.droppedForLag ?? 0;
  }

  private totalsOf(stream: string): StreamTotals {
    let totals = this.totals.get(stream);
    if (!totals) {
      totals = { closedBytes: 0, droppedForLag: 0 };
      this.totals.set(stream, totals);
    }
    return totals;
  }

  private ownedTap(streamName: string): Tap | undefined {
    return this.sources.get(`stream:${streamName}`);
  }

  /** The feeds of a per-client program; this worker runs them (it owns the stream's component). */
  private feedReaders(stream: StreamConfig): FeedReaders {
    const readers = feedReadersFor(stream, (feed) => this.sources.get(`feed:${feed}`));
    if (readers instanceof FeedReaders) return readers;
    this.log.error({ stream: stream.name, feed: readers.missing }, `feed ${readers.missing} not run by this worker; the program gets no input`);
    return new FeedReaders(undefined, []);
  }

  /** The stream's own Source when this worker owns it, else a subscription to its owner. */
  private streamTap(stream: StreamConfig): Tap {
    const own = this.sources.get(`stream:${stream.name}`);
    if (own) return own;
    let remote = this.remotes.get(stream.name);
    if (!remote) {
      const owner = this.setup?.ownerOf[`stream:${stream.name}`] ?? 0;
      const onFallback = (reason: string): void =>
        this.log.warn({ stream: stream.name, mimetype: stream.mimetype, reason }, `stream ${stream.name}: late joiners start raw (${reason})`);
      remote = new RemoteStream(stream.name, this.setup?.peerPaths[owner] ?? '', stream.maxLagSeconds * 1000, this.log, () =>
        policyFor(stream.mimetype, stream.join, onFallback),
      );
      this.remotes.set(stream.name, remote);
    }
    return remote;
  }

  /**
   * Feeds and shared streams of the components this worker owns, each with a
   * signature covering its definition and its parents', so a reload restarts
   * exactly what changed.
   */
  private ownedSourceKeys(setup: WorkerSetup): Map<string, string> {
    const { config } = setup;
    const owned = new Set(setup.owned);
    const wanted = new Map<string, string>();
    const feedSignature = (name: string, seen = new Set<string>()): string => {
      const feed = config.feeds[name];
      if (!feed || seen.has(name)) return '';
      seen.add(name);
      return JSON.stringify(feed) + (feed.feed ? feedSignature(feed.feed, seen) : '');
    };
    for (const component of findComponents(config)) {
      if (!owned.has(component.id)) continue;
      for (const f of component.feeds) wanted.set(`feed:${f}`, feedSignature(f));
      for (const s of component.streams) {
        const stream = config.streams[s];
        if (!stream || stream.type === 'shot' || stream.client === 'exclusive') continue;
        const feeds = [...(stream.feed ? [stream.feed] : []), ...(stream.inputs ?? []).map((input) => input.feed)];
        wanted.set(`stream:${s}`, JSON.stringify(stream) + feeds.map((feed) => feedSignature(feed)).join(''));
      }
    }
    return wanted;
  }
}
