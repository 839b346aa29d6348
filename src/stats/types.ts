/** What /stat and /stat.json show; workers report parts, the primary merges. */
import type { PullFailure } from '../pipeline/pull.js';
import type { SpliceReason } from '../pipeline/splice.js';

export type ProgramState = 'idle' | 'starting' | 'running' | 'restarting' | 'dead';

/** A feed's or shared stream's program, as the console shows it: the running one, else the last run. */
export interface ProgramInfo {
  /** ms epoch of the running program's start; null when none runs. */
  startedAt: number | null;
  secondsSinceOutput: number | null;
  lastExit: { code: number | null; signal: string | null; at: number } | null;
  /** The last lines of its stderr. */
  stderrTail: string[];
  /** While backing off after a failure: when (ms epoch) it is started again. */
  retryAt: number | null;
  /** A relay's pull (then stderrTail holds its last errors); null for a program. */
  pull: { url: string; contentType: string | null; ends: Partial<Record<PullFailure, number>> } | null;
}

export interface SourceStats {
  name: string;
  kind: 'feed' | 'stream';
  state: ProgramState;
  pid: number | null;
  restarts: number;
  /** Times the stall watchdog killed its program. */
  stalls: number;
  /** Bytes read from the program's stdout. */
  bytesIn: number;
  /** Over the last few seconds, bits per second of bytesIn. */
  bitrate: number;
  /** Programs, clients and peer workers reading it. */
  consumers: number;
  program: ProgramInfo;
}

export interface ClientStats {
  /** The primary's request id: what /admin/clients/ID/kick names. */
  id: number;
  stream: string;
  remote: string;
  userAgent: string;
  connectedAt: number;
  bytesSent: number;
  /** Bits per second over the last few seconds. */
  bitrate: number;
  /** Stream time the client is behind live (shared streams; 0 otherwise). */
  lagMs: number;
  worker: number;
}

export interface StreamClientStats {
  name: string;
  clients: number;
  /** Clients that connected to it in this worker's life (counted at connect). */
  connections: number;
  bytesSent: number;
  bitrate: number;
  droppedForLag: number;
  /** Clients with `lag_policy: skip` moved ahead to a join point. */
  skippedForLag: number;
  /** Peer links this worker closed for lag (their worker links again at a join point). */
  peerResyncs: number;
  /** Readers closed because a new run of the producer could not follow the old one for them (see src/pipeline/splice.ts), by why. */
  closedOnRestart: Record<SpliceReason, number>;
}

export interface WorkerStats {
  workerId: number;
  pid: number;
  /** Null for a thread: the RSS is its process's, shared with the primary and the other threads. */
  rss: number | null;
  /** A thread's id in its process (a debugger's "[worker N]"); null for a worker process. */
  threadId: number | null;
  /** How busy its event loop is (0..1), as it places clients by (src/cluster/placement.ts). */
  load: number;
  sources: SourceStats[];
  streams: StreamClientStats[];
  clients: ClientStats[];
}
