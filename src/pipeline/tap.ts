import type { Fanout } from '../fanout/fanout.js';

/**
 * Something a consumer can read bytes from: a program this worker runs
 * (Source) or another worker's program seen through a peer socket
 * (RemoteStream). Consumers hold it with acquire() while they read.
 */
export interface Tap {
  readonly fanout: Fanout;
  acquire(): void;
  release(): void;
}

/** Where a running program reports its pid, so nothing outlives the server. */
export interface ProgramRegistry {
  programStarted(pid: number): void;
  programExited(pid: number): void;
}
