import type { Socket } from 'node:net';
import type { ErrorArgs, ErrorKey } from '../errors.js';
import { errorResponse } from '../http/error-response.js';
import { hasBody, MAX_HEAD_BYTES, parseRequestHead, type RequestHead } from '../http/request-head.js';
import { serializeResponse, type HttpResponse } from '../http/response.js';

/** What the primary does with one parsed request. */
export type RequestDecision =
  | { kind: 'handoff' }
  | { kind: 'respond'; response: Promise<HttpResponse> };

export interface ConnectionHandlers {
  /**
   * Decide: answer here, or hand the socket to a worker. On a hand-off the
   * router has already paused the socket and passed it on: this connection
   * loop lets go of it and reads nothing more.
   */
  route(head: RequestHead, socket: Socket): RequestDecision;
  /** For the access log and metrics of errors answered before routing. */
  onEarlyError(status: number, socket: Socket, head: RequestHead | null): void;
}

const HEAD_TIMEOUT_MS = 15_000;
const IDLE_TIMEOUT_MS = 60_000;

/**
 * Reads request heads off a raw connection, one at a time, so that every
 * request boundary stays with the primary: pipelined and keep-alive requests
 * are answered in order, and a stream request is handed to a worker with the
 * socket at a clean boundary, never while an HTTP parser still owns it.
 */
export function serveConnection(socket: Socket, handlers: ConnectionHandlers): void {
  let buffered: Buffer = Buffer.alloc(0);
  let busy = false;
  let done = false;

  socket.setNoDelay(true);
  socket.setTimeout(HEAD_TIMEOUT_MS, () => socket.destroy());
  socket.on('error', () => socket.destroy());

  const refuse = <K extends ErrorKey>(head: RequestHead | null, key: K, ...args: ErrorArgs<K>): void => {
    done = true;
    const response = errorResponse(key, ...args);
    handlers.onEarlyError(response.status, socket, head);
    socket.end(serializeResponse(response));
    socket.removeListener('data', onData);
  };

  const pump = (): void => {
    while (!busy && !done) {
      const result = parseRequestHead(buffered);
      if (result.kind === 'incomplete') return;
      if (result.kind === 'too-large') { refuse(null, 'HEADER_TOO_LARGE', String(MAX_HEAD_BYTES)); return; }
      if (result.kind === 'bad') { refuse(null, 'BAD_REQUEST', result.reason); return; }
      const head = result.head;
      if (hasBody(head)) { refuse(head, 'BAD_REQUEST', 'request bodies are not accepted'); return; }
      buffered = buffered.subarray(head.length);
      const decision = handlers.route(head, socket);
      if (decision.kind === 'handoff') {
        done = true;
        socket.removeListener('data', onData);
        socket.setTimeout(0);
        return;
      }
      busy = true;
      socket.pause();
      decision.response.then(
        (response) => {
          if (socket.destroyed) return;
          const keepAlive = head.keepAlive && response.status < 500 && response.framing !== 'close';
          socket.write(serializeResponse(response, { headOnly: head.method === 'HEAD', keepAlive }));
          busy = false;
          if (!keepAlive) {
            done = true;
            socket.end();
            return;
          }
          socket.setTimeout(IDLE_TIMEOUT_MS);
          socket.resume();
          pump();
        },
        () => socket.destroy(),
      );
    }
  };

  const onData = (chunk: Buffer): void => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    pump();
  };
  socket.on('data', onData);
}
