import type { Socket } from 'node:net';
import type { ErrorArgs, ErrorKey } from '../errors.js';
import { errorResponse } from '../http/error-response.js';
import { hasBody, MAX_HEAD_BYTES, parseRequestHead, type RequestHead } from '../http/request-head.js';
import { serializeResponse, type HttpResponse } from '../http/response.js';
import type { PendingHeads } from './pending-heads.js';

/** What the primary does with one parsed request. */
export type RequestDecision =
  | { kind: 'handoff' }
  | { kind: 'respond'; response: Promise<HttpResponse> };

export interface ConnectionHandlers {
  /**
   * Decide: answer here, or hand the socket to a worker (maybe after a
   * password check: a promise). On a hand-off the router has already paused
   * the socket and passed it on: this connection loop lets go of it and
   * reads nothing more.
   */
  route(head: RequestHead, socket: Socket): RequestDecision | Promise<RequestDecision>;
  /** For the access log and metrics of errors answered before routing. */
  onEarlyError(status: number, socket: Socket, head: RequestHead | null): void;
  /** A connection closed for taking too long over its head, or for want of room among pending heads. */
  onRefused(reason: 'head_timeout' | 'pending_heads', socket: Socket): void;
  /** head_timeout, read at each request so a reload applies to the next one. */
  headTimeoutMs(): number;
  pending: PendingHeads;
}

/** A keep-alive connection may sit this long between requests. */
const IDLE_TIMEOUT_MS = 5000;
/** After a refusal is written, a peer that does not close is cut off. */
const LINGER_MS = 1000;

/**
 * Reads request heads off a raw connection, one at a time, so that every
 * request boundary stays with the primary: pipelined and keep-alive requests
 * are answered in order, and a stream request is handed to a worker with the
 * socket at a clean boundary, never while an HTTP parser still owns it.
 *
 * A head must be complete head_timeout after the connection opened (or, on
 * a keep-alive connection, after the first byte of the next request): a
 * total deadline, so a client trickling a byte now and then cannot hold a
 * connection. While waiting, the connection counts among the pending heads.
 */
export function serveConnection(socket: Socket, handlers: ConnectionHandlers): void {
  let buffered: Buffer = Buffer.alloc(0);
  let busy = false;
  let done = false;
  let idle = false;
  let headTimer: NodeJS.Timeout | null = null;

  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  socket.on('timeout', () => {
    if (idle) socket.destroy();
  });

  const stopWaiting = (): void => {
    handlers.pending.leave(socket);
    if (headTimer) clearTimeout(headTimer);
    headTimer = null;
    if (idle) socket.setTimeout(0);
    idle = false;
  };
  socket.on('close', stopWaiting);

  const endWith = (response: HttpResponse): void => {
    done = true;
    stopWaiting();
    socket.removeListener('data', onData);
    socket.end(serializeResponse(response));
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  };

  const startHeadClock = (): void => {
    const ms = handlers.headTimeoutMs();
    headTimer = setTimeout(() => {
      headTimer = null;
      if (done || busy) return;
      handlers.onRefused('head_timeout', socket);
      endWith(errorResponse('HEAD_TIMEOUT', String(ms / 1000)));
    }, ms);
  };

  /** Wait for a head: `started` when its first byte is already here (or the connection is new). */
  const waitForHead = (started: boolean): boolean => {
    const entered = handlers.pending.enter(socket, () => {
      if (done) return;
      done = true;
      stopWaiting();
      handlers.onRefused('pending_heads', socket);
      socket.destroy();
    });
    if (!entered) return false;
    if (started) startHeadClock();
    else {
      idle = true;
      socket.setTimeout(IDLE_TIMEOUT_MS);
    }
    return true;
  };

  const refuse = <K extends ErrorKey>(head: RequestHead | null, key: K, ...args: ErrorArgs<K>): void => {
    const response = errorResponse(key, ...args);
    handlers.onEarlyError(response.status, socket, head);
    endWith(response);
  };

  const act = (head: RequestHead, decision: RequestDecision): void => {
    if (decision.kind === 'handoff') {
      done = true;
      socket.removeListener('data', onData);
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
        if (!keepAlive || !waitForHead(buffered.length > 0)) {
          done = true;
          socket.end();
          return;
        }
        socket.resume();
        pump();
      },
      () => socket.destroy(),
    );
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
      stopWaiting();
      const decided = handlers.route(head, socket);
      if (decided instanceof Promise) {
        busy = true;
        socket.pause();
        decided.then(
          (decision) => {
            busy = false;
            if (socket.destroyed) return;
            act(head, decision);
          },
          () => socket.destroy(),
        );
        return;
      }
      act(head, decided);
    }
  };

  const onData = (chunk: Buffer): void => {
    if (idle) {
      idle = false;
      socket.setTimeout(0);
      startHeadClock();
    }
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    pump();
  };

  if (!waitForHead(true)) {
    handlers.onRefused('pending_heads', socket);
    socket.destroy();
    return;
  }
  socket.on('data', onData);
}
