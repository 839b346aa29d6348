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
}
