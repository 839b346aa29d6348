/** Content types the server writes itself (pages, errors), each spelled once. */
export const CONTENT_TYPE = {
  PLAIN: 'text/plain; charset=utf-8',
  HTML: 'text/html; charset=utf-8',
  JSON: 'application/json; charset=utf-8',
  JS: 'text/javascript; charset=utf-8',
  SVG: 'image/svg+xml',
  JPEG: 'image/jpeg',
  EVENTS: 'text/event-stream; charset=utf-8',
  /** A pulled stream with no mimetype, before its origin said what it serves. */
  OCTET_STREAM: 'application/octet-stream',
} as const;
