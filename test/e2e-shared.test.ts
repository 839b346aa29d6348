import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { startServer } from './helpers/server.js';
import { capture, ffprobe, getText, save, sleep, waitFor } from './helpers/clients.js';
import { parsePrometheus, sampleValue } from './helpers/metrics.js';
import { treeRss } from '../load-tests/proc.js';

const TS_CONFIG = `
feeds:
  cam:
    command: >
      ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=320x240:rate=25
      -c:v libx264 -preset ultrafast -tune zerolatency -g 25 -f mpegts -metadata comment=e2e-shared -
streams:
  ts:
    feed: cam
    command: ffmpeg -hide_banner -loglevel error -analyzeduration 500000 -i - -c copy -f mpegts -
    mimetype: video/mp2t
pages:
  stat: true
`;

test('shared MPEG-TS: 20 clients over 2 workers get identical bytes, ffprobe decodes, stats and metrics agree', async () => {
  const server = await startServer(TS_CONFIG, { workers: 2, spillLoad: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'voyandz-cap-'));
  try {
    // The first client starts the pipeline; the others join while it runs.
    const first = capture(server.url('/stream/ts'), { ms: 7000 });
    await sleep(1500);
    const others = Array.from({ length: 19 }, () => capture(server.url('/stream/ts'), { ms: 5000 }));

    const during = await waitFor(async () => {
      const stats = JSON.parse((await getText(server.url('/stat.json'))).text) as {
        streams: { name: string; clients: number }[];
        workers: { id: number; clients: number }[];
      };
      return stats.streams.find((s) => s.name === 'ts')?.clients === 20 ? stats : undefined;
    });
    assert.equal(during.workers.length, 2);
    for (const worker of during.workers) assert.ok(worker.clients > 0, `worker ${worker.id} carries clients`);

    const metricsDuring = parsePrometheus((await getText(server.url('/metrics'))).text);
    assert.equal(sampleValue(metricsDuring, 'voyandz_stream_clients', { stream: 'ts' }), 20);
    assert.equal(sampleValue(metricsDuring, 'voyandz_feed_up', { feed: 'cam' }), 1);
    assert.ok((sampleValue(metricsDuring, 'process_cpu_user_seconds_total') ?? 0) > 0);

    const captures = [await first, ...(await Promise.all(others))];
    const reference = captures[0]?.body ?? Buffer.alloc(0);
    assert.ok(reference.length > 50_000, `first client got ${reference.length} bytes`);
    // The first client, there from the start, gets the program's bytes from byte 0 (its SDT first);
    // joiners start with the join header: the stream's PAT and PMT packets (join: auto = keyframe).
    for (const [i, c] of captures.entries()) {
      assert.equal(c.status, 200);
      assert.equal(c.headers['content-type'], 'video/mp2t');
      assert.ok(c.body.length > 10_000, `client ${i} got ${c.body.length} bytes`);
      const pid = (at: number): number => ((c.body[at + 1] & 0x1f) << 8) | c.body[at + 2];
      if (i === 0) assert.ok(c.body[0] === 0x47 && pid(0) === 0x11, 'the first client starts with the SDT, as the program wrote it');
      else assert.ok(c.body[0] === 0x47 && pid(0) === 0 && c.body[188] === 0x47, `client ${i} starts with PAT + PMT`);
      const JOIN_HEADER = i === 0 ? 0 : 2 * 188;
      // Past that, every client sees the same bytes as the first one from the point it joined.
      const at = reference.indexOf(c.body.subarray(JOIN_HEADER, JOIN_HEADER + 2048));
      assert.ok(at >= 0, `client ${i}'s first bytes are in the reference stream`);
      const body = c.body.subarray(JOIN_HEADER);
      const overlap = Math.min(body.length, reference.length - at);
      assert.ok(overlap > 10_000, `client ${i} overlaps the reference by ${overlap} bytes`);
      assert.ok(body.subarray(0, overlap).equals(reference.subarray(at, at + overlap)), `client ${i} bytes identical`);
    }
    const streams = await ffprobe(save(join(dir, 'first.ts'), reference));
    assert.equal(streams[0]?.codec_name, 'h264');

    const received = captures.reduce((t, c) => t + c.body.length, 0);
    const after = await waitFor(async () => {
      const samples = parsePrometheus((await getText(server.url('/metrics'))).text);
      return sampleValue(samples, 'voyandz_stream_clients', { stream: 'ts' }) === 0 ? samples : undefined;
    });
    const sent = sampleValue(after, 'voyandz_stream_sent_bytes_total', { stream: 'ts' }) ?? 0;
    assert.ok(sent >= received, `server counted ${sent} bytes sent, clients received ${received}`);
    assert.ok(sent < received + 20 * 2_000_000, 'sent bytes are of the order of what clients received');
    assert.ok((sampleValue(after, 'voyandz_feed_read_bytes_total', { feed: 'cam' }) ?? 0) > 0);
    assert.ok((sampleValue(after, 'voyandz_http_requests_total', { route: '/stream/ts', status: '200' }) ?? 0) >= 20);
    const stat = JSON.parse((await getText(server.url('/stat.json'))).text) as { streams: { name: string; bytesSent: number }[] };
    assert.equal(stat.streams.find((s) => s.name === 'ts')?.bytesSent, sent);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    assert.equal(await server.stop(), 0);
  }
});

