import type { ServerConfig, StreamConfig } from '../../src/config/types.js';
import type { FeedReaders } from '../../src/pipeline/feed-readers.js';
import { Program } from '../../src/pipeline/program.js';
import type { ProgramRegistry } from '../../src/pipeline/tap.js';
import type { Logger } from 'pino';

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
  log?: Logger,
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
  if (log) {
    // One per request: a shot polled every second would flood the info level.
    const level = kind === 'shot' ? 'debug' : 'info';
    log[level]({ stream: stream.name, pid: program.pid }, `${kind} ${stream.name}: program started (pid ${program.pid ?? '—'})`);
    program.once('exit', (exit) =>
      log[level](
        { stream: stream.name, pid: program.pid, exitCode: exit.code, signal: exit.signal, ranMs: exit.ranMs, stopped: exit.stopped },
        `${kind} ${stream.name}: program ${exit.stopped ? 'stopped' : 'exited'} (pid ${program.pid ?? '—'}, ${exit.signal ?? `code ${exit.code}`})`,
      ),
    );
  }
  readers.attach(program);
  return program;
}
