import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { policyFor } from '../src/fanout/join/policy-for.js';
import { FlvParser } from '../src/fanout/join/flv.js';
import { MatroskaParser } from '../src/fanout/join/matroska.js';
import type { ContainerParser } from '../src/fanout/join/parser.js';
import { FanoutSlot, newSlotCounters, type SlotCounters } from '../src/pipeline/fanout-slot.js';
import { JOIN_SAMPLES, recordSample, type JoinSample } from './helpers/join-samples.js';
import { ffprobe, save, waitFor } from './helpers/clients.js';

const log = pino({ level: 'silent' });
const CHUNK = 4096;

/** A reader of the slot over a real loopback connection. */
interface Reader {
  bytes(): Buffer;
  ended: Promise<void>;
  close(): void;
}

async function reader(slot: FanoutSlot): Promise<Reader> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect(port, '127.0.0.1');
  const sink = await accepted;
  server.close();
  sink.on('error', () => undefined);
  client.on('error', () => undefined);
  const chunks: Buffer[] = [];
  client.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise<void>((resolve) => client.once('close', () => resolve()));
  slot.fanout.addSink(sink, { kind: 'client' });
  return { bytes: () => Buffer.concat(chunks), ended, close: () => client.destroy() };
}

function slotFor(sample: JoinSample, counters: SlotCounters): FanoutSlot {
  return new FanoutSlot({
    name: `stream:${sample.name}`,
    title: `stream ${sample.name}`,
    labels: { stream: sample.name },
    maxLagMs: 10_000,
    counters,
    makePolicy: () => policyFor(sample.mimetype, 'keyframe', () => undefined),
    log,
  });
}

async function pushAll(slot: FanoutSlot, bytes: Buffer): Promise<void> {
  slot.started();
  for (let at = 0; at < bytes.length; at += CHUNK) {
    slot.push(bytes.subarray(at, at + CHUNK));
    if ((at / CHUNK) % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await new Promise((resolve) => setImmediate(resolve));
}

/** Where a fresh parser, fed like the slot feeds its probe, first finds a join point. */
function firstJoin(parser: ContainerParser, bytes: Buffer): number {
  for (let at = 0; at < bytes.length; at += CHUNK) {
    parser.feed(bytes.subarray(at, at + CHUNK), at);
    if (parser.joins > 0) return parser.lastJoin;
  }
  return -1;
}

function count(haystack: Buffer, needle: Buffer): number {
  let n = 0;
  for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + 1)) n++;
  return n;
}

const sampleOf = (name: string): JoinSample => JOIN_SAMPLES.find((s) => s.name === name) as JoinSample;
const EBML = Buffer.from([0x1a, 0x45, 0xdf, 0xa3]);
const BITEXACT_WEBM: JoinSample = { ...sampleOf('webm'), output: sampleOf('webm').output.replace('-f webm', '-fflags +bitexact -f webm') };

