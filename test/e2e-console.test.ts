import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { startServer, type LogLine } from './helpers/server.js';
import { agent, ffprobe, getText, save, sleep, waitFor } from './helpers/clients.js';
import { findChromium, HeadlessChromium } from './helpers/chromium.js';
import { signedUrl } from '../src/access/signed-url.js';

const LIVE = '-re -f lavfi -i testsrc2=size=640x360:rate=25';
/** Where `VOYANDZ_SCREENSHOTS=1 node --test dist/test/e2e-console.test.js` leaves the README's screenshots. */
const DOCS = fileURLToPath(new URL('../../docs/', import.meta.url));

const CONFIG = `
stat_clients: true
feeds:
  camera:
    command: >
      sh -c 'echo "rtsp://10.0.0.9/stream1: Connection refused" >&2; echo "cannot open input" >&2; exit 3'
    mode: autostart
streams:
  ts:
    command: ffmpeg -hide_banner -loglevel error ${LIVE} -c:v libx264 -preset ultrafast -tune zerolatency -g 25 -f mpegts -
    mimetype: video/mp2t
  mjpeg:
    command: ffmpeg -hide_banner -loglevel error ${LIVE} -c:v mjpeg -q:v 8 -r 10 -f mpjpeg -
    mimetype: multipart/x-mixed-replace;boundary=ffmpeg
  # A camera on a thin link: far less than a thumbnail's usual input arrives in its capture time.
  low:
    command: >
      ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=160x90:rate=10
      -c:v libx264 -preset ultrafast -tune zerolatency -g 25 -b:v 40k -f mpegts -
    mimetype: video/mp2t
`;

