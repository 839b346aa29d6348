import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import { ERRORS } from '../errors.js';
import { hasBody, parseRequestHead, type RequestHead } from '../http/request-head.js';

/** What the primary does with one parsed request. */
export type RequestDecision =
  | { kind: 'handoff' }
  | { kind: 'respond'; response: Promise<PageResponse> };

export interface PageResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface ConnectionHandlers {
  /** Decide: hand the socket to a worker (it then owns it) or answer here. */
  route(head: RequestHead, socket: Socket, rest: Buffer): RequestDecision;
  /** For the access log and metrics of errors answered before routing. */
  onEarlyError(status: number, remote: string, head: RequestHead | null): void;
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
  const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;

  socket.setNoDelay(true);
  socket.setTimeout(HEAD_TIMEOUT_MS, () => socket.destroy());
  socket.on('error', () => socket.destroy());

  const finishWith = (status: number, head: RequestHead | null, reason: string): void => {
    done = true;
    handlers.onEarlyError(status, remote, head);
    const body = Buffer.from(`${reason}\n`);
    socket.end(serializeResponse({ status, headers: { 'content-type': 'text/plain; charset=utf-8' }, body }, false, false));
    socket.removeListener('data', onData);
  };

  const pump = (): void => {
    while (!busy && !done) {
      const result = parseRequestHead(buffered);
      if (result.kind === 'incomplete') return;
      if (result.kind === 'too-large') return finishWith(431, null, ERRORS.HEADER_TOO_LARGE.message('16384'));
      if (result.kind === 'bad') return finishWith(400, null, ERRORS.BAD_REQUEST.message(result.reason));
      const head = result.head;
      if (hasBody(head)) return finishWith(400, head, ERRORS.BAD_REQUEST.message('request bodies are not accepted'));
      const rest = buffered.subarray(head.length);
      const decision = handlers.route(head, socket, rest);
      if (decision.kind === 'handoff') {
        done = true;
        socket.removeListener('data', onData);
        socket.setTimeout(0);
        return;
      }
      busy = true;
      socket.pause();
      buffered = rest;
      decision.response.then(
        (response) => {
          if (socket.destroyed) return;
          const keepAlive = head.keepAlive && response.status < 500;
          socket.write(serializeResponse(response, head.method === 'HEAD', keepAlive));
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

export function serializeResponse(response: PageResponse, headOnly: boolean, keepAlive: boolean): Buffer {
  const lines = [`HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? 'Unknown'}`];
  for (const [name, value] of Object.entries(response.headers)) {
    const lower = name.toLowerCase();
    if (lower === 'connection' || lower === 'transfer-encoding' || lower === 'content-length' || lower === 'keep-alive') continue;
    lines.push(`${name}: ${value}`);
  }
  lines.push(`Content-Length: ${headOnly ? response.headers['content-length'] ?? response.body.length : response.body.length}`);
  lines.push(`Date: ${new Date().toUTCString()}`);
  lines.push(`Connection: ${keepAlive ? 'keep-alive' : 'close'}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return headOnly ? head : Buffer.concat([head, response.body]);
}
