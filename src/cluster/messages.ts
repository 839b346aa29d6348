/**
 * Messages between the primary and its workers (Node IPC as JSON to a
 * process, postMessage to a thread).
 * Only control travels here: stream bytes go over byte streams (unix
 * sockets between workers), never IPC messages, which cost far more per byte.
 */
import type { ServerConfig } from '../config/types.js';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { WorkerStats } from '../stats/types.js';
import type { SourceId } from './source-id.js';

/** A parsed request the primary hands to a worker with its socket. */
export interface HandedRequest {
  /** The primary's slot for this client (src/access/limits.ts), freed when the worker reports it closed. */
  id: number;
  method: string;
  path: string;
  httpVersion: string;
  headers: Record<string, string>;
  remote: string;
  /** When the primary accepted the connection (ms epoch), for the access log. */
  acceptedAt: number;
}

export interface WorkerSetup {
  workerId: number;
  config: ServerConfig;
  /** Ids of the pipeline components (see assignment.ts) this worker owns. */
  owned: SourceId[];
  /** Which worker owns each feed and each stream. */
  ownerOf: Record<SourceId, number>;
  /** Unix socket path of every worker's peer server, by worker id. */
  peerPaths: Record<number, string>;
}

export type PrimaryToWorker =
  | { type: 'setup'; setup: WorkerSetup }
  /** `fd`: to a worker thread, the client's descriptor (the process's table is shared); to a process, the socket comes as the IPC handle. */
  | { type: 'client'; stream: string; request: HandedRequest; fd?: number }
  | { type: 'stats'; id: number }
  | { type: 'metrics'; id: number }
  /** To the owner of `stream`: a JPEG of its latest keyframe, for the console. */
  | { type: 'thumbnail'; id: number; stream: string }
  /** End the connection of the client the primary handed over as request `clientId`. */
  | { type: 'kick'; clientId: number }
  | { type: 'shutdown' };

export type WorkerMetricsJson = MetricObjectWithValues<MetricValue<string>>[];

export type WorkerToPrimary =
  | { type: 'ready'; workerId: number; peerPath: string }
  /**
   * Sent as soon as a handed socket arrives: a hand-off never acknowledged was lost (the worker had no descriptor for it).
   * `load`: the worker's event-loop utilisation (0..1), for placing the next clients (placement.ts).
   */
  | { type: 'client-received'; id: number; load: number }
  | { type: 'client-closed'; stream: string; id: number }
  | { type: 'program-started'; pid: number }
  | { type: 'program-exited'; pid: number }
  /** The owner of a pulled stream with no mimetype learnt what its origin serves: the primary answers HEAD and pages with it. */
  | { type: 'content-type'; stream: string; contentType: string }
  | { type: 'stats'; id: number; stats: WorkerStats }
  | { type: 'metrics'; id: number; metrics: WorkerMetricsJson }
  /** Base64 JPEG (small: a scaled-down picture), or null when the stream has none to show. */
  | { type: 'thumbnail'; id: number; jpeg: string | null };
