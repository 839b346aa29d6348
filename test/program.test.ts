import { strict as assert } from 'node:assert';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Program, type ProgramExit, type ProgramOptions } from '../src/pipeline/program.js';
import { cmdline, isProcessAlive, listDescendants, listProcessGroup } from '../load-tests/proc.js';
import { RestartPolicy } from '../src/pipeline/restart-policy.js';
import { waitFor } from './helpers/clients.js';

const FFMPEG = '/usr/bin/ffmpeg';

function run(argv: string[], extra: Partial<ProgramOptions> = {}): Program {
  return new Program({ kind: 'stream', name: 'test', argv, stdin: 'ignore', logMaxBytes: 1 << 20, logKeep: 3, ...extra });
}

function exitOf(program: Program): Promise<ProgramExit> {
  const done = program.exited;
  if (done) return Promise.resolve(done);
  return new Promise((resolve) => program.once('exit', resolve));
}

const until = (what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<true> =>
  waitFor(async () => (await cond()) || undefined, timeoutMs, 20, what);

test('stop() ends the whole process group, not only the leader', async () => {
  const program = run(['sh', '-c', 'sleep 100 & sleep 100; wait']);
  const pid = program.pid as number;
  assert.ok(pid > 0);
  try {
    await until('two sleeps', () => listDescendants(pid).length >= 2);
    const tree = [pid, ...listDescendants(pid)];
    assert.deepEqual(new Set(listProcessGroup(pid)), new Set(tree));
    const exited = exitOf(program);
    await program.stop();
    const exit = await exited;
    assert.equal(exit.stopped, true);
    assert.equal(exit.signal, 'SIGTERM');
    await until('no survivors', () => tree.every((p) => !isProcessAlive(p)), 5000);
    assert.deepEqual(listProcessGroup(pid), []);
    await program.stop(); // again, after the exit: resolves at once
  } finally {
    await program.stop(0);
  }
});

test('stdout of ffmpeg is readable and counted', async () => {
  const program = run([FFMPEG, '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25', '-t', '1', '-f', 'mpegts', '-']);
  try {
    const chunks: Buffer[] = [];
    program.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    const exit = await exitOf(program);
    const body = Buffer.concat(chunks);
    assert.equal(exit.code, 0, exit.stderrTail);
    assert.ok(body.length > 0);
    assert.equal(body[0], 0x47, 'MPEG-TS sync byte');
    assert.equal(program.bytesOut, body.length);
    assert.equal(exit.stopped, false);
  } finally {
    await program.stop(0);
  }
});

test('a missing program is reported as an exit with a spawn error', async () => {
  for (const argv of [['/nonexistent/voyandz-no-such-program', '-x'], []]) {
    const program = run(argv, { stdin: 'pipe', extraInputs: 1 });
    assert.equal(program.pid, undefined);
    const exit = await exitOf(program);
    assert.equal(exit.error?.code, 'VOYANDZ_ERR_PROGRAM_SPAWN');
    assert.equal(exit.code, null);
    assert.equal(exit.ranMs, 0);
    assert.match(exit.stderrTail, /cannot start program of stream test/);
    if (argv.length > 0) assert.match(exit.error.message, /not found \(ENOENT/);
    program.stdin?.write('ignored'); // writes after a failed spawn must not throw
    await program.stop();
  }
});

test('stderr tail and exit code are reported; the tail is bounded', async () => {
  const boom = run(['sh', '-c', 'echo boom >&2; exit 3']);
  const exit = await exitOf(boom);
  assert.equal(exit.code, 3);
  assert.equal(exit.signal, null);
  assert.equal(exit.stderrTail, 'boom\n');
  assert.equal(boom.stderrTail(), 'boom\n');

  const noisy = run(['sh', '-c', 'i=0; while [ $i -lt 500 ]; do echo "noise line $i" >&2; i=$((i+1)); done; echo last >&2']);
  const noisyExit = await exitOf(noisy);
  assert.ok(noisyExit.stderrTail.length <= 4096);
  assert.ok(noisyExit.stderrTail.endsWith('noise line 499\nlast\n'));
  assert.match(noisyExit.stderrTail, /^noise line \d+\n/, 'starts at a whole line');
});

test('stderr goes to logdir/<kind>_<name>.log and rotates at the cap', async () => {
  const logdir = await mkdtemp(join(tmpdir(), 'voyandz-log-'));
  try {
    const opts = { logdir, logMaxBytes: 2000, logKeep: 2, name: 'rot' } as const;
    const script = 'i=0; while [ $i -lt 200 ]; do echo "stderr line $i with some padding to fill" >&2; i=$((i+1)); done';
    const first = run(['sh', '-c', script], opts);
    assert.equal((await exitOf(first)).code, 0);
    const log = join(logdir, 'stream_rot.log');
    await until('exit note in log', async () => (await readFile(log, 'utf8').catch(() => '')).includes('exit code 0'));
    const files = (await readdir(logdir)).sort();
    assert.deepEqual(files, ['stream_rot.log', 'stream_rot.log.1', 'stream_rot.log.2']);
    for (const f of files) assert.ok((await stat(join(logdir, f))).size <= 2000, `${f} over the cap`);
    const newest = await readFile(log, 'utf8');
    assert.match(newest, /stderr line 199 with some padding to fill\n/);
    assert.match(await readFile(`${log}.1`, 'utf8'), /^stderr line \d+ /, 'rotation keeps lines whole');

    const second = run(['sh', '-c', 'echo again >&2'], { ...opts, logMaxBytes: 1 << 20 });
    await exitOf(second);
    await until('second run in log', async () => (await readFile(log, 'utf8')).includes('again\n=== '));
    const text = await readFile(log, 'utf8');
    assert.ok(text.startsWith(newest), 'append mode keeps the earlier run');
    assert.match(text, /=== \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z voyandz: start \(pid \d+\): sh -c 'echo again >&2'\n/);
    assert.ok((await readdir(logdir)).length <= 3);
  } finally {
    await rm(logdir, { recursive: true, force: true });
  }
});

test('a program ignoring SIGTERM is SIGKILLed after the grace period', async () => {
  const program = run(['sh', '-c', 'trap "" TERM; sleep 100; echo not reached']);
  const pid = program.pid as number;
  try {
    await until('sleep to start', () => listDescendants(pid).some((p) => cmdline(p).startsWith('sleep')));
    const tree = [pid, ...listDescendants(pid)];
    const started = Date.now();
    const exited = exitOf(program);
    await Promise.all([program.stop(300), program.stop(5000)]);
    const exit = await exited;
    assert.equal(exit.signal, 'SIGKILL');
    assert.ok(Date.now() - started >= 250, 'SIGTERM alone did not end it');
    await until('no survivors', () => tree.every((p) => !isProcessAlive(p)), 5000);
  } finally {
    await program.stop(0);
  }
});

test('stop() of a program reading input closes it first: one that ends at end of input needs no signal', async () => {
  const reader = run(['sh', '-c', 'cat >/dev/null; echo flushed'], { stdin: 'pipe' });
  const out: Buffer[] = [];
  reader.stdout.on('data', (c: Buffer) => out.push(c));
  reader.stdin?.write('some input');
  const exited = exitOf(reader);
  await reader.stop();
  const exit = await exited;
  assert.deepEqual([exit.code, exit.signal, exit.stopped], [0, null, true]);
  assert.equal(Buffer.concat(out).toString(), 'flushed\n', 'it finished its work');

  const deaf = run(['sh', '-c', 'trap "exit 7" TERM; while :; do sleep 0.05; done'], { stdin: 'pipe' });
  await until('the trap to be set', () => listDescendants(deaf.pid as number).length > 0);
  await deaf.stop();
  assert.equal((await exitOf(deaf)).code, 7, 'one that does not read its input gets SIGTERM after the wait, not a SIGKILL');
});

test('stdin and extra inputs: early close is harmless, fd 3 is readable', async () => {
  const head = run(['head', '-c', '1'], { stdin: 'pipe' });
  const big = Buffer.alloc(1 << 20);
  for (let i = 0; i < 8; i++) head.stdin?.write(big);
  assert.equal((await exitOf(head)).code, 0);
  head.stdin?.write(big); // after exit: must not throw

  const cat = run(['sh', '-c', 'cat <&3'], { extraInputs: 1 });
  try {
    assert.equal(cat.inputs.length, 1);
    const out: Buffer[] = [];
    cat.stdout.on('data', (c: Buffer) => out.push(c));
    cat.inputs[0]?.end('hello fd 3');
    assert.equal((await exitOf(cat)).code, 0);
    assert.equal(Buffer.concat(out).toString(), 'hello fd 3');
  } finally {
    await cat.stop(0);
  }
});

test('RestartPolicy: capped doubling back-off, reset after a stable run', () => {
  const policy = new RestartPolicy({ stableAfterMs: 1000 });
  const delays = Array.from({ length: 9 }, () => policy.nextDelayMs(10));
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  assert.equal(policy.nextDelayMs(1000), 500);
  assert.equal(policy.nextDelayMs(999), 1000);
  assert.equal(new RestartPolicy().nextDelayMs(29_999), 500);
});

test('RestartPolicy: first failure logged, then one summary per interval', () => {
  const policy = new RestartPolicy();
  const t0 = 1_000_000;
  assert.deepEqual(policy.shouldLog(t0), { log: true, suppressed: 0 });
  for (let i = 1; i <= 5; i++) assert.equal(policy.shouldLog(t0 + i * 1000).log, false);
  assert.equal(policy.suppressed, 5);
  assert.deepEqual(policy.shouldLog(t0 + 60_000), { log: true, suppressed: 5 });
  assert.equal(policy.shouldLog(t0 + 61_000).log, false);
  assert.deepEqual(policy.shouldLog(t0 + 200_000), { log: true, suppressed: 1 });
  policy.reset();
  assert.deepEqual(policy.shouldLog(t0 + 200_001), { log: true, suppressed: 0 });
});
