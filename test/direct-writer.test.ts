import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fstatSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { directTarget } from '../src/fanout/direct-writer.js';
import { Fanout } from '../src/fanout/fanout.js';
import { chooseWriter, describeWriter, fanoutWriter, type NativeSend } from '../src/fanout/native-writer.js';
import { capture, sleep, waitFor } from './helpers/clients.js';
import { writerCases, type CountingWriter, type WriterCase } from './helpers/counting-writer.js';
import { startServer } from './helpers/server.js';
import { bytesOf, socketPairs, until } from './helpers/socket-pairs.js';

const PREBUILT = fileURLToPath(new URL(`../../prebuilds/${process.platform}-${process.arch}/fanout_writer.node`, import.meta.url));

function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

const fdOf = (socket: Socket): number => directTarget(socket).fd;

function make(w: WriterCase): CountingWriter {
  const writer = w.make();
  assert.ok(writer, `the ${w.name} writer`);
  return writer;
}

/** A program reading the fan-out on its stdin, as a stream program reads its feed: it prints the byte count and SHA-256 it got. */
function hashingProgram(): { stdin: Socket; result: Promise<string> } {
  const child = spawn(process.execPath, ['-e', "const h=require('crypto').createHash('sha256');let n=0;process.stdin.on('data',c=>{n+=c.length;h.update(c)}).on('end',()=>process.stdout.write(n+' '+h.digest('hex')))"], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => (out += t));
  const result = new Promise<string>((resolve) => child.once('exit', () => resolve(out)));
  return { stdin: child.stdin as unknown as Socket, result };
}

