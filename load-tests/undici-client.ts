import { Agent, request } from 'undici';
import { ClientState, type ClientCounters, type LatencySink } from './client-state.js';
import { assertLoopback } from './loopback.js';

/** One agent for every client: unlimited connections, no pipelining (a stream never ends its response). */
let agent: Agent | null = null;

function sharedAgent(): Agent {
  agent ??= new Agent({ connections: null, pipelining: 0, bodyTimeout: 0, headersTimeout: 30_000, connectTimeout: 30_000 });
  return agent;
}

/** A stream client through undici's request(): what a Node application would write. */
class UndiciClient extends ClientState {
  private readonly abort = new AbortController();

  constructor(url: URL, latency: LatencySink | null) {
    super(latency);
    request(url, { dispatcher: sharedAgent(), signal: this.abort.signal, headers: { 'user-agent': 'voyandz-load-client' } }).then(
      (response) => {
        this.headAt = performance.now();
        this.status = response.statusCode;
        if (response.statusCode !== 200) {
          this.closing = true;
          response.body.destroy();
          return;
        }
        response.body.on('data', (chunk: Buffer) => this.body(chunk, 0, chunk.length));
        response.body.on('error', (error: NodeJS.ErrnoException) => this.ended(error.code ?? error.message));
        response.body.on('end', () => this.ended(null));
      },
      (error: unknown) => this.ended((error as NodeJS.ErrnoException).code ?? String(error)),
    );
  }

  close(): void {
    this.closing = true;
    this.abort.abort();
  }
}

export function openUndiciClient(url: string, latency: LatencySink | null): ClientCounters {
  return new UndiciClient(assertLoopback(url), latency);
}
