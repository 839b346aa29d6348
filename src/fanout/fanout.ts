/**
 * Fan-out of one live byte stream to many sockets: THE hot path.
 *
 * Bytes pushed in one event-loop turn become one batch (one Buffer shared by
 * every sink), flushed on setImmediate or as soon as it reaches
 * maxBatchBytes. Not sooner (a microtask): a client waiting for a stream's
 * first byte attaches its sink a few promise hops after the read that
 * brought it, and must not miss that batch.
 *
 * A caught-up sink gets the batch exactly once per flush: every caught-up
 * socket with nothing queued in Node goes into one call of the native
 * writer (direct-writer.ts: one io_uring submission or one send() each; it
 * hands what the kernel did not take back to socket.write(), so order,
 * backpressure and errors stay Node's), the others get one write() each;
 * without the native writer (native-writer.ts) all get a write(). A sink
 * whose socket stops taking data is "blocked": it is skipped, and on 'drain'
 * it is fed from its cursor in the shared ring with one corked writev per
 * round until it is caught up. A blocked sink whose next byte arrived more
 * than maxLagMs ago is dropped, so the ring (trimmed after every flush to
 * the oldest cursor still needed) never holds more than about maxLagMs of
 * data, and one slow client never slows the others. A sink the join policy
 * started in the past (at the latest keyframe) is not blamed for that: until
 * it first catches up, the age of its join point is credited to it, so the
 * ring may then hold up to twice maxLagMs.
 *
 * What "dropped" means is the sink's lag policy: `drop` resets a client's
 * connection (counted); `skip` moves a client's cursor to the latest join
 * point instead (no header again; counted), so a slow viewer loses a stretch
 * of stream rather than the stream; `resync` closes a peer link so the
 * subscribing worker links again and starts at a join point with the header,
 * keeping all of its own clients (counted).
 *
 * A sink the join policy has no good starting point for yet (no keyframe
 * held, or `join: next-keyframe`) is "parked": it gets nothing until the
 * policy reports a new join point, or until it waited one GOP or maxLagMs,
 * whichever is less, when it joins at the live edge like the raw policy
 * would: a join point that does not come when it should is not waited for.
 * The GOP is the longest of the last few intervals between join points,
 * timed once per batch that brought one; unknown (maxLagMs) before two.
 *
 * Written for throughput: no closure, promise or allocation per chunk per
 * sink; the only per-batch allocation is the batch itself. A sink's
 * bytesSent counts every byte handed to its socket, directly or through
 * Node (socket.bytesWritten misses the direct ones).
 */
import type { Socket } from 'node:net';
import { DirectWriter, directTarget } from './direct-writer.js';
import { RawJoinPolicy, type JoinPoint, type JoinPolicy } from './join/policy.js';
import { fanoutWriter, type NativeSend } from './native-writer.js';
import { StreamRing } from './ring.js';
import { abort, endAndReap } from './socket-close.js';

/** Free-form facts about a sink, for stats pages and logs. */
export interface SinkInfo {
  kind?: 'client' | 'peer' | 'program';
  remote?: string;
  [key: string]: unknown;
}

/** What happens to a sink more than maxLagMs behind (see the header). */
export type LagPolicy = 'drop' | 'skip' | 'resync';

export interface FanoutSink {
  readonly socket: Socket;
  readonly info: SinkInfo;
  /** Wall-clock ms since the epoch. */
  readonly connectedAt: number;
  /** Bytes handed to the socket (header included). */
  readonly bytesSent: number;
  /** The socket's buffers are full: the sink waits for 'drain'. */
  readonly blocked: boolean;
  /** How long ago, on the fan-out's clock, the next byte this sink needs arrived (less its join credit); 0 when caught up. */
  lagMs(now?: number): number;
  /** Why the fan-out ended it: dropped for lag, or the stream ended; null while connected or when the client left. */
  readonly endedBy: 'lag' | 'stream-ended' | null;
}

/**
 * Totals that outlive one Fanout: the owner of a feed or stream hands the
 * same object to every Fanout it makes for it (one per program run), so the
 * counters exported from them only ever rise.
 */
export interface FanoutCounters {
  bytesIn: number;
  /** Bytes handed to every sink's socket (clients, peer links, programs). */
  bytesOut: number;
  droppedForLag: number;
  skippedForLag: number;
  /** Peer links closed for lag so that their worker links again at a join point. */
  peerResyncs: number;
}

