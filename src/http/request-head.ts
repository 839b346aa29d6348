/**
 * Parses one HTTP/1.x request head. The primary reads only heads: it routes
 * by path and hands the socket on, so it never needs a full HTTP parser on
 * the streaming path. Parsing is strict (RFC 9112); anything odd is a 400,
 * answered at once rather than after a timeout.
 */

import { entryOf } from '../config/lookup.js';

export const MAX_HEAD_BYTES = 16 * 1024;

export interface RequestHead {
  method: string;
  /** Path without the query string, percent-decoding left to the router. */
  path: string;
  /** Origin-form target (`/path?query`), also when the client sent absolute-form. */
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

const REQUEST_LINE = /^([A-Z]{1,16}) (\S+) HTTP\/1\.([01])$/;
/** Absolute-form (RFC 9112 §3.2.2): a proxy-style target, which a server must accept. */
const ABSOLUTE_FORM = /^https?:\/\/[^/?#\s]*(\/[^\s#]*)?$/i;
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/;
/** A field value may hold visible characters, spaces, tabs and obs-text; never NUL, CR, LF or other controls. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what it looks for
const BAD_VALUE_CHAR = /[\0-\x08\x0a-\x1f\x7f]/;
const HEAD_END = Buffer.from('\r\n\r\n');
const LF = 10;
const CR = 13;

/** Index of the first LF not preceded by CR in [from, to), or -1. */
function bareLf(buffer: Buffer, from: number, to: number): number {
  let i = buffer.indexOf(LF, from);
  while (i >= 0 && i < to) {
    if (i === 0 || buffer[i - 1] !== CR) return i;
    i = buffer.indexOf(LF, i + 1);
  }
  return -1;
}

function originForm(target: string): string | null {
  if (target.startsWith('/')) return target;
  if (target === '*') return target;
  const absolute = ABSOLUTE_FORM.exec(target);
  return absolute ? (absolute.at(1) ?? '/') : null;
}

export function parseRequestHead(buffer: Buffer): HeadResult {
  // Clients may send stray CRLFs between pipelined requests (RFC 9112 2.2).
  let start = 0;
  while (start + 1 < buffer.length && buffer[start] === CR && buffer[start + 1] === LF) start += 2;
  const end = buffer.indexOf(HEAD_END, start);
  const scanned = end < 0 ? buffer.length : end;
  // A bare-LF head would never show CRLFCRLF: refuse it now, not at the timeout.
  if (bareLf(buffer, start, scanned) >= 0) return { kind: 'bad', reason: 'line ends must be CRLF' };
  if (end < 0) return buffer.length > MAX_HEAD_BYTES ? { kind: 'too-large' } : { kind: 'incomplete' };
  if (end + 4 > MAX_HEAD_BYTES) return { kind: 'too-large' };
  const text = buffer.toString('latin1', start, end);
  const lines = text.split('\r\n');
  const requestLine = REQUEST_LINE.exec(lines.at(0) ?? '');
  if (!requestLine) return { kind: 'bad', reason: 'malformed request line' };
  const [, method, rawTarget, minor] = requestLine;
  const target = originForm(rawTarget);
  if (target === null) return { kind: 'bad', reason: 'malformed request target' };
  const headers: Record<string, string> = {};
  for (let i = 1; i < lines.length; i++) {
    const match = HEADER_LINE.exec(lines[i]);
    if (!match) return { kind: 'bad', reason: `malformed header line ${i}` };
    const name = match[1].toLowerCase();
    const value = match[2];
    if (BAD_VALUE_CHAR.test(value)) return { kind: 'bad', reason: `control character in header ${name}` };
    if (name === 'host' && entryOf(headers, 'host') !== undefined) return { kind: 'bad', reason: 'more than one Host header' };
    const earlier = entryOf(headers, name);
    headers[name] = earlier === undefined ? value : `${earlier}, ${value}`;
  }
  if (minor === '1' && entryOf(headers, 'host') === undefined) return { kind: 'bad', reason: 'missing Host header' };
  const query = target.indexOf('?');
  const path = query < 0 ? target : target.slice(0, query);
  const connection = (entryOf(headers, 'connection') ?? '').toLowerCase();
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
  const length = entryOf(head.headers, 'content-length');
  return entryOf(head.headers, 'transfer-encoding') !== undefined || (length !== undefined && length !== '0');
}
