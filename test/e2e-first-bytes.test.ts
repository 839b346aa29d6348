import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer } from './helpers/server.js';
import { capture, ffprobe, save, sleep } from './helpers/clients.js';

const LIVE = '-hide_banner -loglevel error -re -f lavfi -i testsrc2=size=160x120:rate=10';

test('multipart: a mimetype boundary the program does not write (the original examples\' "ffserver") still serves whole parts', async () => {
  const server = await startServer(`
workers: 2
spill_load: 0
streams:
  mjpeg:
    command: ffmpeg ${LIVE} -c:v mjpeg -q:v 10 -f mpjpeg -
    mimetype: multipart/x-mixed-replace;boundary=ffserver
`);
  try {
    const first = capture(server.url('/stream/mjpeg'), { ms: 4000 });
    await sleep(2000);
    // Two joiners, spread over both workers (spill_load: 0): one of them reads through the peer link.
    const late = await Promise.all([capture(server.url('/stream/mjpeg'), { ms: 1500 }), capture(server.url('/stream/mjpeg'), { ms: 1500 })]);
    const early = await first;
    assert.equal(early.body.toString('latin1', 0, 10), '--ffmpeg\r\n', 'the first client gets the stream from byte 0');
    for (const [i, joiner] of late.entries()) {
      assert.ok(joiner.body.length > 5000, `joiner ${i} got ${joiner.body.length} bytes`);
      assert.equal(joiner.body.toString('latin1', 0, 10), '\r\n--ffmpeg', `joiner ${i} starts at a part delimiter`);
    }
    for (const [name, got] of [['first', early], ['late', late[0]]] as const) {
      const streams = await ffprobe(save(join(server.dir, `${name}.mjpeg`), got.body));
      assert.equal(streams[0]?.codec_name, 'mjpeg', name);
    }
    const warnings = server.logs.filter((line) => line.code === 'VOYANDZ_ERR_MULTIPART_BOUNDARY');
    assert.equal(warnings.length, 1, 'one warning, naming both boundaries');
    assert.match(String(warnings[0]?.msg), /writes multipart boundary "ffmpeg" but the mimetype says "ffserver"/);
  } finally {
    assert.equal(await server.stop(), 0);
  }
});

test('the first client of a shared stream gets the program\'s bytes from byte 0: the MP3 ID3 tag, the MPEG-TS SDT', async () => {
  const server = await startServer(`
streams:
  mp3:
    command: ffmpeg -hide_banner -loglevel error -re -f lavfi -i sine=frequency=440 -c:a libmp3lame -b:a 64k -f mp3 -
    mimetype: audio/mpeg
  ts:
    command: ffmpeg ${LIVE.replace('rate=10', 'rate=25')} -c:v mpeg1video -q:v 10 -f mpegts -
    mimetype: video/mp2t
`);
  try {
    const [mp3, ts] = await Promise.all([capture(server.url('/stream/mp3'), { bytes: 4096 }), capture(server.url('/stream/ts'), { bytes: 4 * 188 })]);
    assert.equal(mp3.body.toString('latin1', 0, 3), 'ID3');
    assert.equal(ts.body[0], 0x47);
    assert.equal(((ts.body[1] & 0x1f) << 8) | ts.body[2], 0x11, 'the first packet is the SDT (PID 0x11)');
  } finally {
    assert.equal(await server.stop(), 0);
  }
});
