import type { Socket } from 'node:net';
import type { ServerConfig, StreamConfig } from '../../src/config/types.js';
import type { ProgramExit } from '../../src/pipeline/program.js';
import type { FeedReaders } from '../../src/pipeline/feed-readers.js';
import type { ProgramRegistry } from '../../src/pipeline/tap.js';
import { startClientProgram } from './client-program.js';
import { completeResponse } from '../../src/http/response.js';
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
): Promise<SessionResult> {
  return new Promise((resolve) => {
    const program = startClientProgram('shot', stream, config, readers, registry);
    const pid = program.pid;
    const chunks: Buffer[] = [];
    let size = 0;
    let verdict: { status: number; body: Buffer; type: string } | null = null;

    const answer = (status: number, type: string, body: Buffer): void => {
      if (verdict) return;
      verdict = { status, body, type };
      readers.release();
      if (!socket.destroyed) socket.end(completeResponse(status, type, body));
      resolve({ status, bytes: body.length });
    };
    const text = (message: string): Buffer => Buffer.from(`${message}\n`);

    program.stdout?.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_SHOT_BYTES) {
        answer(500, 'text/plain; charset=utf-8', text(`shot ${stream.name}: output larger than ${MAX_SHOT_BYTES} bytes`));
        void program.stop(0);
        return;
      }
      chunks.push(chunk);
    });
    const timer = setTimeout(() => {
      answer(
        504,
        'text/plain; charset=utf-8',
        text(`VOYANDZ_ERR_SHOT_TIMEOUT: shot ${stream.name} took longer than ${stream.shotTimeoutSeconds} s; program killed`),
      );
      void program.stop(500);
    }, stream.shotTimeoutSeconds * 1000);
    socket.once('close', () => {
      if (!verdict) void program.stop(500);
    });
    program.once('exit', (exit: ProgramExit) => {
      clearTimeout(timer);
      if (pid !== undefined) registry.programExited(pid);
      if (exit.code === 0) {
        answer(200, stream.mimetype, Buffer.concat(chunks));
      } else {
        const how = exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
        answer(
          500,
          'text/plain; charset=utf-8',
          text(`VOYANDZ_ERR_SHOT_FAILED: shot ${stream.name} failed (${how})\n${exit.stderrTail}`),
        );
      }
    });
  });
}
