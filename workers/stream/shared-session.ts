import type { Socket } from 'node:net';
import type { StreamConfig } from '../../src/config/types.js';
import { CONTENT_TYPE } from '../../src/http/content-type.js';
import { errorResponse } from '../../src/http/error-response.js';
import { streamResponseHead } from '../../src/http/response.js';
import type { Tap } from '../../src/pipeline/tap.js';
import { waitForFirstByte } from './first-byte.js';
import { refuse, type SessionResult } from './session.js';

/**
 * A client of a shared stream: once the stream has bytes for it, the
 * response head, then whatever the stream's Fanout writes. The client holds
 * the Tap while connected (and while it waits), so an on-demand program runs
 * exactly as long as someone watches.
 */
export async function serveShared(
  stream: StreamConfig,
  socket: Socket,
  tap: Tap,
  remote: string,
  startTimeoutMs: number,
  meter: (bytesSent: () => number, lagMs?: () => number) => void,
): Promise<SessionResult> {
  tap.acquire();
  const first = await waitForFirstByte(socket, tap.whenFlowing(), startTimeoutMs);
  if (first.kind !== 'flowing') {
    tap.release();
    if (first.kind === 'gone') return { status: 499, bytes: 0 };
    const refusal =
      first.kind === 'failed'
        ? errorResponse('STREAM_FAILED', stream.name, first.how, first.stderr)
        : errorResponse('STREAM_START_TIMEOUT', stream.name, String(startTimeoutMs / 1000));
    return refuse(socket, refusal);
  }
  return new Promise((resolve) => {
    // A pulled stream with no mimetype serves its origin's: known by the first byte.
    socket.write(streamResponseHead(stream.mimetype || tap.contentType || CONTENT_TYPE.OCTET_STREAM));
    const fanout = tap.fanout;
    const sink = fanout.addSink(socket, { kind: 'client', remote }, stream.lagPolicy);
    meter(() => sink.bytesSent, () => sink.lagMs());
    socket.once('close', () => {
      fanout.removeSink(sink);
      tap.release();
      resolve({ status: 200, bytes: sink.bytesSent, ...(sink.endedBy === null ? {} : { endedBy: sink.endedBy }) });
    });
  });
}