export function newFanoutCounters(): FanoutCounters {
  return { bytesIn: 0, bytesOut: 0, droppedForLag: 0, skippedForLag: 0, peerResyncs: 0 };
}

export interface FanoutOptions {
  name: string;
  /** Shared with earlier and later Fanouts of the same feed or stream; default: its own. */
  counters?: FanoutCounters;
  /** A blocked sink this far behind (in arrival time) is dropped. */
  maxLagMs: number;
  joinPolicy?: JoinPolicy;
  /** Monotonic clock in ms; default performance.now. */
  now?: () => number;
  /** Flush at once when this many bytes are pending; default 64 KiB. */
  maxBatchBytes?: number;
  /** Writes a batch to caught-up sockets in one call; null: socket.write() for each. Default: the process's (native-writer.ts). */
  writer?: NativeSend | null;
  onDrop?: (sink: FanoutSink, what: LagPolicy) => void;
}

const DEFAULT_MAX_BATCH_BYTES = 64 * 1024;
/** A stalled stream flushes nothing, so lagging sinks are also checked on a timer. */
const LAG_CHECK_INTERVAL_MS = 250;
/**
 * Catch-up hands a blocked socket up to this many batches per writev: enough
 * to amortise the syscall, small enough that the cursor (and so the lag
 * measure) stays close to what the client really received.
 */
const CATCH_UP_BATCHES = 4;
/** Intervals between join points kept to estimate one GOP; a power of two. */
const JOIN_GAPS = 4;

function noop(): void {}

/** Client sockets fail all the time (reset, broken pipe); 'close' follows and removes the sink. */
function swallowError(): void {}

const defaultClock = (): number => performance.now();

class Sink implements FanoutSink {
  /** Absolute offset of the next byte this sink needs; == ring end when caught up. */
  cursor = 0;
  blocked = false;
  /** Position in Fanout.list (or in Fanout.parked while parked); -1 once removed. */
  index = -1;
  bytesSent = 0;
  /** Bytes a catch-up round may queue on the socket. */
  budget = 0;
  /** Parked: the policy's joinsSeen when it parked, and when (fan-out clock). */
  parkedSince = -1;
  parkedAt = 0;
  /** Age of the join point when the sink started behind live; 0 once it caught up. */
  credit = 0;
  readonly connectedAt = Date.now();
  lag: LagPolicy = 'drop';
  endedBy: 'lag' | 'stream-ended' | null = null;
  /** For the direct writer: the socket's descriptor (-1: never direct) and the handle it belongs to. */
  fd = -1;
  handle: object | null = null;
  onDrain: () => void = noop;
  onClose: () => void = noop;

  constructor(
    readonly socket: Socket,
    readonly info: SinkInfo,
    private readonly ring: StreamRing,
    private readonly clock: () => number,
  ) {}

  lagMs(now: number = this.clock()): number {
    if (!this.blocked) return 0;
    const arrived = this.ring.arrivalOf(this.cursor);
    return Number.isNaN(arrived) ? 0 : Math.max(0, now - arrived - this.credit);
  }
}

export class Fanout {
  readonly name: string;
  private readonly maxLagMs: number;
  private readonly policy: JoinPolicy;
  /** Callers of captureFromJoin still gathering bytes; usually none. */
  private watchers: ((chunk: Buffer) => void)[] = [];
  private readonly now: () => number;
  private readonly maxBatchBytes: number;
  private readonly onDrop: ((sink: FanoutSink, what: LagPolicy) => void) | undefined;
  private readonly ring = new StreamRing();
  private readonly list: Sink[] = [];
  /** Sinks waiting for a join point; never written to by flushes. */
  private readonly parked: Sink[] = [];
  private joinsSeen = 0;
  /** When the last batch with a new join point was flushed (fan-out clock); -1 before one. */
  private joinAt = -1;
  /** The last JOIN_GAPS intervals between join points, ms, in a ring; `gapCount` of them are valid. */
  private readonly joinGaps = new Float64Array(JOIN_GAPS);
  private gapCount = 0;
  private gapNext = 0;
  private readonly pending: Buffer[] = [];
  private pendingBytes = 0;
  private immediate: NodeJS.Immediate | null = null;
  private lagTimer: NodeJS.Timeout | null = null;
  private blockedCount = 0;
  private flushing = false;
  private ended = false;
  private readonly counters: FanoutCounters;
  private readonly direct: DirectWriter<Sink> | null;

