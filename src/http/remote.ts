import type { Socket } from 'node:net';

/** `address:port` of a connection's peer, as the access log and /stat show it. */
export function remoteOf(socket: Socket): string {
  return `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
}
