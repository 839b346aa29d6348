import type { ServerConfig, StreamConfig } from '../../src/config/types.js';
import type { FeedReaders } from '../../src/pipeline/feed-readers.js';
import { Program } from '../../src/pipeline/program.js';
import type { ProgramRegistry } from '../../src/pipeline/tap.js';

/**
 * Starts the program of one client (an exclusive stream or a shot) with its
 * feeds plugged in. The caller ends it with `readers.release()` and
 * `program.stop()`, and reports the exit to the registry.
 */
export function startClientProgram(
  kind: 'stream' | 'shot',
  stream: StreamConfig,
  config: ServerConfig,
  readers: FeedReaders,
  registry: ProgramRegistry,
): Program {
  readers.acquire();
  const program = new Program({
    kind,
    name: stream.name,
    argv: stream.argv,
    ...readers.stdio,
    logdir: config.logdir,
    logMaxBytes: config.logMaxBytes,
    logKeep: config.logKeep,
  });
  if (program.pid !== undefined) registry.programStarted(program.pid);
  readers.attach(program);
  return program;
}