test('a client that stops reading is dropped after max_lag; the other keeps full rate; memory stays bounded', async () => {
  // Raw grey video at ~1.9 MB/s fills kernel buffers fast, so the lag shows quickly.
  const server = await startServer(
    `
max_lag: 2
streams:
  raw:
    command: >
      ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=320x240:rate=25
      -pix_fmt gray -f rawvideo -metadata comment=e2e-lag -
    mimetype: application/octet-stream
`,
    { workers: 1 },
  );
  try {
    const fast = capture(server.url('/stream/raw'), { ms: 14000 });
    await sleep(1000);
    const rssBefore = treeRss([server.process.pid ?? 0]);
    const slow = connect(server.port, '127.0.0.1');
    slow.on('error', () => undefined);
    slow.write(`GET /stream/raw HTTP/1.1\r\nHost: x\r\n\r\n`);
    slow.pause(); // never read: the server must notice and drop it
    const slowClosed = new Promise<void>((resolve) => slow.on('close', () => resolve()));
    // The server sees the lag and drops the client (max_lag 2 s, plus the kernel buffers).
    const dropped = await waitFor(async () => {
      const samples = parsePrometheus((await getText(server.url('/metrics'))).text);
      return sampleValue(samples, 'voyandz_clients_dropped_total', { stream: 'raw', reason: 'lag' }) === 1 ? samples : undefined;
    }, 20000, 250);
    assert.equal(sampleValue(dropped, 'voyandz_stream_clients', { stream: 'raw' }), 1, 'the fast client is still there');
    const rssAfter = treeRss([server.process.pid ?? 0]);
    assert.ok(rssAfter - rssBefore < 150 * 1024 * 1024, `RSS grew by ${rssAfter - rssBefore} bytes`);
    // The dropped client, reading again, finds a connection reset after the backlog it had.
    slow.resume();
    const closedAfter = await Promise.race([slowClosed.then(() => true), sleep(5000).then(() => false)]);
    assert.ok(closedAfter, 'slow client was disconnected');
    const left = await server.waitForLog((line) => line.msg === 'connection closed' && line.reason === 'lag');
    assert.equal(left.stream, 'raw', 'the access log says the client was dropped for lag');

    const result = await fast;
    // 320x240 grey at 25 fps is 1.92 MB/s; 14 s minus start-up is well over 15 MB at full rate.
    assert.ok(result.body.length > 15_000_000, `fast client got ${result.body.length} bytes`);
    slow.destroy();
  } finally {
    assert.equal(await server.stop(), 0);
  }
});
