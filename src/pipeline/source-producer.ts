/**
 * What a Source runs for its definition, and how it speaks of it: a program
 * (its command) or a pull (its URL), the join policy of its bytes, and the
 * words for starts, ends and failures in logs, on the console and in the 502
 * a waiting client gets. Kept apart from source.ts, which only sequences
 * runs and knows neither processes nor HTTP.
 */
import type { Logger } from 'pino';
import type { ServerConfig } from '../config/types.js';
import { ERRORS } from '../errors.js';
import type { JoinPolicy } from '../fanout/join/policy.js';
import { feedPolicyFor, policyFor, sniffedStreamPolicyFor } from '../fanout/join/policy-for.js';
import type { FeedReaders } from './feed-readers.js';
import { Program, type ProgramExit } from './program.js';
import type { Producer } from './producer.js';
import { Pull } from './pull.js';
import { feedContentTypeCheck, streamContentTypeCheck } from './pull-accept.js';
import type { SourceDefinition } from './source.js';

export function makeProducer(definition: SourceDefinition, config: ServerConfig, readers: FeedReaders | null): Producer {
  const { kind, config: entry } = definition;
  if (entry.pull !== undefined) {
    return new Pull({
      what: `${kind} ${entry.name}`,
      url: entry.pull.url,
      headers: entry.pull.headers,
      checkContentType: definition.kind === 'stream' ? streamContentTypeCheck(definition.config) : feedContentTypeCheck(definition.config),
    });
  }
  return new Program({
    kind,
    name: entry.name,
    argv: entry.argv,
    ...(readers?.stdio ?? { stdin: 'ignore' }),
    logdir: config.logdir,
    logMaxBytes: config.logMaxBytes,
    logKeep: config.logKeep,
  });
}

/** `feed cam1: program started (pid 12)`, `stream cam1: pulling http://…`. */
export function startedLine(definition: SourceDefinition, producer: Producer): string {
  const what = `${definition.kind} ${definition.config.name}`;
  return producer instanceof Pull ? `${what}: pulling ${definition.config.pull?.url ?? ''}` : `${what}: program started (pid ${producer.pid ?? '—'})`;
}

export function endedLine(definition: SourceDefinition, producer: Producer, exit: ProgramExit): string {
  const what = `${definition.kind} ${definition.config.name}`;
  if (producer instanceof Pull) return `${what}: pull ${exit.stopped ? 'stopped' : `ended (${producer.failure ?? 'stopped'})`}`;
  return `${what}: program ${exit.stopped ? 'stopped' : 'exited'} (pid ${producer.pid ?? '—'}, ${exit.signal ?? `code ${exit.code}`})`;
}

/** How a run ended, after "its program" / "its pull": for logs and the 502 of a client that waited for it. */
export function describeEnd(producer: Producer, exit: ProgramExit): string {
  if (producer instanceof Pull) return `its pull ${exit.error ? `failed (${lastLine(exit.stderrTail)})` : 'ended (the origin ended the response)'}`;
  if (exit.error) return `its program could not start (${exit.error.message})`;
  const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
  return `its program ${producer.bytesOut === 0 ? `${how} before producing a byte` : how}`;
}

/** The log line of a run that ended while needed; `stalled` when the watchdog ended it. */
export function failureLine(definition: SourceDefinition, producer: Producer, exit: ProgramExit, stalledFor: number | null): { code: string; message: string } {
  const what = `${definition.kind} ${definition.config.name}`;
  const url = definition.config.pull?.url;
  if (url !== undefined) {
    const reason = stalledFor !== null ? `received nothing for ${stalledFor} s (stall_timeout)` : lastLine(exit.stderrTail);
    return { code: ERRORS.PULL_FAILED.code, message: ERRORS.PULL_FAILED.message(what, url, reason) };
  }
  const how = stalledFor !== null ? `wrote nothing for ${stalledFor} s and was killed (stall_timeout)` : describeEnd(producer, exit).replace(/^its program /, '');
  return { code: exit.error?.code ?? ERRORS.PROGRAM_EXIT.code, message: ERRORS.PROGRAM_EXIT.message(what, how) };
}

/** The watchdog's line when it ends a silent run. */
export function stalledLine(definition: SourceDefinition, seconds: number): { code: string; message: string } {
  const what = `${definition.kind} ${definition.config.name}`;
  const url = definition.config.pull?.url;
  if (url !== undefined) return { code: ERRORS.PULL_STALLED.code, message: ERRORS.PULL_STALLED.message(what, url, String(seconds)) };
  return { code: ERRORS.PROGRAM_STALLED.code, message: ERRORS.PROGRAM_STALLED.message(what, String(seconds)) };
}

/**
 * Feeds have no mimetype: their container is named by `format:` or
 * recognised from the bytes; so is a pulled stream's that has none (its
 * origin's Content-Type names what the bytes show).
 */
export function sourceJoinPolicy(definition: SourceDefinition, log: Logger): JoinPolicy {
  if (definition.kind === 'feed') {
    const feed = definition.config;
    return feedPolicyFor(feed.format, (reason) => log.warn({ feed: feed.name, format: feed.format, reason }, `feed ${feed.name}: its readers start raw (${reason})`));
  }
  const stream = definition.config;
  const onFallback = (reason: string): void =>
    log.warn({ stream: stream.name, mimetype: stream.mimetype, reason }, `stream ${stream.name}: late joiners start raw (${reason})`);
  if (stream.mimetype === '') return sniffedStreamPolicyFor(stream.join, onFallback, stream.burstSeconds);
  return policyFor(
    stream.mimetype,
    stream.join,
    onFallback,
    (written, declared) =>
      log.warn(
        { code: ERRORS.MULTIPART_BOUNDARY.code, stream: stream.name, mimetype: stream.mimetype, written, declared },
        ERRORS.MULTIPART_BOUNDARY.message(stream.name, written, declared ?? '(none)'),
      ),
    stream.burstSeconds,
  );
}

/** A pull's error lines carry a timestamp; the message is what follows it. */
function lastLine(text: string): string {
  const line = text.trim().split('\n').at(-1) ?? '';
  return line.replace(/^\S+Z /, '');
}
