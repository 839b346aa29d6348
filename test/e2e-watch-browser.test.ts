import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startServer, type RunningServer } from './helpers/server.js';
import { findChromium, HeadlessChromium } from './helpers/chromium.js';

const DEMO = fileURLToPath(new URL('../../config/demo.yaml', import.meta.url));

/** The demo as `npm start` serves it, on a free port (startServer writes the address). */
function demoConfig(): string {
  return readFileSync(DEMO, 'utf8').replace(/^listen(addr|port):.*$/gm, '');
}

/** Installed before the page's own scripts: when (ms after navigation start) its player first played or showed a picture. */
const RECORD_FIRST_FRAME = `window.__firstFrameMs = null;
document.addEventListener('playing', function () { if (window.__firstFrameMs === null) window.__firstFrameMs = performance.now(); }, true);
document.addEventListener('load', function (e) { if (e.target && e.target.id === 'player' && window.__firstFrameMs === null) window.__firstFrameMs = performance.now(); }, true);`;

interface Playback {
  kind: string;
  firstFrameMs: number | null;
  played: number;
  error: string | null;
}

/** In the player page: media elements must advance currentTime by 1.5 s; an <img> must have a picture that changes (mpjpeg) or exist (a shot). */
const WATCH = `new Promise((resolve) => {
  const el = document.getElementById('player');
  const kind = el.tagName.toLowerCase();
  const deadline = performance.now() + 20000;
  let start = null;
  (function check() {
    let played = 0;
    if (kind === 'img') played = el.naturalWidth > 0 ? 2 : 0;
    else {
      if (start === null && el.currentTime > 0) start = el.currentTime;
      played = start === null ? 0 : el.currentTime - start;
    }
    const error = kind === 'img' ? null : el.error ? (el.error.message || String(el.error.code)) : null;
    if (played > 1.5 || error || performance.now() > deadline) {
      resolve({ kind, firstFrameMs: window.__firstFrameMs, played, error: error || (document.getElementById('note') || {}).textContent || null });
    } else setTimeout(check, 50);
  })();
})`;

async function watch(browser: HeadlessChromium, server: RunningServer, name: string): Promise<Playback> {
  const url = server.url(`/watch/${name}`);
  await browser.navigate(url, RECORD_FIRST_FRAME);
  return (await browser.evaluate(WATCH, 40000)) as Playback;
}

test('every demo stream plays in its /watch page in Chromium: WebM and fMP4 in <video>, MPEG-TS through mpegts.js, MP3/AAC in <audio>, mpjpeg and PNG in <img>', async (t) => {
  const binary = findChromium();
  if (binary === undefined) {
    t.skip('chromium is not installed (apt-get install -y chromium)');
    return;
  }
  const server = await startServer(demoConfig(), { workers: 2 });
  let browser: HeadlessChromium | undefined;
  try {
    const home = await (await fetch(server.url('/'))).text();
    browser = await HeadlessChromium.launch(binary);
    const streams = ['ts', 'mp4', 'mjpeg', 'small', 'mp3', 'aac', 'mixed', 'snapshot', 'webm'];
    for (const name of streams) {
      assert.ok(home.includes(`href="/watch/${name}"`), `the home page links the player of ${name}`);
      const result = await watch(browser, server, name);
      t.diagnostic(`${name} (<${result.kind}>): first frame ${result.firstFrameMs?.toFixed(0) ?? '—'} ms after navigation; played ${result.played.toFixed(2)} s`);
      assert.equal(result.error, null, `${name}: no playback error`);
      assert.ok(result.played > 1.5, `${name}: currentTime advanced by ${result.played.toFixed(2)} s (or the picture showed)`);
    }
    const script = await fetch(server.url('/assets/mpegts.js'));
    assert.equal(script.status, 200);
    assert.match(script.headers.get('content-type') ?? '', /javascript/);
    assert.equal((await fetch(server.url('/watch/nope'))).status, 404);
  } finally {
    await browser?.close();
    assert.equal(await server.stop(), 0);
  }
});

test('<audio> time-to-playing of a late-joined MP3 / AAC stream, with and without the burst on connect', async (t) => {
  const binary = findChromium();
  if (binary === undefined) {
    t.skip('chromium is not installed (apt-get install -y chromium)');
    return;
  }
  const tone = '-re -f lavfi -i sine=frequency=440:sample_rate=44100';
  const codecs = { mp3: '-c:a libmp3lame -b:a 128k -f mp3', aac: '-c:a aac -b:a 96k -f adts' };
  const mimetypes = { mp3: 'audio/mpeg', aac: 'audio/aac' };
  const bursts = [0, 1, 4, 8];
  const names: string[] = [];
  let config = 'streams:\n';
  for (const codec of ['mp3', 'aac'] as const) {
    for (const burst of bursts) {
      const name = `${codec}-burst${burst}`;
      names.push(name);
      config += `  ${name}:\n    command: ffmpeg -hide_banner -loglevel error ${tone} ${codecs[codec]} -\n    mimetype: ${mimetypes[codec]}\n    burst: ${burst}\n`;
    }
  }
  const server = await startServer(config, { workers: 1 });
  let browser: HeadlessChromium | undefined;
  const early: AbortController[] = [];
  try {
    // Early listeners start the programs; the browser joins live streams.
    for (const name of names) {
      const abort = new AbortController();
      early.push(abort);
      void fetch(server.url(`/stream/${name}`), { signal: abort.signal }).then((r) => r.body?.pipeTo(new WritableStream()), () => undefined).catch(() => undefined);
    }
    // Long enough for the largest burst to be held.
    await new Promise((resolve) => setTimeout(resolve, 9000));
    browser = await HeadlessChromium.launch(binary);
    for (const name of names) {
      const result = await watch(browser, server, name);
      t.diagnostic(`${name}: <audio> playing ${result.firstFrameMs?.toFixed(0) ?? '—'} ms after navigation; played ${result.played.toFixed(2)} s`);
      assert.equal(result.error, null, `${name}: no playback error`);
      assert.ok(result.played > 1.5, `${name}: currentTime advanced by ${result.played.toFixed(2)} s`);
    }
  } finally {
    for (const abort of early) abort.abort();
    await browser?.close();
    assert.equal(await server.stop(), 0);
  }
});

test('an FLV (H.264/AAC) stream plays through mpegts.js in its /watch page', async (t) => {
  const binary = findChromium();
  if (binary === undefined) {
    t.skip('chromium is not installed (apt-get install -y chromium)');
    return;
  }
  const server = await startServer(`
streams:
  flv:
    command: >
      ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=320x240:rate=25
      -re -f lavfi -i sine=frequency=440:sample_rate=48000
      -c:v libx264 -preset ultrafast -tune zerolatency -g 25 -pix_fmt yuv420p -c:a aac -b:a 64k -f flv -
    mimetype: video/x-flv
`);
  let browser: HeadlessChromium | undefined;
  try {
    browser = await HeadlessChromium.launch(binary);
    const result = await watch(browser, server, 'flv');
    t.diagnostic(`flv (<${result.kind}> + mpegts.js): first frame ${result.firstFrameMs?.toFixed(0) ?? '—'} ms after navigation; played ${result.played.toFixed(2)} s`);
    assert.equal(result.kind, 'video');
    assert.equal(result.error, null, 'no playback error');
    assert.ok(result.played > 1.5, `currentTime advanced by ${result.played.toFixed(2)} s`);
  } finally {
    await browser?.close();
    assert.equal(await server.stop(), 0);
  }
});
