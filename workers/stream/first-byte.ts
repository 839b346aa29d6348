import type { Socket } from 'node:net';
import type { RunOutcome } from '../../src/pipeline/tap.js';

export type FirstByte = RunOutcome | { kind: 'timeout' } | { kind: 'gone' };

/**
 * Waits for a stream's first byte on behalf of one client, so that a client
 * is answered 200 only when there is something to send, and otherwise gets
 * the program's failure (502) or a timeout (504) instead of an empty 200.
 * Settles early when the client hangs up.
 */
export function waitForFirstByte(socket: Socket, flowing: Promise<RunOutcome>, timeoutMs: number): Promise<FirstByte> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: FirstByte): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('close', onClose);
      resolve(outcome);
    };
    const onClose = (): void => settle({ kind: 'gone' });
    const timer = setTimeout(() => settle({ kind: 'timeout' }), timeoutMs);
    socket.once('close', onClose);
    // A client whose socket is already gone must not hold the program.
    if (socket.destroyed) settle({ kind: 'gone' });
    void flowing.then(settle);
  });
}
