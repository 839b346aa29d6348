import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CLI, startServer } from './helpers/server.js';
import { freePort } from '../load-tests/loopback.js';
import { capture, getText } from './helpers/clients.js';
import { VERSION } from '../src/version.js';

const run = promisify(execFile);

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, VOYANDZ_LOG_FORMAT: 'json', ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('-V and -h', async () => {
  const version = await cli(['-V']);
  assert.equal(version.code, 0);
  assert.equal(version.stdout, `voyandz ${VERSION}\n`);
  const help = await cli(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /usage: voyandz \[-f CONFIG\]/);
  const bad = await cli(['--bogus']);
  assert.equal(bad.code, 2);
  const format = await cli(['--log-format', 'xml', '--check', '-f', 'config/demo.yaml']);
  assert.equal(format.code, 2);
  assert.match(format.stderr, /--log-format must be one of json, pretty \(not "xml"\)/);
  assert.equal((await cli(['--log-level', 'loud', '-V'])).code, 2);
  // The same values from the environment: refused alike, not a logger's stack trace, not silently ignored.
  const envLevel = await cli(['--check', '-f', 'config/demo.yaml'], { VOYANDZ_LOG_LEVEL: 'loud' });
  assert.equal(envLevel.code, 2);
  assert.match(envLevel.stderr, /^voyandz: \$VOYANDZ_LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent \(not "loud"\)/);
  const envFormat = await cli(['--check', '-f', 'config/demo.yaml'], { VOYANDZ_LOG_FORMAT: 'xml' });
  assert.equal(envFormat.code, 2);
  assert.match(envFormat.stderr, /^voyandz: \$VOYANDZ_LOG_FORMAT must be one of json, pretty/);
  // A flag wins over its variable.
  assert.equal((await cli(['--log-level', 'warn', '-V'], { VOYANDZ_LOG_LEVEL: 'loud' })).code, 0);
});

test('--check prints the resolved config of the bundled demo', async () => {
  const result = await cli(['--check', '-f', 'config/demo.yaml']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /listenport: 8090/);
  assert.match(result.stdout, /^ {2}ts:$/m);
  assert.match(result.stdout, /url: \/snapshot\.png/);
});

