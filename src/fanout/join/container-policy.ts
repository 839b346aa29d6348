import { IN_BAND, type JoinPoint, type JoinPolicy, type RunState } from './policy.js';
import type { JoinSetting } from './container.js';
import type { ContainerParser } from './parser.js';

/** Containers whose header comes once, at the start: a player cannot take a second one mid-stream. */
const HEADER_ONCE = new Set(['matroska', 'fmp4', 'flv']);

/** The join settings a container parser serves (raw needs none). */
export type JoinMode = Exclude<JoinSetting, 'raw'>;

/**
 * Recognises the first bytes of a stream (EBML header, ftyp, "FLV", ...).
 * `strong`: so unlikely mid-stream that seeing it at a chunk start means the
 * program restarted; weak signatures (a TS sync byte) only revive a parser
 * that gave up.
 */
export interface StreamSignature {
  strong: boolean;
  test(chunk: Buffer): boolean;
}

/**
 * A join policy over a container parser. `keyframe`: a joiner starts at the
 * latest join point still in the ring (instant picture, up to a GOP of extra
 * delay). `next-keyframe`: it waits for the next one (live edge, but nothing
 * to show until then). Data the parser cannot handle turns the policy into
 * the raw policy until the program restarts: a wrong guess must never cost
 * the stream itself.
 *
 * The program's first byte is a join point of its own, the best one: from
 * there a player gets the stream exactly as the program wrote it, with what
 * no cached header holds (an MP3's ID3 tag, an MPEG-TS SDT). A joiner that
 * waited for the program to start begins there, and so does any `keyframe`
 * joiner until the parser found a second join point. A stream whose start
 * left the ring (older than the lag limit) without the parser finding any
 * join point beyond it (a multipart delimiter that never came again after
 * the first line) is taken for one it cannot parse: joins are raw from then
 * on, at once, rather than after parking each joiner.
 */
export class ContainerJoinPolicy implements JoinPolicy {
  readonly name: string;
  private parser: ContainerParser;
  private failed = false;
  private warned = false;
  private seen = 0;
  private parserJoins = 0;
  private fed = false;
  /** Offset of the program's first byte, -1 before it came. */
  private startOffset = -1;
  /** `seen` once the start was counted: sinks parked with a smaller value waited for the start. */
  private startSeen = Number.POSITIVE_INFINITY;

  constructor(
    readonly container: string,
    readonly mode: JoinMode,
    private readonly makeParser: () => ContainerParser,
    private readonly onFallback: (reason: string) => void,
    private readonly signature?: StreamSignature,
  ) {
    this.name = `${container}/${mode}`;
    this.parser = makeParser();
  }

  get joinsSeen(): number {
    return this.seen;
  }

  observe(chunk: Buffer, offset: number): void {
    // A subscriber to another worker's stream is not told when the program
    // there restarts, but the new stream's first bytes come in a read of
    // their own (the restart back-off separates them from the old ones).
    const signature = this.signature;
    if (signature !== undefined && this.fed && (this.failed || signature.strong) && signature.test(chunk)) this.reset();
    if (!this.fed) {
      this.fed = true;
      this.startOffset = offset;
      this.seen++;
      this.startSeen = this.seen;
    }
    if (this.failed) return;
    const parser = this.parser;
    try {
      parser.feed(chunk, offset);
    } catch (error) {
      this.fail(error instanceof Error ? error.message : String(error));
      return;
    }
    const joins = parser.joins;
    if (joins !== this.parserJoins) {
      this.seen += joins - this.parserJoins;
      this.parserJoins = joins;
    }
  }

  joinPoint(ringStart: number, ringEnd: number, since?: number): JoinPoint | null {
    const start = this.startOffset;
    const startHeld = start >= 0 && start >= ringStart && start <= ringEnd;
    if (startHeld && since !== undefined && since < this.startSeen) return { header: null, offset: start };
    if (!this.failed && start >= 0 && start < ringStart && this.parserJoins <= (this.parser.startJoins ?? 0)) {
      this.fail('no join point found while the stream start was held (the lag limit)');
    }
    if (this.failed) return { header: null, offset: ringEnd };
    if (startHeld && since === undefined && this.mode === 'keyframe' && this.parserJoins <= 1) return { header: null, offset: start };
    if (since === undefined ? this.mode === 'next-keyframe' : this.seen <= since) return null;
    const at = this.parser.lastJoin;
    if (at < 0 || at < ringStart || at > ringEnd) return null;
    return { header: this.parser.header(), offset: at };
  }

  retainFrom(ringEnd: number): number {
    if (this.failed) return ringEnd;
    // The start is held until it is superseded (or, bounded by the lag limit, until a join point turns up at all).
    if (this.startOffset >= 0 && this.parserJoins <= (this.mode === 'keyframe' ? 1 : 0)) return Math.min(this.startOffset, ringEnd);
    // next-keyframe joiners never look back, so the ring need not either.
    if (this.mode === 'next-keyframe') return ringEnd;
    const at = this.parser.lastJoin;
    return at < 0 ? ringEnd : Math.min(at, ringEnd);
  }

  runState(): RunState {
    // A stream that did not parse was served raw: whatever follows, follows.
    if (this.failed || !HEADER_ONCE.has(this.container)) return IN_BAND;
    const parser = this.parser;
    return { kind: 'header-once', header: parser.header(), atBoundary: parser.atBoundary ?? true, lastJoin: this.parserJoins > 0 ? parser.lastJoin : -1 };
  }

  reset(): void {
    this.parser = this.makeParser();
    this.parserJoins = 0;
    this.failed = false;
    this.fed = false;
    this.startOffset = -1;
    this.startSeen = Number.POSITIVE_INFINITY;
  }

  private fail(reason: string): void {
    this.failed = true;
    // Parked sinks are retried on every change: they now join raw.
    this.seen++;
    if (this.warned) return;
    this.warned = true;
    this.onFallback(reason);
  }
}