/** What the native writer must do, with each of its methods. */
function nativeWriterTests(w: WriterCase): void {
  const skip = { skip: w.skip };
  test(`${w.name}: 200 TCP sockets, 4 unix-socket peer links and a program stdin get byte-identical data, counted exactly`, skip, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'voyandz-direct-'));
    const tcp = await socketPairs(200);
    const unix = await socketPairs(4, join(dir, 'peer.sock'));
    const program = hashingProgram();
    const writer = make(w);
    const fan = new Fanout({ name: 'direct', maxLagMs: 60_000, writer });
    try {
      const pairs = [...tcp.pairs, ...unix.pairs];
      const sinks = pairs.map((p, i) => fan.addSink(p.sink, { kind: i < 200 ? 'client' : 'peer' }));
      const stdinSink = fan.addSink(program.stdin, { kind: 'program' });
      const sent: Buffer[] = [];
      for (let round = 0; round < 60; round++) {
        for (let k = 0; k < 3; k++) {
          const chunk = randomBytes(1 + Math.floor(Math.random() * 6000));
          sent.push(chunk);
          fan.push(chunk);
        }
        await tick();
      }
      fan.end();
      await Promise.all(pairs.map((p) => p.ended));
      const all = Buffer.concat(sent);
      pairs.forEach((p, i) => {
        assert.equal(p.received, all.length, `sink ${i} length`);
        assert.ok(bytesOf(p).equals(all), `sink ${i} bytes`);
        assert.equal(sinks[i].bytesSent, all.length, `sink ${i} bytesSent`);
      });
      assert.equal(await program.result, `${all.length} ${createHash('sha256').update(all).digest('hex')}`, 'the program read every byte, in order');
      assert.equal(stdinSink.bytesSent, all.length);
      assert.equal(fan.bytesOut, all.length * (pairs.length + 1));
      // Every kind of descriptor went the direct way: TCP, unix sockets, and the program's stdin (a socketpair under libuv).
      for (const p of pairs) assert.ok(writer.fds.has(fdOf(p.sink)) || p.sink.destroyed, 'socket written directly');
      assert.ok(writer.taken >= all.length * pairs.length * 0.9, `most bytes went direct: ${writer.taken} of ${all.length * (pairs.length + 1)}`);
      assert.deepEqual(writer.errors, []);
    } finally {
      fan.end();
      await tcp.close();
      await unix.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`${w.name}: 1100 sockets in one batch, more than one round of the ring (1024 sends), all byte-identical`, skip, async () => {
    const lb = await socketPairs(1100);
    const writer = make(w);
    const fan = new Fanout({ name: 'wide', maxLagMs: 60_000, writer });
    try {
      for (const p of lb.pairs) fan.addSink(p.sink);
      const sent: Buffer[] = [];
      for (let round = 0; round < 10; round++) {
        const chunk = randomBytes(1 + Math.floor(Math.random() * 4000));
        sent.push(chunk);
        fan.push(chunk);
        await tick();
      }
      fan.end();
      await Promise.all(lb.pairs.map((p) => p.ended));
      const all = Buffer.concat(sent);
      for (const [i, p] of lb.pairs.entries()) assert.ok(bytesOf(p).equals(all), `sink ${i}`);
      assert.equal(writer.offered, 1100 * 10, 'every batch went to every socket directly');
      assert.equal(writer.taken, all.length * 1100);
    } finally {
      fan.end();
      await lb.close();
    }
  });

  test(`${w.name}: a short write hands the rest to socket.write(), in order; a slow reader gets every byte, a fast one is not held up`, skip, async () => {
    const lb = await socketPairs(2);
    const [fast, slow] = lb.pairs;
    const writer = make(w);
    const fan = new Fanout({ name: 'short', maxLagMs: 3_600_000, writer });
    try {
      fan.addSink(fast.sink);
      const slowSink = fan.addSink(slow.sink);
      slow.client.pause();
      const sent: Buffer[] = [];
      let pushed = 0;
      const push = (len: number): void => {
        const chunk = randomBytes(len);
        sent.push(chunk);
        pushed += len;
        fan.push(chunk);
      };
      // Big batches until the kernel takes only part of one: the rest must go through Node.
      while (writer.partial === 0) {
        assert.ok(pushed < 256 << 20, 'no short write after 256 MiB');
        await until(() => fast.received >= pushed - (1 << 20), 'the fast reader keeps up');
        push(200_000);
        await tick();
      }
      assert.ok(slowSink.blocked || slow.sink.writableLength > 0, 'the rest is queued in Node');
      // The slow reader reads in bursts while more comes.
      const reader = setInterval(() => (slow.client.isPaused() ? slow.client.resume() : slow.client.pause()), 5);
      try {
        for (let i = 0; i < 40; i++) {
          push(1 + Math.floor(Math.random() * 50_000));
          await tick();
        }
      } finally {
        clearInterval(reader);
        slow.client.resume();
      }
      fan.end();
      await Promise.all([fast.ended, slow.ended]);
      const all = Buffer.concat(sent);
      assert.ok(bytesOf(fast).equals(all), 'fast reader: every byte in order');
      assert.ok(bytesOf(slow).equals(all), 'slow reader: every byte in order, across the short write');
      assert.equal(slowSink.bytesSent, all.length);
      assert.equal(fan.droppedForLag, 0);
    } finally {
      fan.end();
      await lb.close();
    }
  });

  test(`${w.name}: a socket with bytes still queued in Node gets the batch after them, even when the kernel has room again`, skip, async () => {
    const lb = await socketPairs(1);
    const [p] = lb.pairs;
    const writer = make(w);
    // maxBatchBytes 1: a push is written at once, inside the reader's 'data' callback below.
    const fan = new Fanout({ name: 'queued', maxLagMs: 60_000, maxBatchBytes: 1, writer });
    try {
      // What was written before the sink joined (a response head; here a lot of it) fills the kernel and is queued in libuv.
      p.client.pause();
      const before: Buffer[] = [];
      while (p.sink.writableLength === 0) {
        assert.ok(before.length < 1024, 'the kernel never pushed back');
        const chunk = randomBytes(64 * 1024);
        before.push(chunk);
        p.sink.write(chunk);
      }
      const sink = fan.addSink(p.sink);
      const batch = randomBytes(1000);
      let queuedWhenPushed = -1;
      // The moment the reader has read, the kernel has room again, but libuv has not yet written what it holds.
      p.client.once('data', () => {
        queuedWhenPushed = p.sink.writableLength;
        fan.push(batch);
      });
      p.client.resume();
      const want = Buffer.concat([...before, batch]);
      await until(() => p.received >= want.length, 'everything arrived');
      assert.ok(queuedWhenPushed > 0, 'Node still held bytes when the batch came');
      assert.ok(bytesOf(p).equals(want), 'the batch after what was queued before it');
      assert.equal(sink.bytesSent, batch.length);
      assert.equal(writer.calls, 0, 'not written directly');
    } finally {
      fan.end();
      await lb.close();
    }
  });

  test(`${w.name}: a reset connection fails its write and leaves; a destroyed or ended socket is never written directly, even when its descriptor is reused`, skip, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'voyandz-direct-'));
    const lb = await socketPairs(4, undefined, { paused: true });
    const [reset, destroyed, ended, ok] = lb.pairs;
    const writer = make(w);
    // maxBatchBytes 1: every push is written at once, before any 'close' can arrive.
    const fan = new Fanout({ name: 'faults', maxLagMs: 60_000, maxBatchBytes: 1, writer });
    const files: number[] = [];
    try {
      for (const p of lb.pairs) {
        // Only the fan-out's own guard stands between these errors and a crash.
        p.sink.removeAllListeners('error');
        fan.addSink(p.sink);
      }
      fan.push(Buffer.from('a'));
      assert.equal(writer.lastFds.length, 4, 'all four written directly');

      // The peer resets: the kernel refuses the next write, the rest goes to socket.write(), which fails and closes it.
      reset.client.resetAndDestroy();
      await sleep(50); // for the RST to reach the server's side; the sink side was never read from, so Node has not seen it
      fan.push(Buffer.from('b'));
      assert.ok(writer.errors.some((e) => e === constants.errno.ECONNRESET || e === constants.errno.EPIPE), `errors: ${writer.errors.join(',')}`);
      await until(() => reset.sink.destroyed, 'the reset socket closed through Node');

      // Destroyed, and its descriptor number taken by a file before the next write: no byte may reach either.
      const oldFd = fdOf(destroyed.sink);
      destroyed.sink.destroy();
      // Descriptors are handed out lowest first: open files until one gets the socket's old number.
      for (let i = 0; i < 256 && !files.includes(oldFd); i++) files.push(openSync(join(dir, `reused${i}`), 'w'));
      assert.ok(files.includes(oldFd), `descriptor ${oldFd} reused by a file`);
      // Ended: Node owns what is left of it (a FIN after what it queued).
      ended.sink.end();
      fan.push(Buffer.from('c'));
      assert.ok(!writer.lastFds.includes(oldFd), `descriptor ${oldFd} of the destroyed socket not written`);
      assert.ok(!writer.lastFds.includes(fdOf(ended.sink)), 'ended socket not written directly');
      assert.equal(fstatSync(oldFd).size, 0, 'nothing reached the file that holds its number now');

      await until(() => fan.sinkCount === 1, 'the three faulty sinks left');
      fan.push(Buffer.from('d'));
      fan.end();
      await ok.ended;
      assert.equal(bytesOf(ok).toString(), 'abcd');
      assert.equal(bytesOf(ended).toString(), 'ab');
      assert.equal(fan.droppedForLag, 0);
    } finally {
      for (const fd of files) closeSync(fd);
      fan.end();
      await lb.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

for (const w of writerCases()) if (w.name !== 'js') nativeWriterTests(w);

test('a send whose outcome the writer does not know (-EIO: its io_uring failed mid-way) ends that connection; the others carry on', async () => {
  const lb = await socketPairs(3);
  const [a, lost, b] = lb.pairs;
  const lostFd = fdOf(lost.sink);
  // A writer that says it does not know what became of one descriptor's send, and sends the others for real.
  const real = fanoutWriter().send;
  const unsure: NativeSend = {
    sendAll(fds, count, data, out) {
      let full = 0;
      for (let i = 0; i < count; i++) {
        if (fds[i] === lostFd) out[i] = -constants.errno.EIO;
        else if (real !== null) full += real.sendAll(fds.subarray(i, i + 1), 1, data, out.subarray(i, i + 1));
        else out[i] = 0;
      }
      return full;
    },
  };
  const fan = new Fanout({ name: 'unknown', maxLagMs: 60_000, writer: unsure });
  try {
    for (const p of lb.pairs) fan.addSink(p.sink);
    const closed = new Promise<void>((resolve) => lost.client.once('close', () => resolve()));
    fan.push(Buffer.from('one'));
    await closed;
    await until(() => fan.sinkCount === 2, 'the unknown sink left');
    fan.push(Buffer.from('two'));
    fan.end();
    await Promise.all([a.ended, b.ended]);
    assert.equal(bytesOf(a).toString(), 'onetwo');
    assert.equal(bytesOf(b).toString(), 'onetwo');
    assert.equal(lost.received, 0, 'nothing sent twice, nothing sent at all');
  } finally {
    fan.end();
    await lb.close();
  }
});

test('writer choice: VOYANDZ_NATIVE_WRITER=0 forces the JavaScript writer, =send the native one without io_uring; a missing or broken addon falls back and says why; the shipped prebuilt loads', () => {
  const forced = chooseWriter({ VOYANDZ_NATIVE_WRITER: '0' });
  assert.deepEqual(forced, { kind: 'js', method: null, why: 'VOYANDZ_NATIVE_WRITER=0', send: null });
  assert.equal(describeWriter(forced), 'js');
  if (fanoutWriter().send !== null) {
    const plain = chooseWriter({ VOYANDZ_NATIVE_WRITER: 'send' });
    assert.equal(describeWriter(plain), 'native, send');
    assert.match(plain.why, /, VOYANDZ_NATIVE_WRITER=send$/);
  }

  const dir = mkdtempSync(join(tmpdir(), 'voyandz-addon-'));
  try {
    const broken = join(dir, 'fanout_writer.node');
    writeFileSync(broken, 'not an ELF file');
    const missing = join(dir, 'missing.node');
    const fallback = chooseWriter({}, [missing, broken]);
    assert.equal(fallback.kind, 'js');
    assert.equal(fallback.send, null);
    assert.match(fallback.why, new RegExp(`${missing}: not there; ${broken}: .+`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  if (process.platform === 'linux' && (process.arch === 'x64' || process.arch === 'arm64')) {
    const prebuilt = chooseWriter({}, [PREBUILT]);
    assert.equal(prebuilt.kind, 'native', prebuilt.why);
    assert.match(prebuilt.why, new RegExp(`^${PREBUILT}(, io_uring not available)?$`));
  }
});

test('e2e: each worker logs which writer runs; with VOYANDZ_NATIVE_WRITER=0 the JavaScript one serves the stream byte-exact', async () => {
  // seq's output is known byte for byte; the client joins raw wherever the program is, then gets the rest, in order.
  const config = `
streams:
  seq:
    command: seq 1 100000
    mimetype: text/plain
    resurrect: false
`;
  const expected = Array.from({ length: 100000 }, (_, i) => `${i + 1}\n`).join('');
  for (const forceJs of [true, false]) {
    const server = await startServer(config, { workers: 2, env: forceJs ? { VOYANDZ_NATIVE_WRITER: '0' } : {} });
    try {
      const lines = await waitFor(() => {
        const found = server.logs.filter((l) => typeof l.fanoutWriter === 'string');
        return found.length === 2 && found;
      }, 15_000, 100, 'a writer line from each worker');
      const here = fanoutWriter();
      const want = forceJs ? 'js' : describeWriter(here);
      for (const line of lines) {
        assert.equal(line.fanoutWriter, forceJs ? 'js' : here.kind, JSON.stringify(line));
        assert.equal(line.method, forceJs ? null : here.method);
        assert.match(String(line.msg), new RegExp(`^fan-out writer: ${want} \\(.+\\)$`));
      }
      if (forceJs) assert.equal(lines[0].detail, 'VOYANDZ_NATIVE_WRITER=0');
      const got = await capture(server.url('/stream/seq'), { ms: 10_000 });
      assert.equal(got.status, 200);
      const body = got.body.toString('latin1');
      assert.ok(body.length > 100_000 && expected.endsWith(body), `a tail of the output, unbroken: ${body.length} bytes from ${JSON.stringify(body.slice(0, 20))}`);
    } finally {
      await server.stop();
    }
  }
});