  /** What the direct writer could not send: through Node, as any write; -1: what went out is unknown, so the connection ends. */
  private readonly writeRest = (s: Sink, batch: Buffer, taken: number): void => {
    const socket = s.socket;
    if (taken < 0) abort(socket);
    else if (!socket.write(taken === 0 ? batch : batch.subarray(taken)) && socket.writableLength > 0) this.block(s);
  };

  private readonly flushSoon = (): void => {
    this.immediate = null;
    this.flush();
  };

  private readonly lagTick = (): void => {
    if (this.blockedCount === 0 && this.parked.length === 0) {
      this.stopLagTimer();
      return;
    }
    const now = this.now();
    if (this.parked.length > 0) this.unparkExpired(now);
    if (this.blockedCount === 0) return;
    this.dropLagging(now);
    this.trim(now);
  };

  constructor(opts: FanoutOptions) {
    this.name = opts.name;
    this.maxLagMs = opts.maxLagMs;
    this.policy = opts.joinPolicy ?? new RawJoinPolicy();
    this.now = opts.now ?? defaultClock;
    this.maxBatchBytes = Math.max(1, opts.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES);
    this.onDrop = opts.onDrop;
    this.counters = opts.counters ?? newFanoutCounters();
    const writer = opts.writer === undefined ? fanoutWriter().send : opts.writer;
    this.direct = writer === null ? null : new DirectWriter<Sink>(writer);
  }

  get sinkCount(): number {
    return this.list.length + this.parked.length;
  }
  /** From the shared counters: every run of this feed or stream. */
  get bytesIn(): number {
    return this.counters.bytesIn;
  }
  /** Sum over sinks of bytes handed to their sockets. */
  get bytesOut(): number {
    return this.counters.bytesOut;
  }
  get droppedForLag(): number {
    return this.counters.droppedForLag;
  }
  get skippedForLag(): number {
    return this.counters.skippedForLag;
  }
  get peerResyncs(): number {
    return this.counters.peerResyncs;
  }
  /** end() was called: the stream is over for good, no byte will come. */
  get hasEnded(): boolean {
    return this.ended;
  }
  /** Stream bytes held for sinks and late joiners (ring + not yet flushed). */
  get bufferedBytes(): number {
    return this.ring.bufferedBytes + this.pendingBytes;
  }

  /** Takes ownership of `chunk`: it is shared with every sink, never copied or mutated. */
  push(chunk: Buffer): void {
    if (this.ended || chunk.length === 0) return;
    if (this.watchers.length > 0) this.notifyWatchers(chunk);
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    this.counters.bytesIn += chunk.length;
    if (this.pendingBytes >= this.maxBatchBytes && !this.flushing) this.flush();
    else if (this.immediate === null) this.immediate = setImmediate(this.flushSoon);
  }

  addSink(socket: Socket, info: SinkInfo = {}, lag: LagPolicy = 'drop'): FanoutSink {
    const s = new Sink(socket, info, this.ring, this.now);
    s.lag = lag;
    if (socket.destroyed) return s;
    if (this.ended) {
      endAndReap(socket);
      return s;
    }
    s.budget = Math.max(CATCH_UP_BATCHES * this.maxBatchBytes, socket.writableHighWaterMark);
    s.onDrain = () => {
      if (s.blocked) this.catchUp(s, s.budget);
    };
    s.onClose = () => this.removeSink(s);
    if (this.direct !== null) {
      const target = directTarget(socket);
      s.fd = target.fd;
      s.handle = target.handle;
    }
    socket.on('drain', s.onDrain);
    socket.on('close', s.onClose);
    socket.on('error', swallowError);

    const ring = this.ring;
    const join = this.policy.joinPoint(ring.start, ring.end);
    if (join === null) this.park(s);
    else this.start(s, join);
    return s;
  }

  /** Idempotent. Leaves the socket open and takes the fan-out's listeners off it. */
  removeSink(sink: FanoutSink): void {
    if (sink instanceof Sink) this.detach(sink, false);
  }

