/** What /stat and /stat.json show; workers report parts, the primary merges. */

export type ProgramState = 'idle' | 'starting' | 'running' | 'restarting' | 'dead';

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
}

export interface ClientStats {
  stream: string;
  remote: string;
  connectedAt: number;
  bytesSent: number;
  worker: number;
}

export interface StreamClientStats {
  name: string;
  clients: number;
  bytesSent: number;
  bitrate: number;
  droppedForLag: number;
  /** Clients with `lag_policy: skip` moved ahead to a join point. */
  skippedForLag: number;
  /** Peer links this worker closed for lag (their worker links again at a join point). */
  peerResyncs: number;
}

export interface WorkerStats {
  workerId: number;
  pid: number;
  rss: number;
  sources: SourceStats[];
  streams: StreamClientStats[];
  clients: ClientStats[];
}