/** Players as an operator's console would list them (the README's screenshot). */
const VIEWERS = ['VLC/3.0.18 LibVLC/3.0.18', 'mpv 0.35.1', 'Lavf/59.27.100', 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36'];

const leaveOf = (userAgent: string) => (line: LogLine) => line.msg === 'connection closed' && line.userAgent === userAgent;

/** A stream client that reads until told to stop; resolves with the bytes it got once the server or the test ends it. */
function listen(url: string, userAgent: string): { stop: () => void; done: Promise<number> } {
  const abort = new AbortController();
  const done = (async () => {
    let bytes = 0;
    try {
      const response = await request(url, { dispatcher: agent, headers: { 'user-agent': userAgent }, signal: abort.signal });
      for await (const chunk of response.body) bytes += (chunk as Buffer).length;
    } catch {
      // aborted or reset: either ends the count
    }
    return bytes;
  })();
  return { stop: () => abort.abort(), done };
}

test('/stat: a console complete without JavaScript (programs, stderr, back-off, clients, thumbnails), live in Chromium, with a working kick button', async (t) => {
  const server = await startServer(CONFIG, { workers: 2 });
  const clients = [
    listen(server.url('/stream/ts'), 'ConsoleTest/1 (ts)'),
    listen(server.url('/stream/mjpeg'), 'ConsoleTest/1 (mjpeg)'),
    listen(server.url('/stream/low'), 'ConsoleTest/1 (low)'),
  ];
  let browser: HeadlessChromium | undefined;
  try {
    // The programs run and the rate meters have a few seconds of samples.
    await sleep(4000);

    // The log tells programs' starts and ends, and clients' arrivals with their User-Agent.
    const started = server.logs.find((line) => line.stream === 'ts' && typeof line.msg === 'string' && line.msg.includes('program started'));
    assert.ok(typeof started?.pid === 'number', 'a program-started line with the pid');
    const exited = server.logs.find((line) => line.feed === 'camera' && typeof line.msg === 'string' && line.msg.includes('program exited'));
    assert.equal(exited?.exitCode, 3, 'a program-exited line with the exit code');
    const arrived = server.logs.find((line) => line.userAgent === 'ConsoleTest/1 (ts)' && typeof line.msg === 'string' && line.msg.includes('connected to ts'));
    assert.ok(arrived && typeof arrived.worker === 'number', 'a client-connected line with User-Agent and worker');

    // Without JavaScript: everything is in the HTML.
    const html = (await getText(server.url('/stat'))).text;
    for (const text of ['ConsoleTest/1 (ts)', 'ConsoleTest/1 (mjpeg)', 'cannot open input', 'next retry', 'restarting', 'code 3', '/stat/thumb/ts.jpg', '/stat/thumb/mjpeg.jpg', 'action="/admin/clients/', '<svg class="spark"']) {
      assert.ok(html.includes(text), `/stat shows ${text}`);
    }

    // Thumbnails: a decoded picture of the H.264 stream, the latest JPEG part of the mpjpeg one.
    const dir = server.dir;
    for (const name of ['ts', 'mjpeg', 'low']) {
      const response = await request(server.url(`/stat/thumb/${name}.jpg`), { dispatcher: agent });
      assert.equal(response.statusCode, 200, `${name} thumbnail`);
      assert.equal(response.headers['content-type'], 'image/jpeg');
      const file = save(join(dir, `${name}.jpg`), Buffer.from(await response.body.arrayBuffer()));
      const [picture] = await ffprobe(file);
      assert.equal(picture.codec_name, 'mjpeg', `${name}: the thumbnail is a JPEG picture`);
    }

    const binary = findChromium();
    if (binary === undefined) {
      t.diagnostic('chromium is not installed (apt-get install -y chromium): live update, screenshots and the kick button not checked');
      return;
    }
    browser = await HeadlessChromium.launch(binary);
    // Ten seconds of history: two samples, a line in every sparkline.
    await sleep(7000);
    if (process.env.VOYANDZ_SCREENSHOTS === '1') {
      // For the README: two minutes of history with viewers arriving, so the sparklines have a shape.
      for (const [i, userAgent] of [...VIEWERS, ...VIEWERS].entries()) {
        clients.push(listen(server.url(i % 3 === 2 ? '/stream/mjpeg' : '/stream/ts'), userAgent));
        await sleep(15000);
      }
    }
    await browser.navigate(server.url('/stat'));
    const before = (await browser.evaluate(`document.querySelector('#console .sub').textContent`)) as string;
    const live = (await browser.evaluate(`new Promise((resolve) => setTimeout(() => resolve({
      live: document.getElementById('live').textContent,
      now: document.querySelector('#console .sub').textContent,
      thumbs: [...document.querySelectorAll('img.thumb')].map((i) => i.naturalWidth),
      lines: document.querySelectorAll('svg.spark polyline').length,
    }), 2500))`)) as { live: string; now: string; thumbs: number[]; lines: number };
    t.diagnostic(`console in Chromium: ${JSON.stringify(live)}`);
    assert.equal(live.live, 'live', 'the page updates itself');
    assert.notEqual(live.now, before, 'the console was replaced in place with newer figures');
    // ts and low: decoded and scaled to 320 wide; mjpeg: its latest part as is (640).
    assert.deepEqual(live.thumbs, [320, 640, 320], 'every thumbnail shows a picture');
    assert.ok(live.lines >= 4, 'the sparklines draw the history');

    const shots = { desktop: await browser.screenshot(1280), phone: await browser.screenshot(390, true) };
    const out = process.env.VOYANDZ_SCREENSHOTS === '1' ? DOCS : dir;
    mkdirSync(out, { recursive: true });
    for (const [name, png] of Object.entries(shots)) writeFileSync(join(out, `console-${name}.png`), png);
    const phoneWidth = (await browser.evaluate('document.documentElement.scrollWidth')) as number;
    assert.ok(phoneWidth <= 390, `at phone width nothing overflows sideways (${phoneWidth} px)`);
    const phone = (await browser.evaluate(`({
      split: [...document.querySelectorAll('.totals dt')].filter((dt) => Math.abs(dt.getBoundingClientRect().bottom - dt.nextElementSibling.getBoundingClientRect().bottom) > 4).map((dt) => dt.textContent),
      kicks: [...document.querySelectorAll('#console form[action$="/kick"] button')].map((b) => Math.round(b.getBoundingClientRect().right)),
    })`)) as { split: string[]; kicks: number[] };
    assert.deepEqual(phone.split, [], 'at phone width every total keeps its label and value on one line');
    assert.ok(phone.kicks.length >= 3 && phone.kicks.every((right) => right <= 390), `at phone width every kick button is on screen, no sideways scroll (${phone.kicks.join(', ')})`);

    // The kick button of the ts client: its connection ends, and the log says why.
    await browser.screenshot(1280);
    await browser.evaluate(`[...document.querySelectorAll('#console tr')].find((r) => r.textContent.includes('ConsoleTest/1 (ts)')).querySelector('button').click()`);
    const kicked = clients[0];
    assert.ok(kicked);
    const bytes = await Promise.race([kicked.done, sleep(10000).then(() => -1)]);
    assert.ok(bytes > 0, `the kicked client's stream ended after ${bytes} bytes`);
    const closed = await server.waitForLog((line) => line.msg === 'connection closed' && line.userAgent === 'ConsoleTest/1 (ts)');
    assert.equal(closed.reason, 'kicked');
    await waitFor(async () => (await browser?.evaluate('location.pathname')) === '/stat', 5000);

    // Stopping the server: the client still connected gets its leave line too.
    assert.equal(await server.stop(), 0);
    const last = server.logs.find((line) => line.msg === 'connection closed' && line.userAgent === 'ConsoleTest/1 (mjpeg)');
    assert.equal(last?.reason, 'shutdown');
  } finally {
    for (const client of clients) client.stop();
    await browser?.close();
    assert.equal(await server.stop(), 0);
  }
});

test('kick: refused from elsewhere than loopback while admin_access restricts nothing, and from other sites; unknown ids 404; GET 405; polled pages quiet at info', async () => {
  const server = await startServer('streams: {}\ntrusted_proxies: [127.0.0.1/32]\n');
  try {
    const post = (path: string, headers: Record<string, string> = {}) =>
      request(server.url(path), { dispatcher: agent, method: 'POST', headers: { 'content-length': '0', ...headers } });
    const remote = await post('/admin/clients/1/kick', { 'x-forwarded-for': '192.0.2.7' });
    assert.equal(remote.statusCode, 403);
    assert.match(await remote.body.text(), /^VOYANDZ_ERR_ADMIN_LOOPBACK_ONLY/);
    // A form of another site posting from an operator's browser: refused before anything is looked up.
    const forgeries: Record<string, string>[] = [{ origin: 'https://evil.example' }, { 'sec-fetch-site': 'cross-site' }];
    for (const headers of forgeries) {
      const forged = await post('/admin/clients/12345/kick', headers);
      assert.equal(forged.statusCode, 403, JSON.stringify(headers));
      assert.match(await forged.body.text(), /^VOYANDZ_ERR_CROSS_SITE/);
    }
    const sameOrigin = await post('/admin/clients/12345/kick', { origin: server.url('').replace(/\/$/, ''), 'sec-fetch-site': 'same-origin' });
    assert.equal(sameOrigin.statusCode, 404, 'the console itself may post');
    await sameOrigin.body.text();
    const unknown = await post('/admin/clients/12345/kick');
    assert.equal(unknown.statusCode, 404);
    assert.match(await unknown.body.text(), /^VOYANDZ_ERR_CLIENT_NOT_FOUND/);
    const get = await getText(server.url('/admin/clients/1/kick'));
    assert.equal(get.status, 405);
    assert.equal((await getText(server.url('/healthz'))).text, 'ok\n');
    // Machines poll these: no log line each time at info.
    for (let i = 0; i < 3; i++) await getText(server.url('/metrics'));
    await getText(server.url('/'));
    await server.waitForLog((line) => line.msg === 'request' && line.path === '/');
    const polled = server.logs.filter((line) => line.msg === 'request' && (line.path === '/metrics' || line.path === '/healthz'));
    assert.deepEqual(polled, [], '/metrics and /healthz are logged at debug only');
  } finally {
    assert.equal(await server.stop(), 0);
  }
});

test('kick behind admin_access: an allowed operator elsewhere than loopback kicks a client; others are refused by the access rules', async () => {
  const server = await startServer(`
trusted_proxies: [127.0.0.1/32]
admin_access: { allow: [192.0.2.0/24] }
stat_clients: true
streams:
  ticks:
    command: sh -c 'while :; do printf tick; sleep 0.1; done'
    mimetype: application/octet-stream
`);
  const viewer = listen(server.url('/stream/ticks'), 'KickTest/1');
  try {
    const as = (address: string) => ({ 'x-forwarded-for': address });
    const stat = await waitFor(async () => {
      const response = await request(server.url('/stat.json'), { dispatcher: agent, headers: as('192.0.2.7') });
      const body = (await response.body.json()) as { clients?: { id: number; userAgent: string }[] };
      return body.clients?.find((c) => c.userAgent === 'KickTest/1');
    });
    const kick = (address: string) =>
      request(server.url(`/admin/clients/${stat.id}/kick`), { dispatcher: agent, method: 'POST', headers: { 'content-length': '0', ...as(address) } });
    // Not in admin_access: refused before the kick is looked at, loopback included.
    for (const address of ['198.51.100.1', '127.0.0.1']) {
      const refused = await kick(address);
      assert.equal(refused.statusCode, 403, address);
      assert.doesNotMatch(await refused.body.text(), /LOOPBACK_ONLY/, `${address}: refused by admin_access`);
    }
    const kicked = await kick('192.0.2.7');
    assert.equal(kicked.statusCode, 303);
    await kicked.body.text();
    assert.ok((await Promise.race([viewer.done, sleep(10000).then(() => -1)])) > 0, "the kicked client's stream ended");
    assert.equal((await server.waitForLog(leaveOf('KickTest/1'))).reason, 'kicked');
  } finally {
    viewer.stop();
    assert.equal(await server.stop(), 0);
  }
});

test('a console opened by a signed URL (admin_access: signed) keeps updating in Chromium, and says offline once the server is gone', async (t) => {
  const binary = findChromium();
  if (binary === undefined) {
    t.skip('chromium is not installed (apt-get install -y chromium)');
    return;
  }
  const keys = mkdtempSync(join(tmpdir(), 'voyandz-console-key-'));
  const secret = 'a-console-signing-secret-32-bytes';
  writeFileSync(join(keys, 'admin.key'), `${secret}\n`);
  const server = await startServer(`admin_access: { signed: { secret_file: ${join(keys, 'admin.key')} } }\nstreams: {}\n`);
  let browser: HeadlessChromium | undefined;
  try {
    assert.equal((await getText(server.url('/stat'))).status, 403, 'unsigned: refused');
    browser = await HeadlessChromium.launch(binary);
    await browser.navigate(server.url(signedUrl(Buffer.from(secret), 'sig', '/stat', Math.floor(Date.now() / 1000) + 120)));
    const before = (await browser.evaluate(`document.querySelector('#console .sub').textContent`)) as string;
    await sleep(2500);
    assert.equal(await browser.evaluate(`document.getElementById('live').textContent`), 'live', 'the signed page fetched itself again');
    assert.notEqual(await browser.evaluate(`document.querySelector('#console .sub').textContent`), before, 'with newer figures');
    assert.equal(await server.stop(), 0);
    await sleep(2500);
    assert.equal(await browser.evaluate(`document.getElementById('live').textContent`), 'offline');
  } finally {
    await browser?.close();
    await server.stop();
    rmSync(keys, { recursive: true, force: true });
  }
});