  /**
   * What a joiner would get first (header, then the stream from the latest
   * join point), copied, until `enough` says it holds what the caller
   * needs (a whole picture), `maxBytes` were gathered or `timeoutMs`
   * passed: then whatever came by then (a low-bitrate stream never fills
   * a large `enough`). Null only when there is no join point yet. For
   * thumbnails: costs nothing while no one asks.
   */
  captureFromJoin(maxBytes: number, enough: (bytes: Buffer) => boolean, timeoutMs: number): Promise<Buffer | null> {
    const first = this.latestJoinBytes(maxBytes);
    if (first === null || enough(first) || first.length >= maxBytes) return Promise.resolve(first);
    return new Promise((resolve) => {
      let bytes = first;
      const done = (result: Buffer | null): boolean => {
        clearTimeout(timer);
        this.watchers = this.watchers.filter((w) => w !== watcher);
        resolve(result);
        return true;
      };
      const watcher = (chunk: Buffer): void => {
        bytes = Buffer.concat([bytes, chunk.subarray(0, maxBytes - bytes.length)]);
        if (enough(bytes) || bytes.length >= maxBytes) done(bytes);
      };
      const timer = setTimeout(() => done(bytes), timeoutMs);
      this.watchers.push(watcher);
    });
  }

  private notifyWatchers(chunk: Buffer): void {
    for (const watcher of [...this.watchers]) {
      try {
        watcher(chunk);
      } catch {
        // A thumbnail's trouble is never the stream's.
      }
    }
  }

  /**
   * The header and the stream from the latest join point on (at most
   * `maxBytes` of it), copied. Null when no join point is held.
   */
  private latestJoinBytes(maxBytes: number): Buffer | null {
    const ring = this.ring;
    const join = this.policy.joinPoint(ring.start, ring.end, -1);
    if (join === null || join.offset >= ring.end) return null;
    const parts: Buffer[] = join.header ? [join.header] : [];
    let left = maxBytes;
    for (let i = Math.max(0, ring.indexOf(join.offset)); i < ring.length && left > 0; i++) {
      const chunk = ring.chunkAt(i);
      const from = Math.max(0, join.offset - ring.startAt(i));
      const part = chunk.subarray(from, from + left);
      parts.push(part);
      left -= part.length;
    }
    return Buffer.concat(parts);
  }

  /** A sink found its place in the stream: header first, then data from the join offset. */
  private start(s: Sink, join: JoinPoint): void {
    const ring = this.ring;
    const socket = s.socket;
    s.index = this.list.length;
    this.list.push(s);
    s.cursor = Math.min(Math.max(join.offset, ring.start), ring.end);
    const header = join.header;
    if (header !== null && header.length > 0) {
      socket.write(header);
      s.bytesSent += header.length;
      this.counters.bytesOut += header.length;
    }
    if (s.cursor < ring.end) this.catchUpFromPast(s);
  }

  /** A sink that starts (or skipped to) behind live: credited the age of its start, then fed. */
  private catchUpFromPast(s: Sink): void {
    const arrived = this.ring.arrivalOf(s.cursor);
    if (!Number.isNaN(arrived)) s.credit = Math.min(this.maxLagMs, Math.max(0, this.now() - arrived));
    if (!s.blocked) this.block(s);
    this.catchUp(s, s.budget);
  }

  private park(s: Sink): void {
    s.parkedSince = this.policy.joinsSeen;
    s.parkedAt = this.now();
    s.index = this.parked.length;
    this.parked.push(s);
    this.startLagTimer();
  }

  /** Takes a sink off the parked list (swap-remove); false when it was not there. */
  private unpark(s: Sink): boolean {
    const parked = this.parked;
    const i = s.index;
    if (s.parkedSince < 0 || i < 0 || parked[i] !== s) return false;
    const last = parked.pop() as Sink;
    if (last !== s) {
      parked[i] = last;
      last.index = i;
    }
    s.index = -1;
    s.parkedSince = -1;
    return true;
  }

  /** After a batch showed a new join point: start every parked sink the policy now has a place for. */
  private releaseParked(): void {
    const ring = this.ring;
    const parked = this.parked;
    for (let i = parked.length - 1; i >= 0; i--) {
      if (i >= parked.length) continue;
      const s = parked[i];
      const join = this.policy.joinPoint(ring.start, ring.end, s.parkedSince);
      if (join === null) continue;
      this.unpark(s);
      if (!s.socket.destroyed) this.start(s, join);
    }
  }

  /** Waited a whole GOP (or lag limit) for a join point: better a raw join than none. */
  private unparkExpired(now: number): void {
    const cutoff = now - this.parkLimitMs();
    const parked = this.parked;
    for (let i = parked.length - 1; i >= 0; i--) {
      if (i >= parked.length) continue;
      const s = parked[i];
      if (s.parkedAt > cutoff) continue;
      this.unpark(s);
      if (!s.socket.destroyed) this.start(s, { header: null, offset: this.ring.end });
    }
  }

