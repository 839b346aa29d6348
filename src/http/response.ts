import { STATUS_CODES } from 'node:http';
import { PROGRAM_NAME, VERSION } from '../version.js';

const SERVER = `${PROGRAM_NAME}/${VERSION}`;

/**
 * Streams are close-delimited (no Content-Length, no chunked framing) as
 * ffserver served them: every player understands it, and the fan-out can
 * write the shared bytes to the socket unchanged.
 */
export function streamResponseHead(mimetype: string): Buffer {
  return Buffer.from(
    'HTTP/1.1 200 OK\r\n' +
      `Content-Type: ${mimetype}\r\n` +
      'Cache-Control: no-cache, no-store, must-revalidate\r\n' +
      'Pragma: no-cache\r\n' +
      'Expires: 0\r\n' +
      `Server: ${SERVER}\r\n` +
      `Date: ${new Date().toUTCString()}\r\n` +
      'Connection: close\r\n\r\n',
    'latin1',
  );
}

export function completeResponse(status: number, contentType: string, body: Buffer): Buffer {
  const head =
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n` +
    `Content-Type: ${contentType}\r\n` +
    `Content-Length: ${body.length}\r\n` +
    'Cache-Control: no-cache, no-store, must-revalidate\r\n' +
    `Server: ${SERVER}\r\n` +
    `Date: ${new Date().toUTCString()}\r\n` +
    'Connection: close\r\n\r\n';
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}
