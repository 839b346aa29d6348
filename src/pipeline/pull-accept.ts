/**
 * Whether an origin's answer is the stream a relay expects, judged by its
 * Content-Type before a byte is passed on: a login or error page answered
 * 200, or another stream than the one configured, must not reach viewers as
 * if it were the stream.
 */
import type { FeedConfig, StreamConfig } from '../config/types.js';
import { containerOf, type Container } from '../fanout/join/container.js';

/** Answers that are never a media stream, whatever else is allowed. */
const NOT_A_STREAM = new Set(['text/html', 'application/xhtml+xml', 'application/json']);

function typeOf(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

function named(contentType: string | undefined): string {
  return contentType === undefined ? 'no Content-Type' : `Content-Type ${contentType}`;
}

/**
 * A pulled stream: with a mimetype, the answer must be of the same container
 * (or, for a type voyandz has no join parser for, the same type); without
 * one, it needs a Content-Type to serve.
 */
export function streamContentTypeCheck(stream: StreamConfig): (contentType: string | undefined) => string | undefined {
  return (contentType) => {
    const general = generalProblem(contentType);
    if (general !== undefined) return general;
    if (stream.mimetype === '') return contentType === undefined ? 'the answer has no Content-Type, and the stream sets no mimetype to serve instead' : undefined;
    if (contentType === undefined) return undefined;
    const want = containerOf(stream.mimetype);
    const same = want === undefined ? typeOf(contentType) === typeOf(stream.mimetype) : containerOf(contentType) === want;
    return same ? undefined : `the answer is ${named(contentType)}, not the stream's mimetype ${stream.mimetype}`;
  };
}

/** A pulled feed: with a `format:`, an answer that names another container is refused; `auto` and `raw` take any stream. */
export function feedContentTypeCheck(feed: FeedConfig): (contentType: string | undefined) => string | undefined {
  const format = feed.format;
  return (contentType) => {
    const general = generalProblem(contentType);
    if (general !== undefined || contentType === undefined || format === 'auto' || format === 'raw') return general;
    const container: Container | undefined = containerOf(contentType);
    return container === undefined || container === format ? undefined : `the answer is ${named(contentType)}, not the feed's format ${format}`;
  };
}

function generalProblem(contentType: string | undefined): string | undefined {
  if (contentType !== undefined && NOT_A_STREAM.has(typeOf(contentType))) return `the answer is ${named(contentType)}: a page, not a stream (a login or error page?)`;
  return undefined;
}
