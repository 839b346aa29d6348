import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { feedPolicyFor, policyFor } from '../src/fanout/join/policy-for.js';
import type { JoinPolicy } from '../src/fanout/join/policy.js';
import { JOIN_SAMPLES, recordSample } from './helpers/join-samples.js';
import { firstFrame } from './helpers/join.js';

const run = promisify(execFile);

/** A small deterministic PRNG: failures must replay. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Trace {
  joins: number[];
  header: string;
}

/**
 * Feeds `data` in chunks from `nextSize`, noting the join point after every
 * CHECK bytes (chunks are cut at those marks too, so traces compare).
 */
function trace(policy: JoinPolicy, data: Buffer, nextSize: () => number): Trace {
  const CHECK = 8192;
  const joins: number[] = [];
  let p = 0;
  let header = '';
  while (p < data.length) {
    const mark = (Math.floor(p / CHECK) + 1) * CHECK;
    const end = Math.min(data.length, mark, p + Math.max(1, nextSize()));
    policy.observe(data.subarray(p, end), p);
    p = end;
    if (p === mark || p === data.length) {
      const jp = policy.joinPoint(0, p);
      joins.push(jp?.offset ?? -2);
      header = jp?.header?.toString('base64') ?? header;
    }
  }
  return { joins, header };
}

