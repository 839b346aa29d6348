/**
 * Keeps the accept loop alive when the process runs out of file
 * descriptors. libuv first closes waiting connections with a reserved
 * descriptor (clients see a reset, nothing is reported); when even that
 * fails, the server emits EMFILE/ENFILE — and would again on every turn, as
 * fast as the loop spins. Then listening stops for PAUSE_MS and resumes on
 * the same address: open connections are untouched, and the pause gives
 * closing ones time to return their descriptors. A resume that fails the
 * same way pauses again.
 */
import type { Server } from 'node:net';

const ACCEPT_PAUSE_MS = 1000;

export interface AcceptGuardEvents {
  /** Once per pause (the caller rate-limits its log lines). */
  paused(code: string, ms: number): void;
  resumed(): void;
  /** Any other server error after listening: logged, never fatal. */
  failed(error: Error): void;
}

/** `relisten` listens again on the same address. Returns a function that stops the guard. */
export function guardAccept(server: Server, relisten: () => void, events: AcceptGuardEvents): () => void {
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  const onError = (error: NodeJS.ErrnoException): void => {
    if (error.code !== 'EMFILE' && error.code !== 'ENFILE') {
      events.failed(error);
      return;
    }
    if (timer || stopped) return;
    events.paused(error.code, ACCEPT_PAUSE_MS);
    // close() stops accepting at once; its callback would wait for every open connection, which we do not.
    if (server.listening) server.close();
    timer = setTimeout(() => {
      timer = null;
      if (!stopped) relisten();
    }, ACCEPT_PAUSE_MS);
  };
  const onListening = (): void => {
    if (!stopped) events.resumed();
  };
  server.on('error', onError);
  server.on('listening', onListening);
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    server.off('error', onError);
    server.off('listening', onListening);
  };
}
