import type { Socket } from 'node:net';
import { endAndReap } from '../../src/fanout/socket-close.js';
import { serializeResponse, type HttpResponse } from '../../src/http/response.js';

/** How a client's session ended, for the access log and the request counter. */
export interface SessionResult {
  status: number;
  bytes: number;
  /**
   * Why the server ended it, when it did (the access log's `reason`):
   * dropped for lag, its stream (or shot) ended, or it was answered an error.
   */
  endedBy?: 'lag' | 'stream-ended' | 'error';
}

/** Answers a client that gets no stream (an error from the table) and ends its connection. */
export function refuse(socket: Socket, response: HttpResponse): SessionResult {
  endAndReap(socket, serializeResponse(response));
  return { status: response.status, bytes: response.body.length, endedBy: 'error' };
}
