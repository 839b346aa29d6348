import type { Socket } from 'node:net';
import type { HandedRequest } from '../cluster/messages.js';
import type { StreamConfig } from '../config/types.js';
import type { HandedClient } from './worker-link.js';

/**
 * A stream client on its way to a worker.
 *
 * The primary keeps its hold on the connection (worker-link.ts: a process's
 * socket sent with `keepOpen`, a thread's descriptor number) until the
 * worker acknowledges it ('client-received', the worker's first act). A
 * worker may die with the client still in flight: SIGKILLed a moment
 * earlier but not yet reaped, the send fails or the descriptor is lost in its
 * channel. The primary then still holds the connection, at a clean request
 * boundary, and gives it to another worker: the client never sees the death.
 * Once acknowledged, the primary lets go of its hold (a process: close(2) of
 * our copy only; the connection lives on in the worker).
 */
export interface Handoff {
  readonly stream: StreamConfig;
  readonly client: HandedClient;
  readonly request: HandedRequest;
  /** Workers that failed to take it: never tried again for this client. */
  readonly tried: Set<number>;
}

interface ReadableHandle {
  readStop?: () => number;
}

/**
 * While the worker owns the connection, the primary's copy must not read
 * from it: a byte or an end-of-file read here would be taken from the worker
 * (a paused net.Socket goes on reading into its buffer, and at its end would
 * shut the connection down). libuv's readStop on the handle is the only way;
 * net.Socket has no public one.
 */
export function stopReading(socket: Socket): void {
  socket.pause();
  const handle = (socket as unknown as { _handle?: ReadableHandle | null })._handle;
  handle?.readStop?.();
}
