import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { startServer } from './helpers/server.js';
import { runLoad } from '../load-tests/load-client.js';
import { HEADER_BYTES, MAGIC, RecordTracker, writeHeader } from '../load-tests/latency-record.js';
import { assertLoopback } from '../load-tests/loopback.js';

const LATENCY_FEED = fileURLToPath(new URL('../load-tests/latency-feed.js', import.meta.url));
const RATE = 50;
const BITRATE = 400_000;

// A raw shared stream: `cat` passes latency-feed's records through unchanged.
const CONFIG = `
feeds:
  lat:
    command: ${process.execPath} ${LATENCY_FEED} --rate ${RATE} --bitrate ${BITRATE}
streams:
  lat:
    feed: lat
    command: cat
    mimetype: application/octet-stream
`;

test('load client: 20 clients of a real voyandz connect, receive the stream at its rate, measure latency; a 404 counts as refused', async () => {
  const server = await startServer(CONFIG, { workers: 1 });
  try {
    const report = await runLoad({
      urls: [server.url('/stream/lat')],
      clients: 20,
      rampSeconds: 0.5,
      settleSeconds: 1.5,
      durationSeconds: 3,
      expectKbps: BITRATE / 1000,
      tolerance: 0.5,
      latency: true,
      engine: 'net',
    });
    assert.equal(report.connected, 20, JSON.stringify(report));
    assert.equal(report.refusedTotal, 0);
    assert.equal(report.disconnectedEarly, 0);
    assert.equal(report.ttfbMs.count, 20);
    assert.ok(report.ttfbMs.max !== null && Number.isFinite(report.ttfbMs.max) && report.ttfbMs.max > 0);
    // Bytes in the window ≈ 20 × rate × window; wide bounds, the machine is shared.
    const expected = (20 * BITRATE * report.windowSeconds) / 8;
    assert.ok(report.windowBytes > expected * 0.5 && report.windowBytes < expected * 1.5, `${report.windowBytes} vs ${expected}`);
    assert.equal(report.lagging, 0);
    assert.ok(report.latencyMs !== null);
    // ~50 records/s × 3 s × 20 clients; at least a third of them.
    assert.ok(report.latencyMs.count > (RATE * 3 * 20) / 3, `samples: ${report.latencyMs.count}`);
    assert.ok(report.latencyMs.min !== null && report.latencyMs.min >= 0);
    assert.ok(report.latencyMs.max !== null && report.latencyMs.max < 1000, `latency max ${report.latencyMs.max} ms`);
    assert.equal(report.latencyResyncs, 0);

    const missing = await runLoad({
      urls: [server.url('/stream/nope')],
      clients: 3,
      rampSeconds: 0,
      settleSeconds: 0,
      durationSeconds: 0.5,
      expectKbps: null,
      tolerance: 0,
      latency: false,
      engine: 'net',
    });
    assert.equal(missing.connected, 0);
    assert.deepEqual(missing.refused, { '404': 3 });
  } finally {
    await server.stop();
  }
});

test('load client: the undici engine sees the same stream', async () => {
  const server = await startServer(CONFIG, { workers: 1 });
  try {
    const report = await runLoad({
      urls: [server.url('/stream/lat')],
      clients: 5,
      rampSeconds: 0,
      settleSeconds: 1.5,
      durationSeconds: 2,
      expectKbps: BITRATE / 1000,
      tolerance: 0.5,
      latency: true,
      engine: 'undici',
    });
    assert.equal(report.connected, 5);
    assert.equal(report.lagging, 0);
    assert.ok(report.latencyMs !== null && report.latencyMs.count > 0);
  } finally {
    await server.stop();
  }
});

function records(count: number, size: number): { bytes: Buffer; monos: number[] } {
  const monos: number[] = [];
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const r = Buffer.alloc(size);
    const mono = 1000 + i * 20.5;
    writeHeader(r, i, mono, Date.now());
    monos.push(mono);
    parts.push(r);
  }
  return { bytes: Buffer.concat(parts), monos };
}

test('RecordTracker: every record is found whatever the read boundaries, including a magic split across reads', () => {
  const { bytes, monos } = records(20, 100);
  // Join mid-record (as a late client does): 37 bytes of garbage-looking tail first.
  const stream = Buffer.concat([Buffer.from('x'.repeat(37)), bytes]);
  for (const step of [1, 3, 7, 31, 32, 33, 99, 100, 101, 4096]) {
    const tracker = new RecordTracker();
    const seen: number[] = [];
    for (let i = 0; i < stream.length; i += step) tracker.feed(stream, i, Math.min(stream.length, i + step), (m) => seen.push(m));
    assert.deepEqual(seen, monos, `step ${step}`);
    assert.equal(tracker.resyncs, 0);
  }
});

test('RecordTracker: a magic split between the kept bytes and the next read is replayed into the header', () => {
  const { bytes, monos } = records(3, 64);
  const tracker = new RecordTracker();
  const seen: number[] = [];
  // First read ends 3 bytes into the first magic; the rest follows.
  const cut = 10 + 3;
  const stream = Buffer.concat([Buffer.alloc(10, 0xff), bytes]);
  tracker.feed(stream, 0, cut, (m) => seen.push(m));
  tracker.feed(stream, cut, stream.length, (m) => seen.push(m));
  assert.deepEqual(seen, monos);
});

test('RecordTracker: lost framing resyncs on the next magic', () => {
  const { bytes, monos } = records(4, 64);
  // Drop 5 bytes out of the second record's body: its length is off, the third header is misread.
  const damaged = Buffer.concat([bytes.subarray(0, 64 + 40), bytes.subarray(64 + 45)]);
  const tracker = new RecordTracker();
  const seen: number[] = [];
  tracker.feed(damaged, 0, damaged.length, (m) => seen.push(m));
  assert.ok(tracker.resyncs >= 1);
  assert.equal(seen[0], monos[0]);
  assert.equal(seen[1], monos[1]);
  assert.equal(seen[seen.length - 1], monos[3]);
  assert.ok(MAGIC.length + 24 === HEADER_BYTES);
});

test('load tests refuse non-loopback targets', () => {
  assert.throws(() => assertLoopback('http://10.0.0.1/stream/x'), /loopback/);
  assert.throws(() => assertLoopback('http://example.com/'), /loopback/);
  assert.equal(assertLoopback('http://127.0.0.1:8090/stream/x').port, '8090');
  assert.equal(assertLoopback('http://[::1]:8090/').hostname, '[::1]');
});
