import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './helpers/server.js';
import { capture, sleep } from './helpers/clients.js';
import { findChromium, HeadlessChromium } from './helpers/chromium.js';

const LIVE = '-re -f lavfi -i testsrc2=size=320x240:rate=25';

const CONFIG = `
streams:
  webm:
    command: >
      ffmpeg -hide_banner -loglevel error ${LIVE} -re -f lavfi -i sine=frequency=440:sample_rate=48000
      -c:v libvpx -deadline realtime -cpu-used 8 -g 25 -b:v 400k -c:a libopus -b:a 48k -f webm -metadata comment=e2e-browser -
    mimetype: video/webm
  mjpeg:
    command: ffmpeg -hide_banner -loglevel error ${LIVE} -c:v mjpeg -q:v 8 -f mpjpeg -metadata comment=e2e-browser -
    mimetype: multipart/x-mixed-replace;boundary=ffmpeg
  # As the demo's mp4: fragmented MP4, H.264/AAC, one fragment per keyframe.
  mp4:
    command: >
      ffmpeg -hide_banner -loglevel error ${LIVE} -re -f lavfi -i sine=frequency=440:sample_rate=48000
      -c:v libx264 -preset ultrafast -tune zerolatency -g 25 -pix_fmt yuv420p -c:a aac -b:a 64k
      -movflags frag_keyframe+empty_moov+default_base_moof -metadata comment=e2e-browser -f mp4 -
    mimetype: video/mp4
`;

/** Waits (in the page) until a late-joined <video> plays: currentTime advances. */
const PLAY_VIDEO = (url: string): string => `new Promise((resolve) => {
  const started = performance.now();
  const v = document.createElement('video');
  v.muted = true; v.autoplay = true; v.src = ${JSON.stringify(url)};
  document.body.append(v);
  let firstFrameMs = null;
  // The stream's timestamps go on from where the joiner came in: measure progress, not position.
  let startTime = null;
  v.addEventListener('loadeddata', () => { firstFrameMs = performance.now() - started; startTime = v.currentTime; });
  const deadline = started + 20000;
  (function check() {
    const played = startTime === null ? 0 : v.currentTime - startTime;
    if (played > 1.5 || performance.now() > deadline) {
      resolve({ played, firstFrameMs, error: v.error ? v.error.message || String(v.error.code) : null });
      v.remove();
    } else setTimeout(check, 100);
  })();
})`;

/** Waits (in the page) until a late-joined multipart <img> has a picture. */
const SHOW_IMAGE = (url: string): string => `new Promise((resolve) => {
  const started = performance.now();
  const img = new Image();
  img.src = ${JSON.stringify(url)};
  document.body.append(img);
  const deadline = started + 20000;
  (function check() {
    if (img.naturalWidth > 0 || performance.now() > deadline) {
      resolve({ naturalWidth: img.naturalWidth, firstFrameMs: performance.now() - started });
      img.remove();
    } else setTimeout(check, 20);
  })();
})`;

test('Chromium plays late-joined shared WebM and fragmented MP4 streams and shows a late-joined mpjpeg stream', async (t) => {
  const binary = findChromium();
  if (binary === undefined) {
    t.skip('chromium is not installed (apt-get install -y chromium)');
    return;
  }
  const server = await startServer(CONFIG, { workers: 2 });
  let browser: HeadlessChromium | undefined;
  try {
    // Early clients start both programs; the browser joins seconds later.
    const early = ['webm', 'mjpeg', 'mp4'].map((name) => capture(server.url(`/stream/${name}`), { ms: 24000 }));
    await sleep(4000);
    browser = await HeadlessChromium.launch(binary);
    const video = (await browser.evaluate(PLAY_VIDEO(server.url('/stream/webm')))) as { played: number; firstFrameMs: number | null; error: string | null };
    t.diagnostic(`webm in <video>: first frame ${video.firstFrameMs?.toFixed(0)} ms after src was set; played ${video.played.toFixed(2)} s`);
    assert.equal(video.error, null, 'the video element reports no error');
    assert.ok(video.played > 1.5, `currentTime advanced by ${video.played} s`);
    const mp4 = (await browser.evaluate(PLAY_VIDEO(server.url('/stream/mp4')))) as { played: number; firstFrameMs: number | null; error: string | null };
    t.diagnostic(`fMP4 in <video>: first frame ${mp4.firstFrameMs?.toFixed(0)} ms after src was set; played ${mp4.played.toFixed(2)} s`);
    assert.equal(mp4.error, null, 'fMP4: the video element reports no error');
    assert.ok(mp4.played > 1.5, `fMP4: currentTime advanced by ${mp4.played} s`);
    const image = (await browser.evaluate(SHOW_IMAGE(server.url('/stream/mjpeg')))) as { naturalWidth: number; firstFrameMs: number };
    t.diagnostic(`mpjpeg in <img>: picture ${image.firstFrameMs.toFixed(0)} ms after src was set`);
    assert.equal(image.naturalWidth, 320, 'the image shows a whole frame');
    await Promise.all(early);
  } finally {
    await browser?.close();
    assert.equal(await server.stop(), 0);
  }
});
