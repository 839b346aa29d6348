import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HISTORY_SAMPLE_MS, StatHistory } from '../src/stats/history.js';
import { THUMBNAIL_REFRESH_MS, Thumbnails } from '../src/stats/thumbnails.js';
import { sparkline } from '../src/pages/sparkline.js';

test('thumbnails: nothing is made until asked; one run per stream per refresh period, shared by every viewer; a failure is an empty answer', async () => {
  const runs: string[] = [];
  const thumbnails = new Thumbnails((stream) => {
    runs.push(stream);
    return stream === 'broken' ? Promise.reject(new Error('ffmpeg failed')) : Promise.resolve(Buffer.from(`jpeg of ${stream} #${runs.length}`));
  });
  assert.deepEqual(runs, [], 'no console open: no ffmpeg run');
  const t0 = 1_000_000;
  const first = await thumbnails.get('ts', t0);
  // Ten viewers polling within the period: the same picture, no new run.
  for (let i = 0; i < 10; i++) assert.equal(await thumbnails.get('ts', t0 + (i * (THUMBNAIL_REFRESH_MS - 1)) / 10), first);
  assert.deepEqual(runs, ['ts']);
  const second = await thumbnails.get('ts', t0 + THUMBNAIL_REFRESH_MS);
  assert.notEqual(second?.toString(), first?.toString(), 'a newer picture once the period is over');
  assert.deepEqual(runs, ['ts', 'ts']);
  assert.equal(await thumbnails.get('broken', t0), null);
  assert.equal(await thumbnails.get('broken', t0 + 1), null, 'a failure is not retried at once either');
  assert.deepEqual(runs, ['ts', 'ts', 'broken']);
  // A stream gone from the config (a reload) is forgotten: asked again, it runs again.
  thumbnails.keepOnly(new Set(['broken']));
  await thumbnails.get('ts', t0 + THUMBNAIL_REFRESH_MS + 1);
  assert.deepEqual(runs, ['ts', 'ts', 'broken', 'ts']);
});

test('history: 15 minutes of samples per stream, oldest dropped first; a stream gone from the config takes its history with it', () => {
  const history = new StatHistory();
  const slots = (15 * 60 * 1000) / HISTORY_SAMPLE_MS;
  for (let i = 0; i < slots + 20; i++) history.record([{ name: 'ts', clients: i, bitrate: i * 1000 }, { name: 'mp3', clients: 1, bitrate: 128_000 }]);
  const ts = history.of('ts');
  assert.equal(ts.length, slots);
  assert.deepEqual(ts[0], { clients: 20, bitrate: 20_000 }, 'the oldest kept sample is 15 minutes old');
  assert.deepEqual(ts.at(-1), { clients: slots + 19, bitrate: (slots + 19) * 1000 });
  history.record([{ name: 'ts', clients: 0, bitrate: 0 }]);
  assert.deepEqual(history.of('mp3'), []);
  assert.deepEqual(history.of('never'), []);
});

test('sparkline: newest sample at the right edge, scaled to the highest, empty time on the left; no line from a single sample', () => {
  const svg = sparkline([0, 5, 10], 'ts: clients', 180);
  const points = /points="([^"]+)"/.exec(svg)?.[1]?.split(' ').map((p) => p.split(',').map(Number));
  assert.ok(points);
  assert.equal(points.length, 3);
  assert.equal(points.at(-1)?.[0], 180, 'newest at the right edge');
  assert.ok((points[0]?.[0] ?? 0) > 170, 'three samples of 180 take the right end only');
  assert.ok((points.at(-1)?.[1] ?? 99) < (points[0]?.[1] ?? 0), 'higher values are drawn higher');
  assert.match(svg, /<title>ts: clients<\/title>/);
  assert.doesNotMatch(sparkline([3], 'one', 180), /polyline/);
  assert.match(sparkline([1, 2], '<b>"x"</b>', 180), /<title>&lt;b&gt;&quot;x&quot;&lt;\/b&gt;<\/title>/, 'the title is escaped');
});
