import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { ServerConfig, StreamConfig } from '../../src/config/types.js';
import { ERRORS } from '../../src/errors.js';
import { errorResponse } from '../../src/http/error-response.js';
import { streamResponseHead } from '../../src/http/response.js';
import type { FeedReaders } from '../../src/pipeline/feed-readers.js';
import type { ProgramExit } from '../../src/pipeline/program.js';
import type { ProgramRegistry } from '../../src/pipeline/tap.js';
import { endAndReap } from '../../src/fanout/socket-close.js';
import { startClientProgram } from './client-program.js';
import { refuse, type SessionResult } from './session.js';

/**
 * `client: exclusive`: one program per client, for formats a player cannot
 * join mid-way. The program's stdout is piped to the socket, so a slow client
 * slows only its own program. The client is answered 200 only once the
 * program wrote its first byte: a program that fails first answers 502 with
 * its stderr, one that stays silent 504.
 */
export function serveExclusive(
  stream: StreamConfig,
  config: ServerConfig,
  socket: Socket,
  readers: FeedReaders,
  registry: ProgramRegistry,
  log: Logger,
  meter: (bytesSent: () => number) => void,
): Promise<SessionResult> {
  return new Promise((resolve) => {
    const program = startClientProgram('stream', stream, config, readers, registry, log);
    const pid = program.pid;
    let bytes = 0;
    let answered = false;
    let finished = false;
    meter(() => bytes);
    const finish = (result: SessionResult): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      readers.release();
      void program.stop().then(() => {
        if (pid !== undefined) registry.programExited(pid);
      });
      resolve(result);
    };
    const timer = setTimeout(() => {
      finish(refuse(socket, errorResponse('STREAM_START_TIMEOUT', stream.name, String(stream.startTimeoutSeconds))));
    }, stream.startTimeoutSeconds * 1000);
    program.stdout.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    program.stdout.once('data', (first: Buffer) => {
      if (finished) return;
      answered = true;
      clearTimeout(timer);
      socket.write(streamResponseHead(stream.mimetype));
      socket.write(first);
      // Attached in this same tick, so no later chunk is missed.
      // The program's end ends the response (reaped below), not pipe().
      program.stdout.pipe(socket, { end: false });
    });
    socket.once('close', () => finish({ status: answered ? 200 : 499, bytes }));
    program.once('exit', (exit: ProgramExit) => {
      if (answered) {
        endAndReap(socket);
        finish({ status: 200, bytes, endedBy: 'stream-ended' });
        return;
      }
      const how = `its program ${exit.error ? `could not start (${exit.error.message})` : `${exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`} before producing a byte`}`;
      log.error(
        { code: exit.error?.code ?? ERRORS.STREAM_FAILED.code, stream: stream.name, exitCode: exit.code, signal: exit.signal, stderr: exit.stderrTail },
        ERRORS.STREAM_FAILED.message(stream.name, how, ''),
      );
      finish(refuse(socket, errorResponse('STREAM_FAILED', stream.name, how, exit.stderrTail)));
    });
  });
}
