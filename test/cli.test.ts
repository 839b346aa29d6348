import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CLI, startServer } from './helpers/server.js';
import { capture } from './helpers/clients.js';
import { VERSION } from '../src/version.js';

const run = promisify(execFile);

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, VOYANDZ_LOG_FORMAT: 'json' } });
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
  assert.match(format.stderr, /--log-format must be json or pretty/);
  assert.equal((await cli(['--log-level', 'loud', '-V'])).code, 2);
});

test('--check prints the resolved config of the bundled demo', async () => {
  const result = await cli(['--check', '-f', 'config/demo.yaml']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /listenport: 8090/);
  assert.match(result.stdout, /url: \/stream\/ts/);
});

test('a bad config is rejected with file:line:column and key path, and nothing starts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'voyandz-cli-'));
  try {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'listenport: 8090\nstreams:\n  cam1:\n    command: ffmpeg -i - -f mpjpeg -\n    feed: nope\n');
    const checked = await cli(['--check', '-f', file]);
    assert.equal(checked.code, 1);
    assert.match(checked.stderr, /bad\.yaml:3:3: streams\.cam1\.mimetype: required/);
    assert.match(checked.stderr, /bad\.yaml:5:11: streams\.cam1\.feed: unknown feed "nope"/);
    const started = await cli(['-f', file]);
    assert.equal(started.code, 1);
    assert.match(started.stderr, /streams\.cam1\.mimetype: required/);
    assert.doesNotMatch(started.stdout, /listening on/);
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
