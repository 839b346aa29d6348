/**
 * Parses one HTTP/1.x request head. The primary reads only heads: it routes
 * by path and hands the socket on, so it never needs a full HTTP parser on
 * the streaming path. Parsing is strict; anything odd is a 400.
 */

export const MAX_HEAD_BYTES = 16 * 1024;

export interface RequestHead {
  method: string;
  /** Path without the query string, percent-decoding left to the router. */
  path: string;
  target: string;
  httpVersion: '1.0' | '1.1';
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** Bytes the head occupies, including the blank line. */
  length: number;
  keepAlive: boolean;
}

export type HeadResult =
  | { kind: 'incomplete' }
  | { kind: 'too-large' }
  | { kind: 'bad'; reason: string }
  | { kind: 'head'; head: RequestHead };

const REQUEST_LINE = /^([A-Z]{1,16}) (\/[^\s]*|\*) HTTP\/1\.([01])$/;
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/;
const HEAD_END = Buffer.from('\r\n\r\n');

export function parseRequestHead(buffer: Buffer): HeadResult {
  // Clients may send stray CRLFs between pipelined requests (RFC 9112 2.2).
  let start = 0;
  while (start + 1 < buffer.length && buffer[start] === 13 && buffer[start + 1] === 10) start += 2;
  const end = buffer.indexOf(HEAD_END, start);
  if (end < 0) {
    return buffer.length > MAX_HEAD_BYTES ? { kind: 'too-large' } : { kind: 'incomplete' };
  }
  if (end + 4 > MAX_HEAD_BYTES) return { kind: 'too-large' };
  const text = buffer.toString('latin1', start, end);
  const lines = text.split('\r\n');
  const requestLine = REQUEST_LINE.exec(lines[0] ?? '');
  if (!requestLine) return { kind: 'bad', reason: 'malformed request line' };
  const [, method = '', target = '', minor = '1'] = requestLine;
  const headers: Record<string, string> = {};
  for (let i = 1; i < lines.length; i++) {
    const match = HEADER_LINE.exec(lines[i] ?? '');
    if (!match) return { kind: 'bad', reason: `malformed header line ${i}` };
    const name = (match[1] ?? '').toLowerCase();
    const value = match[2] ?? '';
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  if (minor === '1' && headers.host === undefined) return { kind: 'bad', reason: 'missing Host header' };
  const query = target.indexOf('?');
  const path = query < 0 ? target : target.slice(0, query);
  const connection = (headers.connection ?? '').toLowerCase();
  const keepAlive = minor === '1' ? !connection.includes('close') : connection.includes('keep-alive');
  return {
    kind: 'head',
    head: {
      method,
      path,
      target,
      httpVersion: minor === '1' ? '1.1' : '1.0',
      headers,
      length: end + 4,
      keepAlive,
    },
  };
}

/** A request body we would have to skip; pages and streams take none. */
export function hasBody(head: RequestHead): boolean {
  const length = head.headers['content-length'];
  return head.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
