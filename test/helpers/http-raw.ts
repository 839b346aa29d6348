/**
 * Raw HTTP/1.1 GETs over net sockets, for tests that pick the client's
 * source address (127.0.0.2, ::1), send exact headers, or hold many stream
 * clients open at once.
 */
import { connect, type Socket } from 'node:net';

export interface RawTarget {
  port: number;
  host?: string;
  localAddress?: string;
}

export interface RawAnswer {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  /** The body bytes received so far (all of it once the server closed). */
  body: Buffer;
}

/** An open request: its answer head as soon as it arrives, the socket to hold or close. */
export interface OpenRequest {
  answer: Promise<RawAnswer>;
  socket: Socket;
  /** Bytes of body received so far. */
  received(): number;
  close(): void;
}

export function openRequest(target: RawTarget, path: string, headers: Record<string, string> = {}): OpenRequest {
  const host = target.host ?? '127.0.0.1';
  const socket = connect({ port: target.port, host, ...(target.localAddress ? { localAddress: target.localAddress } : {}) });
  const lines = [`GET ${path} HTTP/1.1`, `Host: ${host.includes(':') ? `[${host}]` : host}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  let buffer = Buffer.alloc(0);
  let bodyBytes = 0;
  let headDone = false;
  const answer = new Promise<RawAnswer>((resolve, reject) => {
    let parsed: RawAnswer | null = null;
    socket.on('data', (chunk: Buffer) => {
      if (headDone) {
        bodyBytes += chunk.length;
        if (parsed && parsed.body.length < 65536) parsed.body = Buffer.concat([parsed.body, chunk]);
        return;
      }
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      headDone = true;
      const [statusLine = '', ...rest] = buffer.toString('latin1', 0, end).split('\r\n');
      const fields: Record<string, string> = {};
      for (const line of rest) {
        const colon = line.indexOf(':');
        fields[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const body = buffer.subarray(end + 4);
      bodyBytes = body.length;
      parsed = { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0), headers: fields, body };
      resolve(parsed);
    });
    socket.on('error', (error) => {
      if (!headDone) reject(error);
    });
    socket.on('close', () => {
      if (!headDone) reject(new Error(`connection closed before an answer (${buffer.length} bytes)`));
    });
  });
  answer.catch(() => undefined);
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  return { answer, socket, received: () => bodyBytes, close: () => socket.destroy() };
}

/** One GET: the answer head and, for an error answer, its whole body (the server closes or sends Content-Length). */
export async function rawGet(target: RawTarget, path: string, headers: Record<string, string> = {}, waitMs = 300): Promise<RawAnswer> {
  const request = openRequest(target, path, { Connection: 'close', ...headers });
  try {
    const answer = await request.answer;
    const length = Number(answer.headers['content-length'] ?? NaN);
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline && !(answer.body.length >= length) && !request.socket.destroyed && request.socket.readable) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return answer;
  } finally {
    request.close();
  }
}