for (const sample of JOIN_SAMPLES) {
  test(`join parser ${sample.name}: same join points whatever the chunking; header + join point decodes cleanly`, async () => {
    const data = await recordSample(sample, 5);
    const fail = (reason: string): void => assert.fail(`${sample.name} parser fell back: ${reason}`);
    const reference = trace(policyFor(sample.mimetype, 'keyframe', fail), data, () => 1 << 30);
    const distinct = new Set(reference.joins.filter((j) => j >= 0));
    assert.ok(distinct.size >= 3, `${sample.name}: ${distinct.size} distinct join points`);
    const random = prng(42);
    const splits: [string, () => number][] = [
      ['1..7 bytes', () => 1 + Math.floor(random() * 7)],
      ['random up to 4 KiB', () => 1 + Math.floor(random() * 4096)],
      ['188-ish', () => 187 + Math.floor(random() * 3)],
    ];
    for (const [label, size] of splits) {
      const got = trace(policyFor(sample.mimetype, 'keyframe', fail), data, size);
      assert.deepEqual(got.joins, reference.joins, `${sample.name} split ${label}`);
      assert.equal(got.header, reference.header, `${sample.name} header, split ${label}`);
    }

    // Join in the middle: header + bytes from the latest join point before 60 %.
    const policy = policyFor(sample.mimetype, 'keyframe', fail);
    const cut = Math.floor(data.length * 0.6);
    policy.observe(data.subarray(0, cut), 0);
    const point = policy.joinPoint(0, cut);
    assert.ok(point !== null && point.offset > 0 && point.offset < cut, `${sample.name}: join point ${point?.offset}`);
    const dir = mkdtempSync(join(tmpdir(), 'voyandz-join-'));
    try {
      const file = join(dir, `joined.${sample.name}`);
      writeFileSync(file, Buffer.concat([point.header ?? Buffer.alloc(0), data.subarray(point.offset)]));
      const { stderr } = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-']);
      assert.equal(stderr, '', `${sample.name}: decoding the joined bytes`);
      const frame = await firstFrame(file, sample.video);
      if (sample.video) {
        assert.equal(frame.keyFrame, '1', `${sample.name}: first frame is a keyframe`);
        assert.equal(frame.pictType, 'I');
      } else {
        assert.ok(frame.keyFrame !== undefined, `${sample.name}: decodes an audio frame`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`join parser ${sample.name}: a stream that starts over mid-element (restart seen by a subscriber) is picked up`, async () => {
    const data = await recordSample(sample, 4);
    const policy = policyFor(sample.mimetype, 'keyframe', (reason) => assert.fail(`${sample.name} fell back to raw: ${reason}`));
    // The old program dies mid-way (odd offset: mid-packet, mid-element); the new one starts in a read of its own.
    const old = data.subarray(0, Math.floor(data.length * 0.55) | 1);
    const stream = Buffer.concat([old, data]);
    for (let p = 0; p < old.length; p += 4096) policy.observe(stream.subarray(p, Math.min(p + 4096, old.length)), p);
    const upTo = old.length + Math.floor(data.length * 0.6);
    for (let p = old.length; p < upTo; p += 4096) policy.observe(stream.subarray(p, Math.min(p + 4096, upTo)), p);
    const point = policy.joinPoint(0, upTo);
    assert.ok(point !== null && point.offset > old.length, `${sample.name}: join point ${point?.offset} is in the new stream (from ${old.length})`);
    const dir = mkdtempSync(join(tmpdir(), 'voyandz-join-'));
    try {
      const file = join(dir, `restarted.${sample.name}`);
      writeFileSync(file, Buffer.concat([point.header ?? Buffer.alloc(0), stream.subarray(point.offset)]));
      const { stderr } = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-']);
      assert.equal(stderr, '', `${sample.name}: decoding the joined bytes after the restart`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('join parser: garbage makes the policy fall back to raw, once, without throwing', () => {
  const reasons: string[] = [];
  for (const sample of JOIN_SAMPLES) {
    const policy = policyFor(sample.mimetype, 'keyframe', (r) => reasons.push(`${sample.name}: ${r}`));
    const random = prng(7);
    const junk = Buffer.from(Array.from({ length: 100_000 }, () => Math.floor(random() * 256)));
    for (let p = 0; p < junk.length; p += 1000) policy.observe(junk.subarray(p, p + 1000), p);
    const point = policy.joinPoint(0, junk.length);
    assert.deepEqual(point, { header: null, offset: junk.length }, `${sample.name} joins raw`);
  }
  assert.ok(reasons.length >= JOIN_SAMPLES.length, reasons.join('\n'));
});

const MPJPEG = JOIN_SAMPLES.find((sample) => sample.name === 'mpjpeg')!;

test('multipart: the boundary is read from the stream\'s first line; a different declared one is reported once, parts are still found', async () => {
  const data = await recordSample(MPJPEG, 2);
  const fail = (reason: string): void => assert.fail(`fell back: ${reason}`);
  const reference = trace(policyFor(MPJPEG.mimetype, 'keyframe', fail), data, () => 1 << 30);
  for (const mimetype of ['multipart/x-mixed-replace;boundary=ffserver', 'multipart/x-mixed-replace', 'multipart/x-mixed-replace; boundary="ffmpeg"']) {
    const told: string[] = [];
    const random = prng(3);
    const policy = policyFor(mimetype, 'keyframe', fail, (written, declared) => told.push(`${written} for ${declared}`));
    const got = trace(policy, data, () => 1 + Math.floor(random() * 7));
    assert.deepEqual(got.joins, reference.joins, `${mimetype}: the same parts as with the right boundary`);
    policy.reset(); // the program restarts: the boundary is read again, not reported again
    policy.observe(data.subarray(0, 4096), data.length);
    const expected = mimetype.includes('ffserver') ? ['ffmpeg for ffserver'] : mimetype.includes('"ffmpeg"') ? [] : ['ffmpeg for undefined'];
    assert.deepEqual(told, expected, mimetype);
  }
  // Joined mid-way, a joiner starts at a delimiter, CRLF included.
  const policy = policyFor('multipart/x-mixed-replace;boundary=ffserver', 'keyframe', fail);
  const cut = Math.floor(data.length * 0.6);
  policy.observe(data.subarray(0, cut), 0);
  const point = policy.joinPoint(0, cut);
  assert.equal(data.toString('latin1', point!.offset, point!.offset + 10), '\r\n--ffmpeg');
});

test('multipart: a stream that does not start with a delimiter line joins raw at once', () => {
  const reasons: string[] = [];
  const policy = policyFor('multipart/x-mixed-replace;boundary=ffmpeg', 'next-keyframe', (reason) => reasons.push(reason));
  const before = policy.joinsSeen;
  policy.observe(Buffer.from('Content-Type: image/jpeg\r\n\r\n\xff\xd8', 'latin1'), 0);
  assert.ok(policy.joinsSeen > before, 'parked joiners are released');
  assert.deepEqual(policy.joinPoint(0, 30), { header: null, offset: 30 });
  assert.match(reasons.join(), /does not start with a multipart delimiter/);
});

test('multipart: a delimiter that never comes again after the first line: once the start left the ring, joiners start raw at once', () => {
  const reasons: string[] = [];
  const policy = policyFor('multipart/x-mixed-replace;boundary=ffmpeg', 'keyframe', (reason) => reasons.push(reason));
  const first = Buffer.from('--ffmpeg\r\nContent-Type: text/plain\r\n\r\n');
  policy.observe(first, 0);
  let end = first.length;
  for (let i = 0; i < 5; i++) {
    const chunk = Buffer.from('data\n'.repeat(20));
    policy.observe(chunk, end);
    end += chunk.length;
  }
  assert.deepEqual(policy.joinPoint(0, end), { header: null, offset: 0 }, 'while the start is held, a joiner gets the stream from it');
  assert.deepEqual(policy.joinPoint(first.length, end), { header: null, offset: end }, 'the start left the ring: raw, not parked');
  assert.match(reasons.join(), /no join point found/);
});

test('feeds: the container is recognised from the first bytes, and readers join as a stream of that mimetype would', async () => {
  const failed = (reason: string): void => assert.fail(`fell back: ${reason}`);
  for (const sample of JOIN_SAMPLES) {
    const data = await recordSample(sample, 3);
    const reference = trace(policyFor(sample.mimetype, 'keyframe', failed), data, () => 1 << 30);
    const random = prng(7);
    const sniffed = trace(feedPolicyFor('auto', failed), data, () => 1 + Math.floor(random() * 300));
    const sniffedJoins = sniffed.joins.filter((j) => j >= 0);
    assert.ok(sniffedJoins.length > 0, `${sample.name}: a join point`);
    assert.deepEqual(sniffedJoins, reference.joins.filter((j) => j >= 0).slice(-sniffedJoins.length), `${sample.name}: same join points`);
    assert.equal(sniffed.header, reference.header, `${sample.name}: same header`);
  }
  // Bytes with no container: the live edge, at once.
  const raw = feedPolicyFor('auto', failed);
  raw.observe(Buffer.from('tick 1\ntick 2\n'), 0);
  assert.deepEqual(raw.joinPoint(0, 14), { header: null, offset: 14 });
});

test('audio burst: an MP3 / ADTS joiner starts about burst seconds before the latest frame, at a frame that decodes cleanly', async () => {
  for (const sample of JOIN_SAMPLES.filter((s) => s.name === 'mp3' || s.name === 'adts')) {
    const data = await recordSample(sample, 5);
    const fail = (reason: string): void => assert.fail(`${sample.name} parser fell back: ${reason}`);
    const latest = policyFor(sample.mimetype, 'keyframe', fail, undefined, 0);
    const burst = policyFor(sample.mimetype, 'keyframe', fail, undefined, 1);
    for (let p = 0; p < data.length; p += 4096) {
      const chunk = data.subarray(p, Math.min(p + 4096, data.length));
      latest.observe(chunk, p);
      burst.observe(chunk, p);
    }
    const edge = latest.joinPoint(0, data.length)?.offset ?? -1;
    const point = burst.joinPoint(0, data.length)?.offset ?? -1;
    assert.ok(point >= 0 && point < edge, `${sample.name}: burst join ${point} lies before the latest frame ${edge}`);
    const dir = mkdtempSync(join(tmpdir(), 'voyandz-burst-'));
    try {
      const file = join(dir, `burst.${sample.name}`);
      writeFileSync(file, data.subarray(point));
      const { stdout, stderr } = await run('ffprobe', ['-v', 'error', '-count_packets', '-show_entries', 'stream=nb_read_packets,sample_rate,codec_name', '-of', 'json', file]);
      assert.equal(stderr, '', `${sample.name}: the burst decodes without errors`);
      const info = (JSON.parse(stdout) as { streams: { nb_read_packets: string; sample_rate: string; codec_name: string }[] }).streams[0];
      assert.ok(info, `${sample.name}: ffprobe sees an audio stream`);
      const perFrame = (info.codec_name === 'mp3' ? 1152 : 1024) / Number(info.sample_rate);
      const seconds = Number(info.nb_read_packets) * perFrame;
      // From the burst start to the end of the latest frame: at least the burst, less than one more frame.
      assert.ok(seconds >= 1 && seconds < 1 + 2 * perFrame, `${sample.name}: the joiner gets ${seconds.toFixed(3)} s of audio`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
