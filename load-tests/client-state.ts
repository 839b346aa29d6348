import { monoMs, RecordTracker } from './latency-record.js';

/** Called for each latency record a client receives: its emission time and the arrival time (monotonic ms). */
export type LatencySink = (emittedMono: number, arrivedMono: number) => void;

/** What the report needs from one client, whatever HTTP engine drives it. */
export interface ClientCounters {
  /** performance.now() when the connection was started. */
  readonly openedAt: number;
  /** HTTP status of the answer; null before it (or without one). */
  status: number | null;
  /** Why there was no answer (error code), or null. */
  failure: string | null;
  headAt: number | null;
  firstByteAt: number | null;
  /** When the server closed the connection or it failed; null while open or when we closed it. */
  closedAt: number | null;
  /** Body bytes received so far. */
  bytes: number;
  resyncs: number;
  markStart(): void;
  markEnd(): void;
  windowBytes(): number;
  close(): void;
}

/**
 * Counters shared by the engines. The hot path is body(): per read, a few
 * additions, and the latency tracker's header copy when a record begins.
 */
export abstract class ClientState implements ClientCounters {
  readonly openedAt = performance.now();
  status: number | null = null;
  failure: string | null = null;
  headAt: number | null = null;
  firstByteAt: number | null = null;
  closedAt: number | null = null;
  bytes = 0;
  protected closing = false;
  private startBytes = 0;
  private endBytes: number | null = null;
  private readonly tracker: RecordTracker | null;
  private arrived = 0;
  private readonly onRecord: ((mono: number) => void) | null;

  constructor(latency: LatencySink | null) {
    this.tracker = latency ? new RecordTracker() : null;
    this.onRecord = latency ? (mono: number) => latency(mono, this.arrived) : null;
  }

  get resyncs(): number {
    return this.tracker?.resyncs ?? 0;
  }

  markStart(): void {
    this.startBytes = this.bytes;
  }

  markEnd(): void {
    this.endBytes = this.bytes;
  }

  windowBytes(): number {
    return (this.endBytes ?? this.bytes) - this.startBytes;
  }

  abstract close(): void;

  protected body(buf: Buffer, start: number, end: number): void {
    if (end <= start) return;
    if (this.firstByteAt === null) this.firstByteAt = performance.now();
    this.bytes += end - start;
    if (this.tracker !== null && this.onRecord !== null) {
      this.arrived = monoMs();
      this.tracker.feed(buf, start, end, this.onRecord);
    }
  }

  protected ended(failure: string | null): void {
    if (this.closing) return;
    if (this.status === null && this.failure === null) this.failure = failure ?? 'closed before answering';
    if (this.closedAt === null) this.closedAt = performance.now();
  }
}
