import type { Socket } from 'node:net';
import type { ServerConfig, StreamConfig } from '../../src/config/types.js';
import type { FeedReaders } from '../../src/pipeline/feed-readers.js';
import type { ProgramRegistry } from '../../src/pipeline/tap.js';
import { startClientProgram } from './client-program.js';
import { streamResponseHead } from '../../src/http/response.js';
import type { SessionResult } from './session.js';

/**
 * `client: exclusive`: one program per client, for formats a player cannot
 * join mid-way. The program's stdout is piped to the socket, so a slow client
 * slows only its own program.
 */
export function serveExclusive(
  stream: StreamConfig,
  config: ServerConfig,
  socket: Socket,
  readers: FeedReaders,
  registry: ProgramRegistry,
  meter: (bytesSent: () => number) => void,
): Promise<SessionResult> {
  return new Promise((resolve) => {
    const program = startClientProgram('stream', stream, config, readers, registry);
    const pid = program.pid;
    let bytes = 0;
    meter(() => bytes);
    socket.write(streamResponseHead(stream.mimetype));
    program.stdout.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    program.stdout.pipe(socket);
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      readers.release();
      void program.stop().then(() => {
        if (pid !== undefined) registry.programExited(pid);
      });
      resolve({ status: 200, bytes });
    };
    socket.once('close', finish);
    program.once('exit', () => {
      socket.end();
      finish();
    });
  });
}
