import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import type { Agent, Dispatcher } from 'undici';
import { VoyandzError } from '../errors.js';
import type { ProgramExit } from './program.js';
import type { Producer } from './producer.js';

/** Why a pull ended, as counted (voyandz_pull_errors_total) and shown. */
export type PullFailure = 'connect' | 'timeout' | 'status' | 'content-type' | 'redirect' | 'lost' | 'ended';

export interface PullOptions {
  /** For messages: `stream cam1`, `feed cam1_remote`. */
  what: string;
  url: string;
  headers: Record<string, string>;
  /**
   * What is wrong with the answer's Content-Type (undefined when it has
   * none), or undefined when it is fine (see pull-accept.ts).
   */
  checkContentType: (contentType: string | undefined) => string | undefined;
  /** Default: one Agent per process (connect timeout CONNECT_TIMEOUT_MS). */
  dispatcher?: Dispatcher;
  /** Monotonic clock in ms, for how long the pull ran; default performance.now. */
  now?: () => number;
}

/** An origin that does not accept the connection in this long is retried with the usual back-off. */
const CONNECT_TIMEOUT_MS = 5000;
/** The stall watchdog (stall_timeout) bounds silence; these bound the rest, and only a pull with the watchdog off. */
const HEADERS_TIMEOUT_MS = 60_000;
const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Of an error answer's body, what is kept for the message (a voyandz origin puts its error code first). */
const ERROR_BODY_BYTES = 300;
const ERRORS_TAIL_LINES = 8;

type Undici = typeof import('undici');

/**
 * undici is loaded on a process's first pull, not with the module: it is
 * ~20 MB of RSS (measured: a bare node 41 MB, after importing undici 62 MB)
 * that every worker of a server without relays would carry for nothing.
 */
let undici: Promise<Undici> | null = null;
let sharedAgent: Agent | null = null;

function loadUndici(): Promise<Undici> {
  undici ??= import('undici');
  return undici;
}

function defaultDispatcher(lib: Undici): Dispatcher {
  sharedAgent ??= new lib.Agent({ connect: { timeout: CONNECT_TIMEOUT_MS }, headersTimeout: HEADERS_TIMEOUT_MS });
  return sharedAgent;
}

class PullError extends Error {
  constructor(
    readonly failure: PullFailure,
    message: string,
  ) {
    super(message);
  }
}

/**
 * One run of an HTTP pull: a GET of a stream (another voyandz, or any HTTP
 * stream) whose body becomes the Source's bytes, as a program's stdout would.
 * The one owner of a pull's life, as Program is of a process's: it follows
 * redirects (refusing loops), refuses an answer that is not 200 or not the
 * stream expected (its Content-Type), never throws, and emits exactly one
 * 'exit': code 0 when the origin ended the response, an error (PULL_FAILED,
 * `failure` saying which kind) otherwise, `stopped` after stop().
 *
 * Silence is the Source's stall watchdog's to judge (stall_timeout), as for
 * a program; connecting has its own timeout (CONNECT_TIMEOUT_MS).
 */
export class Pull extends EventEmitter<{ exit: [ProgramExit] }> implements Producer {
  readonly pid = undefined;
  readonly startedAt = Date.now();
  readonly stdin = null;
  readonly inputs: readonly [] = [];
  readonly stdout = new Readable({ read() {} });
  /** The answer's Content-Type, once a 200 came. */
  contentType: string | undefined = undefined;
  /** The URL that answered 200 (after redirects). */
  finalUrl: string | undefined = undefined;
  /** Why it ended; null while it runs, and after an end by stop(). */
  failure: PullFailure | null = null;
  private bytes = 0;
  private readonly errorLines: string[] = [];
  private readonly abort = new AbortController();
  private readonly now: () => number;
  private readonly started: number;
  private stopRequested = false;
  private result: ProgramExit | null = null;
  private resolveDone: () => void = () => undefined;
  private readonly done = new Promise<void>((resolve) => {
    this.resolveDone = resolve;
  });

  constructor(private readonly options: PullOptions) {
    super();
    this.now = options.now ?? (() => performance.now());
    this.started = this.now();
    // Started on the next tick, so the owner attaches to stdout and 'exit' first.
    process.nextTick(() => void this.run());
  }

  get bytesOut(): number {
    return this.bytes;
  }

  /** The exit, once 'exit' was emitted; null while running. */
  get exited(): ProgramExit | null {
    return this.result;
  }

  stderrTail(): string {
    return this.errorLines.join('\n');
  }

  /** Ends the request at once (there is nothing to flush); resolves once 'exit' was emitted. */
  stop(): Promise<void> {
    if (!this.result && !this.stopRequested) {
      this.stopRequested = true;
      this.abort.abort();
    }
    return this.done;
  }

