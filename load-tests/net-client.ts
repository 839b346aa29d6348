import { connect, type Socket } from 'node:net';
import { ClientState, type ClientCounters, type LatencySink } from './client-state.js';
import { assertLoopback } from './loopback.js';

export type { ClientCounters };

const MAX_HEAD_BYTES = 16 * 1024;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

/**
 * One buffer for every socket's reads: the onread callback runs to the end
 * before libuv reads the next socket, and nothing keeps a reference to it,
 * so a thousand clients cost no allocation per read.
 */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

/** A stream client over a raw TCP socket: one GET, then counts the body. */
class NetClient extends ClientState {
  private readonly socket: Socket;
  private head: Buffer | null = Buffer.alloc(0);

  constructor(url: URL, latency: LatencySink | null) {
    super(latency);
    const socket = connect({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || 80),
      onread: { buffer: READ_BUFFER, callback: (n: number, buf: Buffer) => this.onRead(n, buf) },
    });
    this.socket = socket;
    socket.on('error', (error: NodeJS.ErrnoException) => this.ended(error.code ?? error.message));
    socket.on('close', () => this.ended(null));
    // http://user:password@host/… becomes HTTP Basic, as curl does.
    const auth = url.username === '' ? '' : `Authorization: Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}\r\n`;
    socket.write(
      `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nUser-Agent: voyandz-load-client\r\n${auth}` +
        'Accept: */*\r\nConnection: close\r\n\r\n',
    );
  }

  close(): void {
    this.closing = true;
    this.socket.destroy();
  }

  private onRead(n: number, buf: Buffer): boolean {
    if (this.head === null) {
      this.body(buf, 0, n);
      return true;
    }
    // Until the blank line: keep (copy) the head, the shared buffer is reused.
    const head = Buffer.concat([this.head, buf.subarray(0, n)]);
    const end = head.indexOf(CRLFCRLF);
    if (end < 0) {
      if (head.length > MAX_HEAD_BYTES) {
        this.failure = 'response head too large';
        this.socket.destroy();
      }
      this.head = head;
      return true;
    }
    this.head = null;
    this.headAt = performance.now();
    const match = /^(?:HTTP\/1\.[01]|ICY) (\d{3})/.exec(head.toString('latin1', 0, Math.min(end, 64)));
    this.status = match ? Number(match[1]) : 0;
    if (this.status !== 200) {
      this.closing = true; // an answer, not a disconnection
      this.socket.destroy();
      return false;
    }
    this.body(head, end + 4, head.length);
    return true;
  }
}

export function openNetClient(url: string, latency: LatencySink | null): ClientCounters {
  return new NetClient(assertLoopback(url), latency);
}
