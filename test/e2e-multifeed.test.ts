import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer } from './helpers/server.js';
import { capture, decodeErrors, ffprobe, getText, save } from './helpers/clients.js';

const CONFIG = `
feeds:
  video:
    command: >
      ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=320x180:rate=25
      -c:v libx264 -preset ultrafast -tune zerolatency -g 25 -pix_fmt yuv420p -f mpegts -
  mic:
    command: >
      ffmpeg -hide_banner -loglevel error -re -f lavfi -i sine=frequency=440:sample_rate=48000
      -c:a aac -b:a 64k -f adts -
streams:
  av:
    feeds: [video, mic]
    command: >
      ffmpeg -hide_banner -loglevel error
      -analyzeduration 500000 -i \${feeds.video} -analyzeduration 500000 -i \${feeds.mic}
      -map 0:v -map 1:a -c copy -f mpegts -
    mimetype: video/mp2t
  av_private:
    feeds: { v: video, a: mic }
    client: exclusive
    command: >
      ffmpeg -hide_banner -loglevel error
      -analyzeduration 500000 -i \${feeds.v} -analyzeduration 500000 -i \${feeds.a}
      -map 0:v -map 1:a -c copy -f mpegts -
    mimetype: video/mp2t
  poster:
    type: shot
    feeds: [video, mic]
    command: >
      ffmpeg -hide_banner -loglevel error
      -analyzeduration 500000 -i \${feeds.video} -analyzeduration 500000 -i \${feeds.mic}
      -map 0:v -frames:v 1 -c:v png -f image2pipe -
    mimetype: image/png
`;

test('a stream reading a video-only and an audio-only feed on fd 3 and 4 muxes both, shared, exclusive and as a shot', async () => {
  const server = await startServer(CONFIG, { workers: 2 });
  try {
    const [shared, exclusive, shot] = await Promise.all([
      capture(server.url('/stream/av'), { ms: 5000 }),
      capture(server.url('/stream/av_private'), { ms: 5000 }),
      capture(server.url('/stream/poster'), { ms: 20000 }),
    ]);
    for (const [name, result] of [['av', shared], ['av_private', exclusive]] as const) {
      assert.equal(result.status, 200, name);
      const file = save(join(server.dir, `${name}.ts`), result.body);
      const streams = await ffprobe(file);
      assert.deepEqual(streams.map((s) => `${s.codec_type}/${s.codec_name}`).sort(), ['audio/aac', 'video/h264'], name);
      assert.equal(await decodeErrors(file), '', `${name} decodes cleanly`);
    }
    assert.equal(shot.status, 200);
    assert.equal((await ffprobe(save(join(server.dir, 'poster.png'), shot.body)))[0]?.codec_name, 'png');

    // One program per feed, whatever reads it: the feeds are shared by all three readers.
    const stat = JSON.parse((await getText(server.url('/stat.json'))).text) as { streams: { name: string; feed: string | null }[] };
    assert.equal(stat.streams.find((s) => s.name === 'av')?.feed, 'video, mic');
  } finally {
    assert.equal(await server.stop(), 0);
  }
});

/** Raw PCM at 192 kB/s: a reader that stops reading fills its pipe in well under a second. */
const PCM = 'ffmpeg -hide_banner -loglevel error -re -f lavfi -i sine=frequency=440:sample_rate=48000 -ac 2 -f s16le -';

const LAZY_CONFIG = `
feeds:
  a: {command: ${PCM}}
  b: {command: ${PCM}}
streams:
  # Reads only fd 3 (feed a); feed b's pipe on fd 4 is never read.
  lazy:
    feeds: [a, b]
    command: sh -c 'exec cat <&3' \${feeds.a} \${feeds.b}
    mimetype: application/octet-stream
  b-only:
    feed: b
    command: cat
    mimetype: application/octet-stream
`;

test('a program not reading one of its pipes is cut off from that feed; the feed goes on for other readers', async () => {
  const server = await startServer(LAZY_CONFIG, { workers: 1 });
  try {
    const lazy = capture(server.url('/stream/lazy'), { ms: 16000 });
    const other = capture(server.url('/stream/b-only'), { ms: 16000 });
    // After max lag (10 s for feeds) the unread pipe is dropped, like a stalled stdin.
    const drop = await server.waitForLog((line) => /reader of feed b dropped/.test(line.msg ?? ''), 30000);
    assert.equal(drop.feed, 'b');
    const [lazyBody, otherBody] = [(await lazy).body.length, (await other).body.length];
    // 16 s at 192 kB/s is ~3 MB; allow a loaded machine half of it.
    assert.ok(otherBody > 1_500_000, `b-only got ${otherBody} bytes while lazy stalled feed b's pipe`);
    assert.ok(lazyBody > 1_500_000, `lazy kept reading feed a: ${lazyBody} bytes`);
  } finally {
    await server.stop();
  }
});
