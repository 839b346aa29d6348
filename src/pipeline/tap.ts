import type { Fanout } from '../fanout/fanout.js';

/** How the current run of a tap's producer started. */
export type RunOutcome =
  | { kind: 'flowing' }
  /** It ended before its first byte: `how` it ended and the tail of its stderr. */
  | { kind: 'failed'; how: string; stderr: string };

/**
 * Something a consumer can read bytes from: a program this worker runs
 * (Source) or another worker's program seen through a peer socket
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
}

/** Where a running program reports its pid, so nothing outlives the server. */
export interface ProgramRegistry {
  programStarted(pid: number): void;
  programExited(pid: number): void;
}
