import type { Socket } from 'node:net';
import type { ServerConfig, StreamConfig } from '../config/types.js';
import { Program } from '../pipeline/program.js';
import type { ProgramRegistry, Tap } from '../pipeline/tap.js';
import type { FanoutSink } from '../fanout/fanout.js';
import { streamResponseHead } from './response.js';

export interface SessionResult {
  status: number;
  bytes: number;
}

/**
 * `client: exclusive`: one program per client, for formats a player cannot
 * join mid-way. The program's stdout is piped to the socket, so a slow client
 * slows only its own program.
 */
export function serveExclusive(
  stream: StreamConfig,
  config: ServerConfig,
  socket: Socket,
  feed: Tap | undefined,
  registry: ProgramRegistry,
  meter: (bytesSent: () => number) => void,
): Promise<SessionResult> {
  return new Promise((resolve) => {
    feed?.acquire();
    const program = new Program({
      kind: 'stream',
      name: stream.name,
      argv: stream.argv,
      stdin: feed ? 'pipe' : 'ignore',
      logdir: config.logdir,
      logMaxBytes: config.logMaxBytes,
      logKeep: config.logKeep,
    });
    const pid = program.pid;
    if (pid !== undefined) registry.programStarted(pid);
    let sink: FanoutSink | null = null;
    if (feed && program.stdin) sink = feed.fanout.addSink(program.stdin, { kind: 'program' });
    let bytes = 0;
    meter(() => bytes);
    socket.write(streamResponseHead(stream.mimetype));
    program.stdout?.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    program.stdout?.pipe(socket);
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      if (sink && feed) feed.fanout.removeSink(sink);
      feed?.release();
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
