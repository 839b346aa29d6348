/**
 * Feed program for the latency probe: writes fixed-size records, each
 * stamped with the time it was written, at a fixed rate, to stdout (a
 * voyandz feed or stream program) or straight to an Icecast mount.
 *
 *   node dist/load-tests/latency-feed.js [--rate 50] [--bitrate 2000000]
 *        [--seconds 0] [--icecast http://source:PASS@127.0.0.1:PORT/mount]
 *
 * --rate records per second; the record size pads the stream to --bitrate.
 * --seconds 0 runs until stopped (SIGTERM or a closed output).
 */
import { connect, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { HEADER_BYTES, monoMs, writeHeader } from './latency-record.js';

/** If this much is queued unwritten, the reader is not keeping up: skip records rather than grow. */
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

interface FeedOptions {
  rate: number;
  bitrate: number;
  seconds: number;
  icecast: string | null;
}

function options(): FeedOptions {
  const { values } = parseArgs({
    options: {
      rate: { type: 'string', default: '50' },
      bitrate: { type: 'string', default: '2000000' },
      seconds: { type: 'string', default: '0' },
      icecast: { type: 'string' },
    },
  });
  const rate = Number(values.rate);
  const bitrate = Number(values.bitrate);
  const seconds = Number(values.seconds);
  if (!(rate > 0 && rate <= 1000) || !(bitrate > 0) || !(seconds >= 0)) throw new Error('latency-feed: bad --rate/--bitrate/--seconds');
  return { rate, bitrate, seconds, icecast: values.icecast ?? null };
}

/** An Icecast 2.4 source: HTTP PUT with Basic auth, then the raw bytes. */
function icecastSource(url: string): Promise<Socket> {
  const u = new URL(url);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)) throw new Error('latency-feed: loopback Icecast only');
  const auth = Buffer.from(`${decodeURIComponent(u.username || 'source')}:${decodeURIComponent(u.password)}`).toString('base64');
  return new Promise((resolve, reject) => {
    const socket = connect(Number(u.port), u.hostname.replace(/^\[|\]$/g, ''));
    socket.setNoDelay(true);
    socket.once('error', reject);
    socket.write(
      `PUT ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nAuthorization: Basic ${auth}\r\n` +
        'Content-Type: application/octet-stream\r\nIce-Public: 0\r\nIce-Name: voyandz latency probe\r\n\r\n',
    );
    let answer = '';
    const onData = (chunk: Buffer): void => {
      answer += chunk.toString('latin1');
      if (!answer.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      if (/^HTTP\/1\.[01] 200/.test(answer)) resolve(socket);
      else reject(new Error(`Icecast refused the source: ${answer.split('\r\n')[0]}`));
    };
    socket.on('data', onData);
  });
}

async function main(): Promise<void> {
  const opts = options();
  const size = Math.max(HEADER_BYTES, Math.round(opts.bitrate / 8 / opts.rate));
  const out = opts.icecast ? await icecastSource(opts.icecast) : process.stdout;
  const stop = (): void => process.exit(0);
  out.on('error', stop); // EPIPE: the reader went away
  out.on('close', stop);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  const periodMs = 1000 / opts.rate;
  const t0 = monoMs();
  const endAt = opts.seconds > 0 ? t0 + opts.seconds * 1000 : Number.POSITIVE_INFINITY;
  let seq = 0;
  let skipped = 0;
  // One timer chasing an absolute schedule: a late tick writes every record
  // that is due, each stamped with the moment it is really written.
  const tick = (): void => {
    const now = monoMs();
    if (now >= endAt) {
      out.end();
      return;
    }
    const due = Math.floor((now - t0) / periodMs) + 1;
    while (seq < due) {
      if (out.writableLength > MAX_QUEUED_BYTES) {
        skipped++;
      } else {
        const record = Buffer.alloc(size);
        writeHeader(record, seq, monoMs(), Date.now());
        out.write(record);
      }
      seq++;
    }
    const next = t0 + seq * periodMs;
    setTimeout(tick, Math.max(0, next - monoMs()));
  };
  tick();
  process.on('exit', () => {
    if (skipped > 0) process.stderr.write(`latency-feed: skipped ${skipped} records (reader too slow)\n`);
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
