/**
 * The worker's line to the primary, whichever the worker is: a forked
 * process (Node IPC; a client's socket arrives as the message's handle) or a
 * thread (parentPort; a client arrives as a descriptor number of the shared
 * table, src/primary/worker-link.ts). Everything else in a worker is the same.
 */
import { closeSync } from 'node:fs';
import { Socket } from 'node:net';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { PrimaryToWorker, WorkerToPrimary } from '../../src/cluster/messages.js';

/**
 * The connection of a 'client' message, taken once the primary was told
 * ('client-received'): a thread must acknowledge a descriptor before it
 * owns it, so that the primary never closes or re-sends a number that the
 * worker may have closed (and another connection reused). Null when the
 * message came without one.
 */
type TakeClient = (() => Socket) | null;

export interface ParentChannel {
  readonly mode: 'process' | 'thread';
  readonly workerId: number;
  send(message: WorkerToPrimary): void;
  onMessage(handler: (message: PrimaryToWorker, take: TakeClient) => void): void;
}

function threadWorkerId(): number {
  const id = (workerData as { workerId?: unknown } | null)?.workerId;
  return typeof id === 'number' ? id : 0;
}

/** The thread acknowledged `fd`, so it is the thread's to close when Node cannot wrap it (not a socket any more). */
function adopt(fd: number): Socket {
  try {
    return new Socket({ fd, readable: true, writable: true });
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

function threadChannel(port: NonNullable<typeof parentPort>): ParentChannel {
  return {
    mode: 'thread',
    workerId: threadWorkerId(),
    send: (message) => port.postMessage(message),
    onMessage(handler) {
      port.on('message', (message: PrimaryToWorker) => {
        const fd = message.type === 'client' ? message.fd : undefined;
        handler(message, fd === undefined ? null : () => adopt(fd));
      });
    },
  };
}

function processChannel(): ParentChannel {
  return {
    mode: 'process',
    workerId: Number(process.env.VOYANDZ_WORKER_ID ?? 0),
    send(message) {
      if (process.connected) process.send?.(message);
    },
    onMessage(handler) {
      process.on('message', (message: PrimaryToWorker, handle?: Socket) => handler(message, handle ? () => handle : null));
    },
  };
}

export function parentChannel(): ParentChannel {
  return !isMainThread && parentPort ? threadChannel(parentPort) : processChannel();
}
