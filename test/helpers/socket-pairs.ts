import { strict as assert } from 'node:assert';
import net from 'node:net';
import { waitFor } from './clients.js';

/** One connection: `sink` is the server side a fan-out writes to, `client` reads. */
export interface Pair {
  sink: net.Socket;
  client: net.Socket;
  chunks: Buffer[];
  received: number;
  ended: Promise<void>;
}

export interface Pairs {
  pairs: Pair[];
  close(): Promise<void>;
}

/** Polls `cond` each event-loop turn; the limit only keeps a broken build from hanging. */
export const until = (cond: () => boolean, what: string): Promise<true> => waitFor(() => cond() || undefined, 30_000, 0, what);

export function bytesOf(p: Pair): Buffer {
  return Buffer.concat(p.chunks);
}

function reading(sink: net.Socket, client: net.Socket): Pair {
  const pair: Pair = { sink, client, chunks: [], received: 0, ended: Promise.resolve() };
  pair.ended = new Promise<void>((resolve) => client.once('end', resolve));
  client.on('data', (c: Buffer) => {
    pair.chunks.push(c);
    pair.received += c.length;
  });
  client.on('error', () => {});
  sink.on('error', () => {});
  return pair;
}

/**
 * `n` connected pairs over loopback TCP, or over a unix socket at `path`
 * (what peer links between workers are); every client reads into its pair.
 * `paused`: the server sides never read (Node does not see a reset until it writes).
 */
export async function socketPairs(n: number, path?: string, options: { paused?: boolean } = {}): Promise<Pairs> {
  const accepted: net.Socket[] = [];
  const clients: net.Socket[] = [];
  const server = net.createServer({ pauseOnConnect: options.paused === true }, (s) => accepted.push(s));
  await new Promise<void>((resolve) => (path === undefined ? server.listen(0, '127.0.0.1', resolve) : server.listen(path, resolve)));
  const address = server.address();
  const connectOne = (): Promise<net.Socket> =>
    new Promise<net.Socket>((resolve, reject) => {
      const c = typeof address === 'string' ? net.connect(address, () => resolve(c)) : net.connect((address as net.AddressInfo).port, '127.0.0.1', () => resolve(c));
      clients.push(c);
      c.once('error', reject);
    });
  const pairs: Pair[] = [];
  try {
    if (path === undefined) {
      // TCP: a few hundred at a time (more would overflow the listen backlog), both ends matched by port.
      for (let i = 0; i < n; i += 200) {
        await Promise.all(Array.from({ length: Math.min(200, n - i) }, connectOne));
        await until(() => accepted.length === clients.length, 'all connections accepted');
      }
      const byPort = new Map(accepted.map((s) => [s.remotePort ?? -1, s]));
      for (const client of clients) {
        const sink = byPort.get(client.localPort ?? -2);
        assert.ok(sink, 'server side of a connection');
        pairs.push(reading(sink, client));
      }
    } else {
      // Unix sockets have no ports: one at a time, so the n-th accepted is the n-th client.
      for (let i = 0; i < n; i++) {
        const client = await connectOne();
        await until(() => accepted.length === i + 1, 'connection accepted');
        pairs.push(reading(accepted[i], client));
      }
    }
  } catch (error) {
    // Nothing may stay open after a failed set-up: the test runner would wait for it forever.
    for (const s of [...clients, ...accepted]) s.destroy();
    server.close();
    throw error;
  }
  return {
    pairs,
    async close() {
      for (const p of pairs) {
        p.client.destroy();
        p.sink.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