test('WebM restarted with the same header after a clean end: readers stay, get no second header, and what they got decodes', async () => {
  const [a, b] = [await recordSample(BITEXACT_WEBM, 2), await recordSample(BITEXACT_WEBM, 2)];
  const counters = newSlotCounters();
  const slot = slotFor(BITEXACT_WEBM, counters);
  const dir = mkdtempSync(join(tmpdir(), 'voyandz-splice-'));
  try {
    const early = await reader(slot);
    await pushAll(slot, a);
    await waitFor(() => early.bytes().length === a.length, 5000, 10, 'the first run');
    slot.restart();
    const waiting = slot.whenFlowing();
    let flowing = false;
    void waiting.then(() => (flowing = true));
    await pushAll(slot, b);
    const from = firstJoin(new MatroskaParser(), b);
    assert.ok(from > 0, 'the new run has a join point after its header');
    const expected = Buffer.concat([a, b.subarray(from)]);
    await waitFor(() => early.bytes().length >= expected.length, 5000, 10, 'the second run');
    assert.ok(early.bytes().equals(expected), 'the first run, then the second from its first Cluster: its header dropped');
    assert.equal(count(early.bytes(), EBML), 1, 'one EBML header');
    assert.ok(flowing, 'a client waiting during the restart is answered once the new run is spliced in');
    assert.deepEqual(Object.values(counters.closedOnRestart), [0, 0, 0, 0]);
    const frames = await ffprobe(save(join(dir, 'kept.webm'), early.bytes()));
    assert.equal(frames[0]?.codec_name, 'vp8');
    // A joiner after the splice gets the header once, then the latest keyframe Cluster.
    const late = await reader(slot);
    await waitFor(() => late.bytes().length > 0, 5000, 10, 'the late joiner');
    assert.equal(count(late.bytes(), EBML), 1);
    assert.ok(late.bytes().subarray(0, 4).equals(EBML));
    early.close();
    late.close();
  } finally {
    slot.renew();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('WebM restarted with another header, or cut inside a Cluster: readers are closed (counted), never sent a second header', async () => {
  const [a, b] = [await recordSample(sampleOf('webm'), 2), await recordSample(sampleOf('webm'), 2)];
  // ffmpeg draws random track UIDs per run unless -fflags +bitexact: the headers differ.
  const parsed = (bytes: Buffer): MatroskaParser => {
    const p = new MatroskaParser();
    p.feed(bytes, 0);
    return p;
  };
  const headerOf = (bytes: Buffer): Buffer | null => parsed(bytes).header();
  assert.ok(!(headerOf(a) as Buffer).equals(headerOf(b) as Buffer), 'two runs, two headers');
  const counters = newSlotCounters();
  const slot = slotFor(sampleOf('webm'), counters);
  try {
    const early = await reader(slot);
    await pushAll(slot, a);
    await waitFor(() => early.bytes().length === a.length, 5000, 10, 'the first run');
    slot.restart();
    await pushAll(slot, b);
    await early.ended;
    assert.ok(early.bytes().equals(a), 'the reader got the first run, then its end');
    assert.equal(counters.closedOnRestart['header-changed'], 1);
    // A new reader joins the new run like any joiner: its header, then its latest keyframe Cluster.
    const next = await reader(slot);
    const expected = Buffer.concat([headerOf(b) as Buffer, b.subarray(parsed(b).lastJoin)]);
    await waitFor(() => next.bytes().length >= expected.length, 5000, 10, 'the new reader');
    assert.ok(next.bytes().equals(expected), 'the new run\'s header and latest keyframe');

    // A run that ended in the middle of a Cluster: its readers are closed at the restart.
    const cut = a.subarray(0, a.length - 500);
    slot.renew();
    const second = await reader(slot);
    await pushAll(slot, cut);
    await waitFor(() => second.bytes().length === cut.length, 5000, 10, 'the cut run');
    slot.restart();
    await second.ended;
    assert.equal(counters.closedOnRestart['cut-mid-unit'], 1);
    next.close();
  } finally {
    slot.renew();
  }
});

test('MPEG-TS and FLV: a TS restart simply follows; FLV with the same header keeps its readers from the next keyframe tag', async () => {
  for (const name of ['mpegts', 'flv']) {
    const sample = sampleOf(name);
    const [a, b] = [await recordSample(sample, 2), await recordSample(sample, 2)];
    const counters = newSlotCounters();
    const slot = slotFor(sample, counters);
    try {
      const early = await reader(slot);
      await pushAll(slot, a);
      await waitFor(() => early.bytes().length === a.length, 5000, 10, `${name}: the first run`);
      slot.restart();
      await pushAll(slot, b);
      const expected = Buffer.concat([a, name === 'flv' ? b.subarray(firstJoin(new FlvParser(), b)) : b]);
      await waitFor(() => early.bytes().length >= expected.length, 5000, 10, `${name}: the second run`);
      assert.ok(early.bytes().equals(expected), `${name}: what the reader got`);
      if (name === 'flv') assert.equal(count(early.bytes(), Buffer.from('FLV\x01', 'latin1')), 1, 'one FLV header');
      assert.deepEqual(Object.values(counters.closedOnRestart), [0, 0, 0, 0]);
      early.close();
    } finally {
      slot.renew();
    }
  }
});
