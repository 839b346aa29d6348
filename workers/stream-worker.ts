/**
 * Entry point of a worker, a process or a thread (parent-channel.ts): runs
 * the pipelines the primary assigns to it and serves the clients the
 * primary hands over.
 */
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { describeWriter, fanoutWriter } from '../src/fanout/native-writer.js';
import { createLogger } from '../src/log.js';
import { runningPrograms } from '../src/pipeline/program.js';
import type { WorkerMetricsJson, WorkerToPrimary } from '../src/cluster/messages.js';
import { parentChannel } from './stream/parent-channel.js';
import { WorkerRuntime } from './stream/runtime.js';
import { WorkerMetrics } from './stream/worker-metrics.js';

const channel = parentChannel();
const { workerId, mode } = channel;
const send = (message: WorkerToPrimary): void => channel.send(message);
const log = createLogger({ worker: workerId });
const writer = fanoutWriter();
log.info({ fanoutWriter: writer.kind, method: writer.method, detail: writer.why }, `fan-out writer: ${describeWriter(writer)} (${writer.why})`);

const runtime: WorkerRuntime = new WorkerRuntime(workerId, mode, log, {
  programStarted: (pid) => send({ type: 'program-started', pid }),
  programExited: (pid) => send({ type: 'program-exited', pid }),
  clientClosed: (stream, id) => send({ type: 'client-closed', stream, id }),
  contentTypeLearnt: (stream, contentType) => send({ type: 'content-type', stream, contentType }),
  // Called once clients come and go, long after `metrics` below exists.
  requestServed: (route, status) => metrics.countRequest(route, status),
});
const metrics = new WorkerMetrics(workerId, mode, () => runtime.stats());

let stopping = false;
let runtimeDir: string | null = null;
async function stop(orphaned: boolean): Promise<void> {
  if (stopping) return;
  stopping = true;
  await runtime.shutdown();
  // Exclusive streams and shots: their programs end like the others (input closed, then signals), not by the exit hook's SIGKILL.
  await Promise.all(runningPrograms().map((program) => program.stop()));
  // A primary that was killed cannot clean up after itself: its workers do.
  if (orphaned && runtimeDir !== null) rmSync(runtimeDir, { recursive: true, force: true });
  // In a thread, ends the thread only.
  process.exit(0);
}

// A thread gets no signals and ends with its primary.
if (mode === 'process') {
  // The terminal's Ctrl-C reaches every process of the group; the primary
  // decides when workers stop, so they ignore it and wait for 'shutdown'.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => void stop(false));
  // Without the primary nobody can reach our clients' pipelines: stop cleanly.
  process.on('disconnect', () => void stop(true));
}

channel.onMessage((message, take) => {
  switch (message.type) {
    case 'setup':
      void runtime.applySetup(message.setup).then(
        (peerPath) => {
          runtimeDir = dirname(peerPath);
          send({ type: 'ready', workerId, peerPath });
        },
        (error: unknown) => {
          log.fatal({ err: error }, 'worker setup failed');
          process.exit(1);
        },
      );
      break;
    case 'client':
      if (!take) {
        // The message came without its socket: nothing to serve, but the primary's slot must be freed.
        send({ type: 'client-closed', stream: message.stream, id: message.request.id });
        break;
      }
      // Acknowledged first: see TakeClient.
      send({ type: 'client-received', id: message.request.id, load: runtime.load.sample() });
      try {
        runtime.handleClient(message.stream, message.request, take());
      } catch (error) {
        // A descriptor Node cannot wrap (not a socket): that client is lost, the worker is not.
        log.warn({ err: error, client: message.request.id }, 'handed client could not be taken');
        send({ type: 'client-closed', stream: message.stream, id: message.request.id });
      }
      break;
    case 'stats':
      send({ type: 'stats', id: message.id, stats: runtime.stats() });
      break;
    case 'metrics':
      void metrics.json().then((json) => send({ type: 'metrics', id: message.id, metrics: json as WorkerMetricsJson }));
      break;
    case 'thumbnail': {
      const id = message.id;
      void runtime.thumbnail(message.stream).then(
        (jpeg) => send({ type: 'thumbnail', id, jpeg: jpeg?.toString('base64') ?? null }),
        () => send({ type: 'thumbnail', id, jpeg: null }),
      );
      break;
    }
    case 'kick':
      runtime.kick(message.clientId);
      break;
    case 'shutdown':
      void stop(false);
      break;
  }
});
