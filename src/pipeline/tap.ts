import type { Fanout } from '../fanout/fanout.js';

/** How the current run of a tap's producer started. */
export type RunOutcome =
  | { kind: 'flowing' }
  /** It ended before its first byte: `how` it ended and the tail of its stderr. */
  | { kind: 'failed'; how: string; stderr: string };

/**
 * Something a consumer can read bytes from: a program or pull this worker
 * runs (Source) or another worker's seen through a peer socket
 * (RemoteStream). Consumers hold it with acquire() while they read.
 */
export interface Tap {
  readonly fanout: Fanout;
  acquire(): void;
  release(): void;
  /**
   * Resolves once the current run (or, during a restart, the next one) has
   * produced its first byte, or has failed before producing any: a client
   * is answered 200 only when there is something to send it.
   */
  whenFlowing(): Promise<RunOutcome>;
  /** A pull's: the Content-Type its origin answered with (a pulled stream with no mimetype serves it); undefined otherwise. */
  readonly contentType: string | undefined;
  /** `fanout` (an earlier one of this tap) ended only to give way to a new run its readers could not follow. */
  gaveWay(fanout: Fanout): boolean;
}

/** Where a running program reports its pid, so nothing outlives the server. */
export interface ProgramRegistry {
  programStarted(pid: number): void;
  programExited(pid: number): void;
}