  /** The stream is over for good: sinks get what they are owed, then end(). */
  end(): void {
    if (this.ended) return;
    this.flush();
    this.ended = true;
    if (this.immediate !== null) clearImmediate(this.immediate);
    this.immediate = null;
    this.stopLagTimer();
    const parked = this.parked;
    while (parked.length > 0) {
      const s = parked[parked.length - 1];
      this.detach(s, true);
      s.endedBy = 'stream-ended';
      endAndReap(s.socket);
    }
    const list = this.list;
    while (list.length > 0) {
      const s = list[list.length - 1];
      if (s.blocked) this.catchUp(s, Number.POSITIVE_INFINITY);
      this.detach(s, true);
      s.endedBy = 'stream-ended';
      endAndReap(s.socket);
    }
    this.pending.length = 0;
    this.pendingBytes = 0;
    this.ring.clear();
  }

  /** The producing program restarted; sinks stay connected and keep their place. */
  restart(): void {
    this.flush();
    this.policy.reset();
    // The new program's GOP is its own.
    this.joinAt = -1;
    this.gapCount = 0;
  }

  /** How long a parked sink waits for a join point: one GOP, at most the lag limit. */
  private parkLimitMs(): number {
    if (this.gapCount < 2) return this.maxLagMs;
    let gop = 0;
    for (let i = 0; i < this.gapCount; i++) if (this.joinGaps[i] > gop) gop = this.joinGaps[i];
    return Math.min(this.maxLagMs, gop);
  }

  /** Once per batch that brought a join point: no allocation. */
  private noteJoin(now: number): void {
    if (this.joinAt >= 0) {
      this.joinGaps[this.gapNext] = now - this.joinAt;
      this.gapNext = (this.gapNext + 1) & (JOIN_GAPS - 1);
      if (this.gapCount < JOIN_GAPS) this.gapCount++;
    }
    this.joinAt = now;
  }

  private flush(): void {
    const bytes = this.pendingBytes;
    if (bytes === 0 || this.flushing) return;
    this.flushing = true;
    try {
      this.flushBatch(bytes);
    } finally {
      // A throwing join policy or onDrop must not wedge the stream.
      this.flushing = false;
    }
    if (this.pendingBytes > 0 && this.immediate === null) this.immediate = setImmediate(this.flushSoon);
  }

  private flushBatch(bytes: number): void {
    const pending = this.pending;
    const batch = pending.length === 1 ? pending[0] : Buffer.concat(pending, bytes);
    pending.length = 0;
    this.pendingBytes = 0;

    const ring = this.ring;
    const now = this.now();
    const policy = this.policy;
    policy.observe(batch, ring.end);
    ring.append(batch, now);
    const end = ring.end;
    const list = this.list;
    const direct = this.direct;
    let written = 0;
    for (let i = 0; i < list.length; i++) {
      const s = list[i];
      if (s.blocked) continue;
      s.cursor = end;
      s.bytesSent += bytes;
      written++;
      if (direct !== null && direct.offer(s)) continue;
      const socket = s.socket;
      // write() answers false whenever the batch exceeds the socket's
      // highWaterMark, even if the kernel took it all at once; only data
      // still queued in user space means the socket is really behind.
      if (!socket.write(batch) && socket.writableLength > 0) this.block(s);
    }
    // Only other sockets were written to since the offers: every offered one still holds its descriptor.
    if (direct !== null) direct.send(batch, this.writeRest);
    this.counters.bytesOut += written * bytes;
    // After the batch went out, so released sinks do not get it twice.
    if (policy.joinsSeen !== this.joinsSeen) {
      this.joinsSeen = policy.joinsSeen;
      this.noteJoin(now);
      if (this.parked.length > 0) this.releaseParked();
    }
    if (this.blockedCount > 0) this.dropLagging(now);
    this.trim(now);
  }

