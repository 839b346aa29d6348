/**
 * Every HTTP answer voyandz writes goes through here: the primary's pages and
 * errors, the workers' stream heads, shots and errors. One serializer means
 * one Date header, one Server header and one rule for Content-Length.
 */
import { STATUS_CODES } from 'node:http';
import { PROGRAM_NAME, VERSION } from '../version.js';

const SERVER = `${PROGRAM_NAME}/${VERSION}`;

export interface HttpResponse {
  status: number;
  /** Lower-case names. Framing headers (length, connection, date, server) are the serializer's. */
  headers: Record<string, string>;
  body: Buffer;
  /**
   * `length` (default): Content-Length of the body (or, for HEAD, of the GET
   * body). `close`: a close-delimited body of unknown length (streams), no
   * Content-Length, and the connection closes after it.
   */
  framing?: 'length' | 'close';
}

export interface SerializeOptions {
  /** HEAD: the head of the GET answer, no body. */
  headOnly?: boolean;
  keepAlive?: boolean;
}

/** Headers the serializer owns; a value given for them is ignored. */
const FRAMING = new Set(['connection', 'transfer-encoding', 'content-length', 'keep-alive', 'date', 'server']);

export const NO_CACHE = 'no-cache, no-store, must-revalidate';

/** `content-type` → `Content-Type`: names are case-insensitive, but people and old players read them. */
function canonical(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m: string, dash: string, letter: string) => dash + letter.toUpperCase());
}

export function serializeResponse(response: HttpResponse, options: SerializeOptions = {}): Buffer {
  const framing = response.framing ?? 'length';
  const lines = [`HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? 'Unknown'}`];
  for (const [name, value] of Object.entries(response.headers)) {
    if (!FRAMING.has(name.toLowerCase())) lines.push(`${canonical(name)}: ${value}`);
  }
  if (framing === 'length') {
    const given = options.headOnly ? response.headers['content-length'] : undefined;
    lines.push(`Content-Length: ${given ?? response.body.length}`);
  }
  lines.push(`Server: ${SERVER}`, `Date: ${new Date().toUTCString()}`, `Connection: ${options.keepAlive && framing === 'length' ? 'keep-alive' : 'close'}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return options.headOnly || response.body.length === 0 ? head : Buffer.concat([head, response.body]);
}

/** The headers of a stream answer, for GET (before the bytes) and HEAD alike. */
function streamHeaders(mimetype: string): Record<string, string> {
  return { 'content-type': mimetype, 'cache-control': NO_CACHE, pragma: 'no-cache', expires: '0' };
}

/**
 * Streams are close-delimited (no Content-Length, no chunked framing) as
 * ffserver served them: every player understands it, and the fan-out can
 * write the shared bytes to the socket unchanged.
 */
export function streamResponseHead(mimetype: string): Buffer {
  return serializeResponse(streamAnswer(mimetype));
}

/** A stream's answer without its bytes: the head of a GET, or the whole HEAD answer. */
export function streamAnswer(mimetype: string): HttpResponse {
  return { status: 200, headers: streamHeaders(mimetype), body: Buffer.alloc(0), framing: 'close' };
}
