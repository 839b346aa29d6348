import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { test } from 'node:test';
import { Fanout, type FanoutSink } from '../src/fanout/fanout.js';
import { RawJoinPolicy, type JoinPoint, type JoinPolicy } from '../src/fanout/join/policy.js';
import { StreamRing } from '../src/fanout/ring.js';
import { ContainerJoinPolicy, type JoinMode } from '../src/fanout/join/container-policy.js';
import type { ContainerParser } from '../src/fanout/join/parser.js';
import { writerCases, type CountingWriter, type WriterCase } from './helpers/counting-writer.js';
import { bytesOf, socketPairs, until, type Pairs } from './helpers/socket-pairs.js';

const loopback = (n: number): Promise<Pairs> => socketPairs(n);

function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * The sizes of the batches handed to a socket, in order: by write(), or by
 * the native writer when `direct` is given (where what the kernel did not
 * take is then written by write(): that rest is part of the same batch).
 */
function spyWrites(socket: net.Socket, direct: CountingWriter | null): number[] {
  const sizes: number[] = [];
  let rest = 0;
  direct?.onSend(socket, (len, took) => {
    sizes.push(len);
    rest = len - Math.max(0, took);
  });
  const write: (chunk: Buffer) => boolean = socket.write.bind(socket);
  const spy = (chunk: Buffer): boolean => {
    if (rest > 0 && chunk.length === rest) rest = 0;
    else sizes.push(chunk.length);
    return write(chunk);
  };
  socket.write = spy;
  return sizes;
}

/** A cyclic random pattern, handed out as views (the fan-out takes ownership, never copies). */
class Source {
  private readonly pattern = randomBytes(1 << 20);
  private readonly parts: Buffer[] = [];
  next(len: number): Buffer {
    const at = Math.floor(Math.random() * (this.pattern.length - len));
    const b = this.pattern.subarray(at, at + len);
    this.parts.push(b);
    return b;
  }
  all(): Buffer {
    return Buffer.concat(this.parts);
  }
}

test('ring: append, find by offset, trim by offset and age, compaction', () => {
  const ring = new StreamRing();
  for (let i = 0; i < 1000; i++) ring.append(Buffer.alloc(10, i & 255), i);
  assert.equal(ring.start, 0);
  assert.equal(ring.end, 10_000);
  assert.equal(ring.indexOf(0), 0);
  assert.equal(ring.indexOf(9_999), 999);
  assert.equal(ring.indexOf(4_005), 400);
  assert.equal(ring.indexOf(10_000), -1);
  assert.equal(ring.arrivalOf(4_005), 400);
  ring.trim(4_005); // keeps the chunk that 4005 falls inside
  assert.equal(ring.start, 4_000);
  assert.equal(ring.indexOf(3_999), -1);
  assert.equal(ring.startAt(ring.indexOf(4_005)), 4_000);
  ring.trim(0, 700); // by age
  assert.equal(ring.start, 7_000);
  assert.equal(ring.length, 300);
  assert.equal(ring.chunkAt(0)[0], 700 & 255);
  assert.equal(ring.bufferedBytes, 3_000);
  ring.clear();
  assert.equal(ring.bufferedBytes, 0);
  ring.append(Buffer.alloc(5), 2000);
  assert.equal(ring.start, 10_000);
  assert.equal(ring.end, 10_005);
});

/** Keeps everything from the last batch that starts with 'K' and sends a header first. */
class KeyframePolicy implements JoinPolicy {
  readonly name = 'keyframe';
  readonly joinsSeen = 0;
  readonly header = Buffer.from('HEADER');
  key = -1;
  observed: number[] = [];
  resets = 0;
  observe(chunk: Buffer, offset: number): void {
    this.observed.push(offset);
    if (chunk[0] === 0x4b) this.key = offset;
  }
  joinPoint(_ringStart: number, ringEnd: number): JoinPoint {
    return { header: this.header, offset: this.key < 0 ? ringEnd : this.key };
  }
  retainFrom(ringEnd: number): number {
    return this.key < 0 ? ringEnd : this.key;
  }
  reset(): void {
    this.key = -1;
    this.resets++;
  }
}

