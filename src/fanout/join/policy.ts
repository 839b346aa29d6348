/**
 * Where a client joining a shared stream mid-way starts, and what it is sent
 * first. The fan-out knows nothing about containers; a policy per container
 * (MPEG-TS, WebM, fMP4, FLV, mpjpeg, MP3, raw) watches the bytes once per
 * stream and answers these questions.
 */

export interface JoinPoint {
  /** Sent to the new client before any stream data (e.g. the container header); null for none. */
  header: Buffer | null;
  /** Absolute stream offset of the first byte to send after the header. */
  offset: number;
}

/**
 * Where the current run of a stream stands, for a producer that starts over
 * while readers stay connected (FanoutSlot.restart): whether the new run
 * may simply follow, or its header must match the one they already got.
 */
export interface RunState {
  /**
   * `header-once`: a container whose header comes once, at the start (WebM,
   * fragmented MP4, FLV): a second one mid-stream breaks players.
   * `in-band`: anything may follow (MPEG-TS repeats its tables, mpjpeg and
   * audio frames resync, raw has no framing, an unparsed stream is raw).
   * `unknown`: not known yet (a feed's container is still being sniffed).
   */
  kind: 'header-once' | 'in-band' | 'unknown';
  /** The header a joiner gets; null while none was found. */
  header: Buffer | null;
  /** See ContainerParser.atBoundary. */
  atBoundary: boolean;
  /** Offset of the latest join point the parser found (not the run's first byte); -1 when none yet. */
  lastJoin: number;
}

export const IN_BAND: RunState = { kind: 'in-band', header: null, atBoundary: true, lastJoin: -1 };

export interface JoinPolicy {
  readonly name: string;
  /**
   * Grows by at least one whenever a new join point is seen (or the policy
   * gives up parsing and falls back to raw). A sink parked by a null
   * joinPoint() is retried whenever this changes, never per byte.
   */
  readonly joinsSeen: number;
  /**
   * Sees every batch once, in order, with the absolute offset of its first
   * byte. Runs once per stream, never per client. A policy may keep
   * references to (parts of) `chunk`; the fan-out never mutates it.
   */
  observe(chunk: Buffer, offset: number): void;
  /**
   * Where a new sink starts, given what the ring still holds. An offset
   * outside [ringStart, ringEnd] is clamped into it. `since` is undefined for
   * a sink that just arrived, and the joinsSeen value at parking time for a
   * parked one: null parks the sink until a join point newer than that shows
   * up (no usable join point held, or the policy waits for the next one).
   */
  joinPoint(ringStart: number, ringEnd: number, since?: number): JoinPoint | null;
  /**
   * Oldest offset the policy still needs kept in the ring (e.g. the last
   * keyframe); ringEnd when none. The ring never keeps data older than the
   * stream's lag limit, whatever this answers.
   */
  retainFrom(ringEnd: number): number;
  /** The producing program restarted: its stream starts over (new header to come). */
  reset(): void;
  /** See RunState; a policy that does not say is taken as in-band. */
  runState?(): RunState;
}

/** Formats with no framing: a new client starts at the live edge, no header. */
export class RawJoinPolicy implements JoinPolicy {
  readonly name = 'raw';
  readonly joinsSeen = 0;

  observe(_chunk: Buffer, _offset: number): void {
    // Nothing to learn: any byte is a valid place to start.
  }

  joinPoint(_ringStart: number, ringEnd: number): JoinPoint {
    return { header: null, offset: ringEnd };
  }

  retainFrom(ringEnd: number): number {
    return ringEnd;
  }

  reset(): void {
    // Stateless.
  }

  runState(): RunState {
    return IN_BAND;
  }
}