  /**
   * Feeds a blocked sink from its cursor, one corked writev of up to
   * `budget` bytes per round, while the socket keeps taking data.
   */
  private catchUp(s: Sink, budget: number): void {
    const ring = this.ring;
    const socket = s.socket;
    while (s.cursor < ring.end) {
      if (socket.destroyed) return;
      if (socket.writableNeedDrain && socket.writableLength >= budget) return;
      let i = ring.indexOf(s.cursor);
      // Trimming honours blocked cursors, so this is only a safety net.
      if (i < 0) {
        s.cursor = ring.start;
        i = 0;
      }
      const n = ring.length;
      let sent = 0;
      socket.cork();
      do {
        const chunk = ring.chunkAt(i);
        const skip = s.cursor - ring.startAt(i);
        socket.write(skip === 0 ? chunk : chunk.subarray(skip));
        s.cursor += chunk.length - skip;
        sent += chunk.length - skip;
        i++;
      } while (i < n && socket.writableLength < budget);
      socket.uncork();
      s.bytesSent += sent;
      this.counters.bytesOut += sent;
    }
    if (s.blocked) this.unblock(s);
  }

  private block(s: Sink): void {
    s.blocked = true;
    this.blockedCount++;
    this.startLagTimer();
  }

  private startLagTimer(): void {
    if (this.lagTimer === null) {
      this.lagTimer = setInterval(this.lagTick, LAG_CHECK_INTERVAL_MS);
      this.lagTimer.unref();
    }
  }

  private unblock(s: Sink): void {
    s.blocked = false;
    s.credit = 0;
    this.blockedCount--;
  }

  private dropLagging(now: number): void {
    const cutoff = now - this.maxLagMs;
    const ring = this.ring;
    const list = this.list;
    // Backwards, because dropping moves the last sink into the freed slot.
    for (let i = list.length - 1; i >= 0; i--) {
      if (i >= list.length) continue; // onDrop removed sinks
      const s = list[i];
      if (s.blocked && ring.arrivalOf(s.cursor) + s.credit < cutoff) this.lagging(s);
    }
  }

  private lagging(s: Sink): void {
    let what: LagPolicy = s.lag;
    if (what === 'skip') {
      if (this.skip(s)) this.counters.skippedForLag++;
      else what = 'drop'; // no join point ahead: nothing to skip to
    }
    if (what !== 'skip') {
      this.detach(s, true);
      if (what === 'resync') {
        s.socket.destroy();
        this.counters.peerResyncs++;
      } else {
        s.endedBy = 'lag';
        abort(s.socket);
        this.counters.droppedForLag++;
      }
    }
    if (this.onDrop !== undefined) this.onDrop(s, what);
  }

  /** Moves a lagging sink to the latest join point ahead of it; false when there is none. */
  private skip(s: Sink): boolean {
    const ring = this.ring;
    const join = this.policy.joinPoint(ring.start, ring.end, -1);
    if (join === null || join.offset <= s.cursor) return false;
    s.cursor = Math.min(join.offset, ring.end);
    s.credit = 0;
    if (s.cursor === ring.end) {
      this.unblock(s);
      return true;
    }
    this.catchUpFromPast(s);
    return true;
  }

  /** Keeps what blocked sinks and the join policy still need, and nothing older than the lag limit (plus join credit). */
  private trim(now: number): void {
    const ring = this.ring;
    let keep = this.policy.retainFrom(ring.end);
    let credit = 0;
    if (this.blockedCount > 0) {
      const list = this.list;
      for (let i = 0; i < list.length; i++) {
        const s = list[i];
        if (!s.blocked) continue;
        if (s.cursor < keep) keep = s.cursor;
        if (s.credit > credit) credit = s.credit;
      }
    }
    ring.trim(keep, now - this.maxLagMs - credit);
  }

  /** `keepErrorGuard`: the fan-out ended or destroyed the socket itself, so late errors are its to swallow. */
  private detach(s: Sink, keepErrorGuard: boolean): void {
    const i = s.index;
    const list = this.list;
    if (this.unpark(s)) {
      // fall through to the listener clean-up
    } else if (i < 0 || list[i] !== s) {
      return;
    } else {
      this.detachFromList(s, i);
    }
    const socket = s.socket;
    socket.off('drain', s.onDrain);
    socket.off('close', s.onClose);
    if (!keepErrorGuard) socket.off('error', swallowError);
  }

  private detachFromList(s: Sink, i: number): void {
    const list = this.list;
    const last = list.pop() as Sink;
    if (last !== s) {
      list[i] = last;
      last.index = i;
    }
    s.index = -1;
    if (s.blocked) this.unblock(s);
  }

  private stopLagTimer(): void {
    if (this.lagTimer !== null) clearInterval(this.lagTimer);
    this.lagTimer = null;
  }
}
