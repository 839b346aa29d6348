import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startServer } from './helpers/server.js';
import { getText, save, sleep, waitFor } from './helpers/clients.js';
import { JOIN_SAMPLES, TEST_INPUTS, type JoinSample } from './helpers/join-samples.js';
import { arrivalOf, captureTimed, firstFrame, firstFrameEnd } from './helpers/join.js';
import type { JoinMode } from '../src/fanout/join/container-policy.js';

const run = promisify(execFile);

/** Late joiners connect this long after the first client started the stream. */
const JOIN_AFTER_MS = 4000;
const CAPTURE_MS = 3500;
/** -re is per input: without it on the tone, an audio-only stream runs flat out. */
const LIVE_INPUTS = TEST_INPUTS.replaceAll('-f lavfi', '-re -f lavfi');

function configFor(sample: JoinSample, join: string): string {
  return `
streams:
  live:
    command: >
      ffmpeg -hide_banner -loglevel error ${LIVE_INPUTS} ${sample.output} -metadata comment=e2e-join -
    mimetype: "${sample.mimetype}"
    join: ${join}
`;
}

interface Case {
  sample: JoinSample;
  join: JoinMode;
}

const cases: Case[] = [
  ...JOIN_SAMPLES.map((sample) => ({ sample, join: 'keyframe' as const })),
  ...JOIN_SAMPLES.filter((s) => ['mpegts', 'webm'].includes(s.name)).map((sample) => ({ sample, join: 'next-keyframe' as const })),
];

for (const { sample, join: mode } of cases) {
  test(`late joiners of a shared ${sample.name} stream (join: ${mode}) decode from the first byte`, async (t) => {
    const server = await startServer(configFor(sample, mode), { workers: 2, spillLoad: 0 });
    const dir = mkdtempSync(join(tmpdir(), 'voyandz-join-'));
    try {
      const url = server.url('/stream/live');
      const first = captureTimed(url, JOIN_AFTER_MS + CAPTURE_MS + 500);
      await sleep(JOIN_AFTER_MS);
      // Two joiners: workers: 2 with spill_load: 0 puts one on the other worker, through the peer link.
      const joining = Promise.all([captureTimed(url, CAPTURE_MS), captureTimed(url, CAPTURE_MS)]);
      await waitFor(async () => {
        const stat = JSON.parse((await getText(server.url('/stat.json'))).text) as { workers: { clients: number }[] };
        return stat.workers.length === 2 && stat.workers.every((w) => w.clients > 0);
      }, 3000, 50);
      const late = await joining;
      const early = await first;
      const earlyFile = save(join(dir, `early.${sample.name}`), early.body);
      const earlyFrame = await firstFrame(earlyFile, sample.video);
      for (const [i, c] of late.entries()) {
        assert.ok(c.body.length > 1000, `joiner ${i} got ${c.body.length} bytes`);
        const file = save(join(dir, `late${i}.${sample.name}`), c.body);
        const { stderr } = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-']);
        assert.equal(stderr, '', `joiner ${i}: ffmpeg decodes from the first byte without errors`);
        const frame = await firstFrame(file, sample.video);
        if (sample.video) {
          assert.equal(frame.keyFrame, '1', `joiner ${i}: first frame is a keyframe`);
          assert.equal(frame.pictType, 'I', `joiner ${i}: first frame is an I picture`);
        } else {
          assert.ok(frame.keyFrame !== undefined, `joiner ${i}: decodes an audio frame`);
        }
        // Joined near live: not at the start of the stream, at most a GOP (1 s) plus start-up noise behind.
        const behind = sample.timed ? JOIN_AFTER_MS / 1000 - (frame.time - earlyFrame.time) : Number.NaN;
        if (sample.timed) {
          assert.ok(behind > -1.5 && behind < 3.5, `joiner ${i} starts ${behind.toFixed(2)} s before the join time`);
        }
        const end = await firstFrameEnd(file, sample.video, sample.name === 'mpegts');
        const ms = arrivalOf(c, end);
        t.diagnostic(`${sample.name} join=${mode} joiner ${i}: first frame ${Number.isFinite(ms) ? ms.toFixed(0) : '?'} ms after connect; ${Number.isFinite(behind) ? behind.toFixed(2) : '?'} s behind live at join; ${c.body.length} bytes`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      assert.equal(await server.stop(), 0);
    }
  });
}

test('a restarted program: joiners after the restart (both workers, one subscribed across it) decode from the first byte', async () => {
  const webm = JOIN_SAMPLES.find((s) => s.name === 'webm') as JoinSample;
  // The program ends after 3 s and is resurrected (back-off 0.5 s): a new EBML header mid-stream.
  const server = await startServer(
    `
streams:
  live:
    command: >
      ffmpeg -hide_banner -loglevel error ${LIVE_INPUTS} -t 3 ${webm.output} -metadata comment=e2e-join-restart -
    mimetype: video/webm
`,
    { workers: 2, spillLoad: 0 },
  );
  const dir = mkdtempSync(join(tmpdir(), 'voyandz-join-'));
  try {
    const url = server.url('/stream/live');
    // One early reader per worker: the second worker's subscription lives through the restart.
    const early = [captureTimed(url, 9000), captureTimed(url, 9000)];
    await waitFor(async () => {
      const stat = JSON.parse((await getText(server.url('/stat.json'))).text) as { workers: { clients: number }[] };
      return stat.workers.every((w) => w.clients > 0);
    }, 5000, 50);
    await waitFor(() => server.logs.some((l) => typeof l.msg === 'string' && /restarting/.test(l.msg)), 15000, 100);
    await sleep(1800);
    const late = await Promise.all([captureTimed(url, 2500), captureTimed(url, 2500)]);
    for (const [i, c] of late.entries()) {
      const file = save(join(dir, `late${i}.webm`), c.body);
      const { stderr } = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-']);
      assert.equal(stderr, '', `joiner ${i} after the restart decodes cleanly`);
      assert.equal((await firstFrame(file, true)).keyFrame, '1', `joiner ${i} starts at a keyframe`);
    }
    await Promise.all(early);
    assert.ok(!server.logs.some((l) => typeof l.msg === 'string' && l.msg.includes('late joiners start raw')), 'no fallback to raw');
  } finally {
    rmSync(dir, { recursive: true, force: true });
    assert.equal(await server.stop(), 0);
  }
});

test('a stream that is not what its mimetype says: joiners start raw, the worker says so once, nothing breaks', async () => {
  const ts = JOIN_SAMPLES.find((s) => s.name === 'mpegts') as JoinSample;
  const server = await startServer(
    `
streams:
  liar:
    command: >
      ffmpeg -hide_banner -loglevel error ${LIVE_INPUTS} ${ts.output} -metadata comment=e2e-join-liar -
    mimetype: video/webm
`,
    { workers: 1 },
  );
  try {
    const url = server.url('/stream/liar');
    const first = captureTimed(url, 5000);
    await sleep(2000);
    const late = await Promise.all([captureTimed(url, 1500), captureTimed(url, 1500)]);
    for (const c of [...late, await first]) assert.ok(c.body.length > 20_000, `a reader got ${c.body.length} bytes`);
    const warnings = server.logs.filter((l) => typeof l.msg === 'string' && l.msg.includes('late joiners start raw'));
    assert.equal(warnings.length, 1, 'logged once');
  } finally {
    assert.equal(await server.stop(), 0);
  }
});
