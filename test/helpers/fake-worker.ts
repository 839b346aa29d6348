/**
 * A stand-in worker thread for test/worker-link.test.ts: worker 0 dies on its
 * first client without acknowledging it (a thread ending with a hand-off in
 * flight); any other worker takes its clients and answers `worker N`.
 */
import { Socket } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import type { PrimaryToWorker, WorkerToPrimary } from '../../src/cluster/messages.js';

const port = parentPort;
if (!port) throw new Error('fake-worker runs as a worker thread');
const id = (workerData as { workerId: number }).workerId;
const send = (message: WorkerToPrimary): void => port.postMessage(message);

port.on('message', (message: PrimaryToWorker) => {
  switch (message.type) {
    case 'setup':
      send({ type: 'ready', workerId: id, peerPath: '' });
      break;
    case 'client': {
      if (id === 0 || message.fd === undefined) process.exit(3);
      send({ type: 'client-received', id: message.request.id, load: 0 });
      const socket = new Socket({ fd: message.fd, readable: true, writable: true });
      const { stream, request } = message;
      socket.end(`worker ${id}\n`, () => send({ type: 'client-closed', stream, id: request.id }));
      break;
    }
    case 'shutdown':
      process.exit(0);
      break;
    default:
      break;
  }
});