/** A container whose batches starting with 'K' are keyframes and whose header is 'HDR'. */
class MarkerParser implements ContainerParser {
  lastJoin = -1;
  joins = 0;
  header(): Buffer {
    return Buffer.from('HDR');
  }
  feed(chunk: Buffer, offset: number): void {
    if (chunk[0] === 0x4b) {
      this.lastJoin = offset;
      this.joins++;
    }
  }
}

function markerPolicy(mode: JoinMode): ContainerJoinPolicy {
  return new ContainerJoinPolicy('marker', mode, () => new MarkerParser(), () => undefined);
}

/** Every fan-out behaviour, once per writer: the native one (when it loads here) and socket.write() alone. */
function fanoutTests(w: WriterCase): void {
  const skip = { skip: w.skip };
  test(`${w.name}: 20 sinks receive byte-identical data from their join point, in order`, skip, async () => {
    const net20 = await loopback(20);
    const src = new Source();
    const writer = w.make();
    const fan = new Fanout({ writer, name: 'twenty', maxLagMs: 60_000 });
    const joinedAt: number[] = [];
    try {
      for (let i = 0; i < 10; i++) {
        fan.addSink(net20.pairs[i].sink, { remote: `c${i}` });
        joinedAt.push(0);
      }
      for (let round = 0; round < 200; round++) {
        for (let k = 0; k < 5; k++) fan.push(src.next(1 + Math.floor(Math.random() * 20_000)));
        await tick();
        if (round % 20 === 10) {
          const i = 10 + (round - 10) / 20;
          joinedAt.push(fan.bytesIn);
          fan.addSink(net20.pairs[i].sink);
        }
      }
      assert.equal(fan.sinkCount, 20);
      fan.end();
      await Promise.all(net20.pairs.map((p) => p.ended));
      const all = src.all();
      assert.equal(fan.bytesIn, all.length);
      let expectedOut = 0;
      net20.pairs.forEach((p, i) => {
        const want = all.subarray(joinedAt[i]);
        assert.equal(p.received, want.length, `sink ${i} length`);
        assert.ok(bytesOf(p).equals(want), `sink ${i} bytes`);
        expectedOut += want.length;
      });
      assert.equal(fan.bytesOut, expectedOut);
      if (writer !== null) assert.ok(writer.taken > all.length, `the native writer carried ${writer.taken} bytes`);
    } finally {
      fan.end();
      await net20.close();
    }
  });

  test(`${w.name}: a sink that stops reading is dropped for lag; the others get everything; memory stays bounded`, skip, async () => {
    const lb = await loopback(2);
    const [fast, slow] = lb.pairs;
    const src = new Source();
    const CHUNK = 64 * 1024;
    const STEP_MS = 10; // fake stream time per chunk: maxLag is 30 chunks
    let clock = 0;
    const drops: FanoutSink[] = [];
    const fan = new Fanout({ writer: w.make(), name: 'lag', maxLagMs: 300, now: () => clock, onDrop: (s) => drops.push(s) });
    try {
      fan.addSink(fast.sink);
      const slowSink = fan.addSink(slow.sink);
      slow.client.pause();
      let pushed = 0;
      let maxBuffered = 0;
      while (fan.droppedForLag === 0) {
        assert.ok(pushed < 1 << 30, 'the paused sink was never dropped');
        // Pace on the fast reader so that only the paused one can fall behind.
        await until(() => fast.received >= pushed - 4 * CHUNK, 'fast reader keeps up');
        clock += STEP_MS;
        fan.push(src.next(CHUNK));
        pushed += CHUNK;
        maxBuffered = Math.max(maxBuffered, fan.bufferedBytes);
      }
      assert.equal(fan.droppedForLag, 1);
      assert.deepEqual(drops, [slowSink]);
      assert.ok(slow.sink.destroyed, 'dropped socket destroyed');
      assert.equal(fan.sinkCount, 1);
      assert.ok(maxBuffered <= 40 * CHUNK, `ring held ${maxBuffered} bytes`);
      assert.ok(pushed > 2 * maxBuffered, 'more data went through than the ring ever held');
      for (let i = 0; i < 50; i++) {
        clock += STEP_MS;
        fan.push(src.next(CHUNK));
        await tick();
      }
      fan.end();
      await fast.ended;
      assert.ok(bytesOf(fast).equals(src.all()), 'fast sink got every byte in order');
      assert.equal(fan.bufferedBytes, 0);
    } finally {
      fan.end();
      await lb.close();
    }
  });

  test(`${w.name}: backpressure: a blocked sink catches up after drain, nothing lost or duplicated`, skip, async () => {
    const lb = await loopback(1);
    const [p] = lb.pairs;
    const src = new Source();
    const fan = new Fanout({ writer: w.make(), name: 'bp', maxLagMs: 3_600_000 });
    try {
      const sink = fan.addSink(p.sink);
      p.client.pause();
      let pushed = 0;
      while (!sink.blocked) {
        assert.ok(pushed < 1 << 30, 'socket never pushed back');
        fan.push(src.next(64 * 1024));
        pushed += 64 * 1024;
      }
      // Now the backlog lives in the shared ring, not in the socket.
      for (let i = 0; i < 100; i++) fan.push(src.next(30_000));
      await tick();
      assert.ok(fan.bufferedBytes >= 100 * 30_000, 'backlog kept in the ring');
      // The sink's next byte is waiting in the ring: its lag grows with time.
      await new Promise((resolve) => setTimeout(resolve, 30));
      assert.ok(sink.lagMs() >= 25, `lag ${sink.lagMs()} ms after 30 ms blocked`);
      p.client.resume();
      for (let i = 0; i < 20; i++) {
        fan.push(src.next(5_000));
        await tick();
      }
      await until(() => !sink.blocked, 'sink caught up');
      assert.equal(p.sink.listenerCount('drain'), 1, 'one drain listener per sink');
      fan.end();
      await p.ended;
      const all = src.all();
      assert.equal(sink.bytesSent, all.length);
      assert.equal(p.received, all.length);
      assert.ok(bytesOf(p).equals(all));
    } finally {
      fan.end();
      await lb.close();
    }
  });

  test(`${w.name}: batching: pushes in one turn become one write per sink; a full batch flushes at once`, skip, async () => {
    const lb = await loopback(3);
    const src = new Source();
    const writer = w.make();
    const fan = new Fanout({ writer, name: 'batch', maxLagMs: 60_000 });
    try {
      const spies = lb.pairs.map((p) => {
        fan.addSink(p.sink);
        return spyWrites(p.sink, writer);
      });
      for (let i = 0; i < 100; i++) fan.push(src.next(100));
      assert.deepEqual(spies[0], [], 'nothing written within the turn');
      await tick();
      for (const s of spies) assert.deepEqual(s, [10_000]);
      fan.push(src.next(70_000));
      for (const s of spies) assert.deepEqual(s, [10_000, 70_000], 'flushed without waiting');
      fan.push(src.next(40_000));
      fan.push(src.next(40_000));
      for (const s of spies) assert.deepEqual(s, [10_000, 70_000, 80_000]);
      fan.push(src.next(10));
      await tick();
      for (const s of spies) assert.deepEqual(s, [10_000, 70_000, 80_000, 10]);
      if (writer !== null) assert.equal(writer.calls, 4, 'one native call per batch for all three sockets');
      fan.end();
      await Promise.all(lb.pairs.map((p) => p.ended));
      for (const p of lb.pairs) assert.ok(bytesOf(p).equals(src.all()));
    } finally {
      fan.end();
      await lb.close();
    }
  });

  test(`${w.name}: join: raw starts at the live edge; a policy header and older offset are honoured`, skip, async () => {
    const lb = await loopback(3);
    const [first, raw, keyed] = lb.pairs;
    const policy = new KeyframePolicy();
    const fan = new Fanout({ writer: w.make(), name: 'join', maxLagMs: 60_000, joinPolicy: policy });
    const rawFan = new Fanout({ writer: w.make(), name: 'raw', maxLagMs: 60_000, joinPolicy: new RawJoinPolicy() });
    try {
      fan.addSink(first.sink);
      const a = Buffer.alloc(1000, 'a');
      const k = Buffer.concat([Buffer.from('K'), Buffer.alloc(999, 'k')]);
      const b = Buffer.alloc(500, 'b');
      const c = Buffer.alloc(700, 'c');
      fan.push(a);
      await tick();
      fan.push(k);
      await tick();
      fan.push(b);
      await tick();
      assert.equal(fan.bufferedBytes, k.length + b.length, 'ring keeps from the keyframe');
      const late = fan.addSink(keyed.sink);
      fan.push(c);
      await tick();
      assert.deepEqual(policy.observed, [0, 1000, 2000, 2500]);

      rawFan.push(a);
      await tick();
      rawFan.addSink(raw.sink);
      rawFan.push(c);
      await tick();
      assert.equal(rawFan.bufferedBytes, 0, 'raw keeps nothing once sinks are caught up');

      fan.restart();
      assert.equal(policy.resets, 1);
      assert.equal(fan.sinkCount, 2, 'sinks stay across a restart');
      fan.end();
      rawFan.end();
      await Promise.all(lb.pairs.map((p) => p.ended));
      assert.ok(bytesOf(first).equals(Buffer.concat([policy.header, a, k, b, c])));
      assert.ok(bytesOf(keyed).equals(Buffer.concat([policy.header, k, b, c])));
      assert.equal(late.bytesSent, policy.header.length + k.length + b.length + c.length);
      assert.ok(bytesOf(raw).equals(c));
    } finally {
      fan.end();
      rawFan.end();
      await lb.close();
    }
  });

  test(`${w.name}: end() ends every socket; closed sockets leave on their own; removeSink is safe and idempotent`, skip, async () => {
    const lb = await loopback(3);
    const [p0, p1, p2] = lb.pairs;
    const fan = new Fanout({ writer: w.make(), name: 'end', maxLagMs: 60_000 });
    try {
      const s0 = fan.addSink(p0.sink);
      const s1 = fan.addSink(p1.sink);
      fan.addSink(p2.sink);
      fan.push(Buffer.from('hello'));
      await tick();
      p1.client.destroy();
      await until(() => fan.sinkCount === 2, 'closed sink removed');
      fan.removeSink(s1);
      fan.removeSink(s1);
      fan.removeSink(s0);
      fan.removeSink(s0);
      assert.equal(fan.sinkCount, 1);
      assert.ok(!p0.sink.destroyed, 'removeSink leaves the socket open');
      p0.sink.destroy();
      fan.push(Buffer.from('world'));
      await tick();
      fan.end();
      fan.end();
      await p2.ended;
      assert.equal(fan.sinkCount, 0);
      assert.equal(bytesOf(p2).toString(), 'helloworld');
      assert.equal(bytesOf(p0).toString(), 'hello');
      fan.push(Buffer.from('ignored after end'));
      const after = fan.addSink(p0.sink);
      fan.removeSink(after);
      assert.equal(fan.sinkCount, 0);
      assert.equal(fan.bufferedBytes, 0);
    } finally {
      fan.end();
      await lb.close();
    }
  });

  test(`${w.name}: writing to sockets destroyed or ended under the fan-out never throws`, skip, async () => {
    const lb = await loopback(3);
    const [gone, ended, ok] = lb.pairs;
    // maxBatchBytes 1: every push is written at once, before any 'close' can arrive.
    const fan = new Fanout({ writer: w.make(), name: 'gone', maxLagMs: 60_000, maxBatchBytes: 1 });
    try {
      // Only the fan-out's own guard stands between these errors and a crash.
      gone.sink.removeAllListeners('error');
      ended.sink.removeAllListeners('error');
      fan.addSink(gone.sink);
      fan.addSink(ended.sink);
      fan.addSink(ok.sink);
      gone.sink.destroy();
      ended.sink.end();
      fan.push(Buffer.from('a'));
      fan.push(Buffer.from('b'));
      await until(() => fan.sinkCount === 1, 'dead sinks removed');
      fan.push(Buffer.from('c'));
      fan.end();
      await ok.ended;
      assert.equal(bytesOf(ok).toString(), 'abc');
      assert.equal(fan.droppedForLag, 0);
    } finally {
      fan.end();
      await lb.close();
    }
  });

  test(`${w.name}: join next-keyframe: a sink there before the first byte gets the stream from it; a later one is parked until the next keyframe`, skip, async () => {
    const lb = await loopback(2);
    const [early, late] = lb.pairs;
    const fan = new Fanout({ writer: w.make(), name: 'next', maxLagMs: 60_000, joinPolicy: markerPolicy('next-keyframe') });
    try {
      fan.addSink(early.sink);
      await until(() => fan.sinkCount === 1, 'early sink parked');
      fan.push(Buffer.from('K1.'));
      await until(() => early.received === 3, 'early sink released at the program start');
      fan.push(Buffer.from('aaa'));
      await tick();
      fan.addSink(late.sink);
      fan.push(Buffer.from('bbb'));
      await tick();
      await tick();
      assert.equal(late.received, 0, 'parked: nothing before the next keyframe');
      assert.equal(fan.sinkCount, 2);
      fan.push(Buffer.from('K2.'));
      await tick();
      fan.push(Buffer.from('ccc'));
      await until(() => late.received === 9 && early.received === 15, 'both got the rest');
      assert.equal(bytesOf(late).toString(), 'HDRK2.ccc');
      assert.equal(bytesOf(early).toString(), 'K1.aaabbbK2.ccc', 'from byte 0, as the program wrote it: no cached header');
    } finally {
      fan.end();
      await lb.close();
    }
  });

  test(`${w.name}: join keyframe: byte 0 until a second join point (what no cached header holds: ID3, SDT), then header + latest keyframe`, skip, async () => {
    const lb = await loopback(4);
    const [first, early, late, restarted] = lb.pairs;
    const fan = new Fanout({ writer: w.make(), name: 'key', maxLagMs: 60_000, joinPolicy: markerPolicy('keyframe') });
    try {
      fan.addSink(first.sink);
      fan.push(Buffer.from('id3'));
      await until(() => first.received === 3, 'the first sink gets the first bytes');
      fan.push(Buffer.from('K1.'));
      await tick();
      fan.addSink(early.sink);
      fan.push(Buffer.from('aaa'));
      await tick();
      fan.push(Buffer.from('K2.'));
      await tick();
      fan.addSink(late.sink);
      fan.push(Buffer.from('bbb'));
      await until(() => late.received === 9, 'the late sink got header + K2');
      assert.equal(bytesOf(late).toString(), 'HDRK2.bbb');
      assert.equal(bytesOf(early).toString(), 'id3K1.aaaK2.bbb', 'before the second keyframe: from byte 0');
      assert.equal(bytesOf(first).toString(), 'id3K1.aaaK2.bbb');

      fan.restart();
      fan.addSink(restarted.sink);
      fan.push(Buffer.from('new'));
      await until(() => restarted.received === 3, 'a sink waiting across a restart starts at the new program\'s first byte');
      assert.equal(bytesOf(restarted).toString(), 'new');
    } finally {
      fan.end();
      await lb.close();
    }
  });

  test(`${w.name}: a parked sink waits at most max_lag while no GOP is known, then at most one GOP; then it joins raw`, skip, async () => {
    const lb = await loopback(3);
    const [starved, waiting, gopBound] = lb.pairs;
    let clock = 0;
    const fan = new Fanout({ writer: w.make(), name: 'starved', maxLagMs: 300, now: () => clock, joinPolicy: markerPolicy('next-keyframe') });
    const gop = new Fanout({ writer: w.make(), name: 'gop', maxLagMs: 60_000, now: () => clock, joinPolicy: markerPolicy('next-keyframe') });
    try {
      fan.push(Buffer.from('K0.'));
      await tick();
      fan.addSink(starved.sink);
      clock += 200;
      await new Promise((resolve) => setTimeout(resolve, 300)); // a lag-check period
      fan.push(Buffer.from('xxx'));
      await tick();
      assert.equal(starved.received, 0, 'still within max_lag');
      clock += 150;
      await until(() => fan.sinkCount === 1 && starved.received === 0, 'parked');
      await new Promise((resolve) => setTimeout(resolve, 300));
      fan.push(Buffer.from('yyy'));
      await until(() => starved.received === 3, 'timed out after max_lag: raw join at the live edge');
      assert.equal(bytesOf(starved).toString(), 'yyy');

      // Keyframes every 100 ms on the fan-out clock: one GOP is 100 ms, far below max_lag.
      for (let i = 0; i < 4; i++) {
        gop.push(Buffer.from(`K${i}.`));
        await tick();
        clock += 100;
      }
      gop.addSink(waiting.sink);
      gop.addSink(gopBound.sink);
      waiting.client.destroy();
      clock += 150; // the next keyframe is late by half a GOP
      await new Promise((resolve) => setTimeout(resolve, 300));
      gop.push(Buffer.from('zzz'));
      await until(() => gopBound.received === 3, 'unparked after one GOP, not after max_lag (60 s)');
      assert.equal(bytesOf(gopBound).toString(), 'zzz');
    } finally {
      fan.end();
      gop.end();
      await lb.close();
    }
  });

  test(`${w.name}: a stream in which the policy never finds a join point: once its start left the ring, joiners start raw at once`, skip, async () => {
    const lb = await loopback(2);
    const [first, later] = lb.pairs;
    let clock = 0;
    let fellBack = '';
    const policy = new ContainerJoinPolicy('marker', 'keyframe', () => new MarkerParser(), (reason) => (fellBack = reason));
    const fan = new Fanout({ writer: w.make(), name: 'none', maxLagMs: 300, now: () => clock, joinPolicy: policy });
    try {
      fan.push(Buffer.from('aaa'));
      await tick();
      fan.addSink(first.sink);
      await until(() => first.received === 3, 'the stream start is a join point');
      for (let i = 0; i < 5; i++) {
        clock += 100;
        fan.push(Buffer.from('bbb'));
        await tick();
      }
      fan.addSink(later.sink);
      fan.push(Buffer.from('ccc'));
      await until(() => later.received === 3, 'joined raw at once');
      assert.equal(bytesOf(later).toString(), 'ccc');
      assert.match(fellBack, /no join point/);
    } finally {
      fan.end();
      await lb.close();
    }
  });

  test(`${w.name}: a sink joined at an old keyframe is not dropped for the age of that keyframe, only for lag after it`, skip, async () => {
    const lb = await loopback(2);
    const [fast, late] = lb.pairs;
    const CHUNK = 1024 * 1024; // the GOP burst must overflow the kernel's socket buffers
    const STEP_MS = 10;
    let clock = 0;
    const fan = new Fanout({ writer: w.make(), name: 'credit', maxLagMs: 300, now: () => clock, joinPolicy: markerPolicy('keyframe') });
    try {
      fan.addSink(fast.sink);
      let pushed = 0;
      const push = async (chunk: Buffer): Promise<void> => {
        await until(() => fast.received >= pushed - 4 * CHUNK, 'fast reader keeps up');
        clock += STEP_MS;
        fan.push(chunk);
        pushed += chunk.length;
        await tick();
      };
      const key = Buffer.alloc(CHUNK, 'k');
      key[0] = 0x4b;
      await push(key);
      for (let i = 0; i < 25; i++) await push(Buffer.alloc(CHUNK, 'd'));
      const joinedAt = clock; // the keyframe is 250 ms old
      late.client.pause();
      const sink = fan.addSink(late.sink);
      assert.ok(sink.blocked, 'the GOP burst blocked the joiner');
      assert.ok(sink.lagMs(clock) < 50, `lag right after joining: ${sink.lagMs(clock)} ms`);
      while (fan.droppedForLag === 0) {
        assert.ok(clock < joinedAt + 10_000, 'the paused joiner was never dropped');
        await push(Buffer.alloc(CHUNK, 'e'));
      }
      assert.ok(clock - joinedAt >= 300, `dropped ${clock - joinedAt} ms after joining (max_lag 300 ms)`);
    } finally {
      fan.end();
      await lb.close();
    }
  });

  test(`${w.name}: lag policy skip: a sink more than max_lag behind jumps to the latest keyframe and stays; resync closes a peer link, counted apart`, skip, async () => {
    const lb = await loopback(3);
    const [fast, skipper, peer] = lb.pairs;
    const CHUNK = 64 * 1024;
    let clock = 0;
    const all: Buffer[] = [];
    const keyframes = new Set<number>();
    let offset = 0;
    const fan = new Fanout({ writer: w.make(), name: 'skip', maxLagMs: 300, now: () => clock, joinPolicy: markerPolicy('keyframe') });
    const push = (n: number): void => {
      const chunk = Buffer.alloc(CHUNK, 0x2e);
      chunk.writeUInt32BE(n, 1); // each chunk tells where it is
      if (n % 5 === 0) {
        chunk[0] = 0x4b; // 'K': a keyframe starts this chunk
        keyframes.add(offset);
      }
      all.push(chunk);
      offset += CHUNK;
      fan.push(chunk);
    };
    try {
      let n = 0;
      push(n++);
      fan.addSink(fast.sink);
      const skipping = fan.addSink(skipper.sink, {}, 'skip');
      fan.addSink(peer.sink, { kind: 'peer' }, 'resync');
      // Joined before a second join point: from byte 0, as the program wrote it (no cached header).
      await until(() => fast.received >= CHUNK, 'fast reader has the first keyframe');
      skipper.client.pause();
      peer.client.pause();
      while (fan.skippedForLag === 0 || fan.peerResyncs === 0) {
        assert.ok(n < 20_000, 'the paused sinks never lagged');
        await until(() => fast.received >= n * CHUNK - 4 * CHUNK, 'fast reader keeps up');
        clock += 10;
        push(n++);
      }
      assert.equal(fan.droppedForLag, 0, 'nobody was dropped');
      assert.equal(fan.peerResyncs, 1);
      assert.ok(peer.sink.destroyed, 'the peer link was closed so that its worker links again');
      assert.ok(!skipper.sink.destroyed, 'the skipping client keeps its connection');
      assert.equal(fan.sinkCount, 2);
      skipper.client.resume();
      await until(() => !skipping.blocked, 'the skipper caught up');
      for (let i = 0; i < 6; i++) {
        clock += 10;
        push(n++);
        await tick();
      }
      fan.end();
      await skipper.ended;
      const sent = Buffer.concat(all);
      const joined = bytesOf(skipper);
      assert.equal(joined.readUInt32BE(1), 0, 'from the first chunk, with no header');
      const got = joined;
      // What it got: runs of the stream in order, each run after the first starting at a keyframe further on.
      let at = 0;
      let skips = 0;
      for (let g = 0; g < got.length; g++, at++) {
        if (got[g] === sent[at]) continue;
        // A skip lands on a chunk start; two keyframe chunks begin alike ('K', then the high bytes of their
        // numbers), so the first differing byte may lie a few bytes in: step back to the chunk start.
        const into = at % CHUNK;
        g -= into;
        at -= into;
        const resumedAt = got.readUInt32BE(g + 1) * CHUNK;
        assert.ok(resumedAt > at, `skipped ahead (${at} → ${resumedAt})`);
        assert.ok(keyframes.has(resumedAt), `resumed at a keyframe: got[${g}]=${got[g]} at ${at} (chunk offset ${at % CHUNK}) → ${resumedAt}`);
        at = resumedAt;
        skips++;
      }
      assert.ok(skips >= 1, 'it skipped');
      assert.equal(at, sent.length, 'and got everything after its last skip, to the end');
      assert.ok(!got.includes(Buffer.from('HDR')), 'no header sent at the skip');
    } finally {
      fan.end();
      await lb.close();
    }
  });
}

for (const w of writerCases()) fanoutTests(w);