test('a config with an error about the whole of it is rejected with file:line:column and key path, and nothing starts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'voyandz-cli-'));
  try {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'listenport: 0\nstreams:\n  cam1:\n    command: ffmpeg -i - -f mpjpeg -\n    feed: nope\n');
    const checked = await cli(['--check', '-f', file]);
    assert.equal(checked.code, 1);
    assert.match(checked.stderr, /bad\.yaml:1:13: listenport: must be an integer from 1 to 65535/);
    assert.match(checked.stderr, /bad\.yaml:3:3: streams\.cam1\.mimetype: required/);
    assert.match(checked.stderr, /bad\.yaml:5:11: streams\.cam1\.feed: unknown feed "nope"/);
    const started = await cli(['-f', file]);
    assert.equal(started.code, 1);
    assert.match(started.stderr, /listenport: must be an integer/);
    assert.doesNotMatch(started.stdout, /listening on/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--check: warnings alone exit 0, an entry error exits 1; both are listed; --strict makes a warning fatal', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'voyandz-cli-'));
  try {
    const warned = join(dir, 'warned.yaml');
    writeFileSync(warned, 'description: my cameras\nstreams:\n  ok: {command: cat, mimetype: x/y}\n');
    const checked = await cli(['--check', '-f', warned]);
    assert.equal(checked.code, 0, checked.stderr);
    assert.match(checked.stderr, /warned\.yaml:1:1: warning: description: unknown key/);
    assert.match(checked.stdout, /ok:\n {4}command: cat/);
    const strict = await cli(['--check', '--strict', '-f', warned]);
    assert.equal(strict.code, 1);
    assert.match(strict.stderr, /0 error\(s\) and 1 warning\(s\) in config/);

    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'streams:\n  ok: {command: cat, mimetype: x/y}\n  bad: {command: cat, mimetype: x/y, feed: nope}\n');
    const entry = await cli(['--check', '-f', broken]);
    assert.equal(entry.code, 1);
    assert.match(entry.stderr, /broken\.yaml:3:44: streams\.bad\.feed: unknown feed "nope"/);
    assert.match(entry.stdout, /# disabled by their errors \(left out below\): streams\.bad/);
    assert.doesNotMatch(entry.stdout, /^ {2}bad:/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an entry with errors is disabled alone: the rest serves, it answers 503 with its error and shows it on /stat', async () => {
  const server = await startServer(`
description: a top-level key the original ignored
streams:
  fine:
    command: sh -c 'while :; do echo fine; sleep 0.2; done'
    mimetype: text/plain
  broken:
    command: cat
    mimetype: text/plain
    feed: nope
    url: /live/broken
  thief:
    command: cat
    mimetype: text/plain
    url: /stat
`);
  try {
    const fine = await capture(server.url('/stream/fine'), { bytes: 5 });
    assert.equal(fine.status, 200);
    assert.equal(fine.body.subarray(0, 5).toString(), 'fine\n');
    for (const path of ['/stream/broken', '/live/broken']) {
      const broken = await getText(server.url(path));
      assert.equal(broken.status, 503, path);
      assert.match(broken.text, /^VOYANDZ_ERR_STREAM_DISABLED: stream broken is disabled by a config error: .*voyandz\.yaml:\d+:11: streams\.broken\.feed: unknown feed "nope"/);
    }
    const thief = await getText(server.url('/stream/thief'));
    assert.equal(thief.status, 503);
    assert.match(thief.text, /streams\.thief\.url: "\/stat" is reserved for the status page/);
    assert.equal((await getText(server.url('/stat'))).status, 200, 'the page a disabled stream\'s url collided with stays the page');
    const stat = JSON.parse((await getText(server.url('/stat.json'))).text) as { streams: { name: string; state: string; error?: string }[] };
    const row = stat.streams.find((s) => s.name === 'broken');
    assert.equal(row?.state, 'disabled');
    assert.match(row.error ?? '', /unknown feed "nope"/);
    assert.match((await getText(server.url('/stat'))).text, /class="badge disabled">disabled<\/span><\/h3>[^]*?<pre class="dead">[^<]*unknown feed &quot;nope&quot;/);
    assert.ok(server.logs.some((line) => line.code === 'VOYANDZ_ERR_CONFIG_WARNING' && /description: unknown key/.test(String(line.msg))));
    assert.ok(server.logs.some((line) => line.code === 'VOYANDZ_ERR_ENTRY_DISABLED' && line.stream === 'broken'));
  } finally {
    assert.equal(await server.stop(), 0);
  }
});

test('strict: true, or --strict, refuses to start on a warning', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'voyandz-cli-'));
  try {
    // A port the server could listen on: only strictness can stop it.
    const config = `listenport: ${await freePort()}\nnote: hello\nstreams:\n  ok: {command: cat, mimetype: x/y}\n`;
    const file = join(dir, 'strict.yaml');
    writeFileSync(file, `strict: true\n${config}`);
    const started = await cli(['-f', file]);
    assert.equal(started.code, 1);
    assert.match(started.stderr, /strict\.yaml:3:1: warning: note: unknown key/);
    assert.doesNotMatch(started.stdout, /listening on/);
    const warned = join(dir, 'warned.yaml');
    writeFileSync(warned, config);
    const flagged = await cli(['--strict', '-f', warned]);
    assert.equal(flagged.code, 1);
    assert.match(flagged.stderr, /warned\.yaml:2:1: warning: note: unknown key/);
    assert.doesNotMatch(flagged.stdout, /listening on/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('with no ffmpeg on PATH, the bundled one runs the programs and the log says so', async (t) => {
  const { createRequire } = await import('node:module');
  let bundled: string;
  try {
    bundled = (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path;
  } catch {
    t.skip('optional dependency @ffmpeg-installer/ffmpeg is not installed on this platform');
    return;
  }
  const emptyPath = mkdtempSync(join(tmpdir(), 'voyandz-nopath-'));
  const server = await startServer(
    `
streams:
  ts:
    command: ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=160x120:rate=25 -c:v mpeg1video -f mpegts -
    mimetype: video/mp2t
`,
    { env: { PATH: emptyPath } },
  );
  try {
    const line = server.logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('using ffmpeg'));
    assert.equal(line?.ffmpeg, bundled);
    assert.equal(line.source, 'bundled');
    const got = await capture(server.url('/stream/ts'), { bytes: 20_000 });
    assert.equal(got.status, 200);
    assert.equal(got.body[0], 0x47, 'MPEG-TS from the bundled ffmpeg');
  } finally {
    assert.equal(await server.stop(), 0);
    rmSync(emptyPath, { recursive: true, force: true });
  }
});