  private async run(): Promise<void> {
    try {
      const body = await this.open();
      await this.relay(body);
      this.finish(new PullError('ended', `the origin ended the response after ${this.bytes} bytes`), 0);
    } catch (error) {
      this.finish(this.stopRequested ? null : asPullError(error), null);
    }
  }

  /** GET, following redirects, until a 200 whose Content-Type fits. */
  private async open(): Promise<Dispatcher.ResponseData['body']> {
    const lib = await loadUndici();
    const seen = new Set<string>();
    let url = this.options.url;
    for (;;) {
      seen.add(url);
      const response = await lib.request(url, {
        method: 'GET',
        headers: this.options.headers,
        dispatcher: this.options.dispatcher ?? defaultDispatcher(lib),
        signal: this.abort.signal,
        // Silence is the stall watchdog's; undici's own idle limit would only fight it.
        bodyTimeout: 0,
      });
      const { statusCode, headers, body } = response;
      const location = headerValue(headers.location);
      if (REDIRECTS.has(statusCode) && location !== undefined) {
        await body.dump();
        const next = new URL(location, url).toString();
        if (seen.has(next)) throw new PullError('redirect', `redirect loop: ${[...seen, next].join(' -> ')}`);
        if (seen.size > MAX_REDIRECTS) throw new PullError('redirect', `more than ${MAX_REDIRECTS} redirects (last to ${next})`);
        url = next;
        continue;
      }
      if (statusCode !== 200) throw new PullError('status', `HTTP ${statusCode}${await errorSummary(body)}`);
      const contentType = headerValue(headers['content-type']);
      const problem = this.options.checkContentType(contentType);
      if (problem !== undefined) {
        discard(body);
        throw new PullError('content-type', problem);
      }
      this.contentType = contentType;
      this.finalUrl = url;
      return body;
    }
  }

  /** Body chunks become stdout's, as they come; resolves at the end of the response. */
  private relay(body: Dispatcher.ResponseData['body']): Promise<void> {
    return new Promise((resolve, reject) => {
      body.on('data', (chunk: Buffer) => {
        this.bytes += chunk.length;
        this.stdout.push(chunk);
      });
      body.once('end', resolve);
      body.once('error', reject);
    });
  }

  private finish(error: PullError | null, code: number | null): void {
    if (this.result) return;
    this.failure = error?.failure ?? null;
    if (error !== null) this.note(error.message);
    this.stdout.push(null);
    const result: ProgramExit = {
      code,
      signal: null,
      ranMs: Math.max(0, this.now() - this.started),
      stderrTail: this.stderrTail(),
      stopped: this.stopRequested,
    };
    if (error !== null && code === null) result.error = new VoyandzError('PULL_FAILED', this.options.what, this.options.url, error.message);
    this.result = result;
    this.resolveDone();
    this.emit('exit', result);
  }

  private note(line: string): void {
    this.errorLines.push(`${new Date().toISOString()} ${line}`);
    if (this.errorLines.length > ERRORS_TAIL_LINES) this.errorLines.shift();
  }
}

/** A body we are done with: destroying it reports an abort, which nobody needs to hear. */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** `: first line of the body` of an error answer (a voyandz origin's starts with its error code), or nothing. */
async function errorSummary(body: Dispatcher.ResponseData['body']): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      parts.push(chunk);
      size += chunk.length;
      if (size >= ERROR_BODY_BYTES) break;
    }
  } catch {
    // The summary is a courtesy; the status says what matters.
  } finally {
    discard(body);
  }
  const line = Buffer.concat(parts).toString('utf8', 0, ERROR_BODY_BYTES).split('\n')[0]?.trim() ?? '';
  return line === '' ? '' : `: ${line}`;
}

/** Node's and undici's errors, in words and kinds a person acts on. */
function asPullError(error: unknown): PullError {
  if (error instanceof PullError) return error;
  const code = (error as { code?: string } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'ECONNREFUSED':
      return new PullError('connect', 'connection refused (is the origin up?)');
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new PullError('connect', `host not found (${code})`);
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new PullError('timeout', `no connection within ${CONNECT_TIMEOUT_MS / 1000} s`);
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new PullError('timeout', `no response head within ${HEADERS_TIMEOUT_MS / 1000} s`);
    case 'UND_ERR_SOCKET':
    case 'ECONNRESET':
    case 'EPIPE':
      return new PullError('lost', `connection lost (${message})`);
    default:
      return new PullError('connect', code === undefined ? message : `${message} (${code})`);
  }
}
