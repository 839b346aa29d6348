import type { Socket } from 'node:net';
import type { FanoutSink } from '../../src/fanout/fanout.js';
import type { StreamConfig } from '../../src/config/types.js';
import type { Tap } from '../../src/pipeline/tap.js';
import { streamResponseHead } from '../../src/http/response.js';
import type { SessionResult } from './session.js';

/**
 * A client of a shared stream: the response head, then whatever the stream's
 * Fanout writes. The client holds the Tap while connected, so an on-demand
 * program runs exactly as long as someone watches.
 */
export function serveShared(
  stream: StreamConfig,
  socket: Socket,
  tap: Tap,
  remote: string,
  meter: (bytesSent: () => number) => void,
): Promise<SessionResult> {
  return new Promise((resolve) => {
    tap.acquire();
    socket.write(streamResponseHead(stream.mimetype));
    const fanout = tap.fanout;
    const sink: FanoutSink = fanout.addSink(socket, { kind: 'client', remote });
    meter(() => sink.bytesSent);
    socket.once('close', () => {
      fanout.removeSink(sink);
      tap.release();
      resolve({ status: 200, bytes: sink.bytesSent });
    });
  });
}
