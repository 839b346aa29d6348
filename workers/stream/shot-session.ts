import type { Logger } from 'pino';
import type { Socket } from 'node:net';
import type { ServerConfig, StreamConfig } from '../../src/config/types.js';
import { errorResponse } from '../../src/http/error-response.js';
import { NO_CACHE, serializeResponse, type HttpResponse } from '../../src/http/response.js';
import { endAndReap } from '../../src/fanout/socket-close.js';
import type { ProgramExit } from '../../src/pipeline/program.js';
import type { FeedReaders } from '../../src/pipeline/feed-readers.js';
import type { ProgramRegistry } from '../../src/pipeline/tap.js';
import { startClientProgram } from './client-program.js';
import type { SessionResult } from './session.js';

/** A shot answer is held in memory whole (it needs a Content-Length). */
const MAX_SHOT_BYTES = 64 * 1024 * 1024;

/**
 * `type: shot`: run the program once for this request. Exit 0 answers 200 and
 * its stdout; anything else 500 and its stderr; too slow 504, program killed.
 */
export function serveShot(
  stream: StreamConfig,
  config: ServerConfig,
  socket: Socket,
  readers: FeedReaders,
  registry: ProgramRegistry,
  log?: Logger,
): Promise<SessionResult> {
  return new Promise((resolve) => {
    const program = startClientProgram('shot', stream, config, readers, registry, log);
    const pid = program.pid;
    const chunks: Buffer[] = [];
    let size = 0;
    let answered = false;

    const answer = (response: HttpResponse): void => {
      if (answered) return;
      answered = true;
      readers.release();
      endAndReap(socket, serializeResponse(response));
      resolve({ status: response.status, bytes: response.body.length, endedBy: response.status === 200 ? 'stream-ended' : 'error' });
    };

    program.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_SHOT_BYTES) {
        answer(errorResponse('SHOT_TOO_LARGE', stream.name, String(MAX_SHOT_BYTES)));
        void program.stop(0);
        return;
      }
      chunks.push(chunk);
    });
    const timer = setTimeout(() => {
      answer(errorResponse('SHOT_TIMEOUT', stream.name, String(stream.shotTimeoutSeconds)));
      void program.stop(500);
    }, stream.shotTimeoutSeconds * 1000);
    socket.once('close', () => {
      if (!answered) void program.stop(500);
    });
    program.once('exit', (exit: ProgramExit) => {
      clearTimeout(timer);
      if (pid !== undefined) registry.programExited(pid);
      if (exit.code === 0) {
        answer({ status: 200, headers: { 'content-type': stream.mimetype, 'cache-control': NO_CACHE }, body: Buffer.concat(chunks) });
      } else {
        const how = exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
        answer(errorResponse('SHOT_FAILED', stream.name, how, exit.stderrTail));
      }
    });
  });
}
