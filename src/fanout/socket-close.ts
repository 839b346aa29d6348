import type { Socket } from 'node:net';

/** After the server ends a response, how long the client has to close its side. */
export const REAP_GRACE_MS = 2000;

/**
 * Ends our side of a connection and destroys it `graceMs` later if the peer
 * has not closed its own: a client that never reads or never closes must not
 * hold a socket (and a slot in the stats) forever in FIN-WAIT-2.
 */
export function endAndReap(socket: Socket, data?: Buffer, graceMs = REAP_GRACE_MS): void {
  if (socket.destroyed) return;
  if (data === undefined) socket.end();
  else socket.end(data);
  const timer = setTimeout(() => socket.destroy(), graceMs);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

/**
 * A plain close would leave the unsent backlog in the kernel, retried for
 * minutes against a peer that reads nothing; a TCP reset frees it at once and
 * tells the peer. Pipes and unix sockets (program stdin) have no reset.
 */
export function abort(socket: Socket): void {
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}
