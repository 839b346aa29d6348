import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { freePort } from '../load-tests/loopback.js';
import { CLI, startServer, type LogLine } from './helpers/server.js';
import { agent, capture, getText, waitFor } from './helpers/clients.js';

const CONFIG = `
streams:
  failing:
    command: sh -c 'echo "rtsp://10.0.0.9/cam 404 Not Found" >&2; exit 1'
    mimetype: video/mp2t
  failing-own:
    client: exclusive
    command: sh -c 'echo "camera refused the exclusive session" >&2; exit 2'
    mimetype: video/mp2t
  silent:
    command: sleep 30
    mimetype: video/mp2t
    start_timeout: 1
  short:
    client: exclusive
    command: sh -c 'printf hello; sleep 0.2'
    mimetype: application/octet-stream
  ticks:
    command: sh -c 'while :; do printf tick; sleep 0.1; done'
    mimetype: application/octet-stream
  snap:
    type: shot
    command: printf picture
    mimetype: image/png
`;

const leaveLine = (stream: string) => (line: LogLine) => line.msg === 'connection closed' && line.stream === stream;

test("a client's leave line gives the reason the server ended it: an error answer (with the program's stderr in the body), the stream ending, a shot's answer; closed when the client left", async () => {
  const server = await startServer(CONFIG);
  try {
    // A program that fails before its first byte: 502, its stderr tail, said once.
    const failing = await getText(server.url('/stream/failing'));
    assert.equal(failing.status, 502);
    assert.equal(failing.text, 'VOYANDZ_ERR_STREAM_FAILED: stream failing: its program exited with code 1 before producing a byte\nrtsp://10.0.0.9/cam 404 Not Found\n');
    const own = await getText(server.url('/stream/failing-own'));
    assert.equal(own.status, 502);
    assert.equal(own.text, 'VOYANDZ_ERR_STREAM_FAILED: stream failing-own: its program exited with code 2 before producing a byte\ncamera refused the exclusive session\n');
    const silent = await getText(server.url('/stream/silent'));
    assert.equal(silent.status, 504);
    for (const [stream, status] of [['failing', 502], ['failing-own', 502], ['silent', 504]] as const) {
      const line = await server.waitForLog(leaveLine(stream));
      assert.deepEqual([line.status, line.reason], [status, 'error'], `${stream}: ${JSON.stringify(line)}`);
    }
    // The exclusive program ends after its output: the server ended the response.
    const short = await getText(server.url('/stream/short'));
    assert.deepEqual([short.status, short.text], [200, 'hello']);
    assert.equal((await server.waitForLog(leaveLine('short'))).reason, 'stream-ended');
    const snap = await getText(server.url('/stream/snap'));
    assert.deepEqual([snap.status, snap.text], [200, 'picture']);
    assert.equal((await server.waitForLog(leaveLine('snap'))).reason, 'stream-ended');
    // The client hangs up.
    const ticks = await capture(server.url('/stream/ticks'), { bytes: 8 });
    assert.equal(ticks.status, 200);
    const left = await server.waitForLog(leaveLine('ticks'));
    assert.deepEqual([left.status, left.reason], [200, 'closed']);
  } finally {
    assert.equal(await server.stop(), 0);
  }
});

test('--log-level debug reaches the primary and the workers: polled pages and shot programs are logged at debug, not at info', async () => {
  const config = 'streams:\n  snap:\n    type: shot\n    command: printf picture\n    mimetype: image/png\n';
  for (const level of ['info', 'debug']) {
    const server = await startServer(config, { env: { VOYANDZ_LOG_LEVEL: level } });
    try {
      await getText(server.url('/metrics'));
      await getText(server.url('/stream/snap'));
      await server.waitForLog(leaveLine('snap'));
      // Something logged at info after both: every earlier line is in.
      await getText(server.url('/'));
      await server.waitForLog((line) => line.msg === 'request' && line.path === '/');
      const metrics = server.logs.find((line) => line.msg === 'request' && line.path === '/metrics');
      const shot = server.logs.find((line) => line.stream === 'snap' && typeof line.msg === 'string' && line.msg.includes('program started'));
      if (level === 'info') {
        assert.equal(metrics, undefined, 'at info, /metrics is not logged');
        assert.equal(shot, undefined, 'at info, shot programs are not logged');
      } else {
        assert.equal(metrics?.level, 20, 'the primary logs /metrics at debug');
        assert.equal(shot?.level, 20, 'the worker logs the shot program at debug');
        assert.equal(typeof shot.worker, 'number');
      }
    } finally {
      assert.equal(await server.stop(), 0);
    }
  }
});

test('--log-format pretty: readable lines from the primary and the workers, no JSON', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'voyandz-pretty-'));
  const port = await freePort();
  const file = join(dir, 'voyandz.yaml');
  writeFileSync(file, `listenaddr: 127.0.0.1\nlistenport: ${port}\nworkers: 1\nstreams:\n  snap:\n    type: shot\n    command: printf picture\n    mimetype: image/png\n`);
  const child = spawn(process.execPath, [CLI, '--log-format', 'pretty', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, VOYANDZ_LOG_FORMAT: 'json' } });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (out += text));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    await waitFor(() => out.includes('listening on'), 20000, 100, 'the server listening');
    const response = await request(`http://127.0.0.1:${port}/stream/snap`, { dispatcher: agent });
    assert.equal(await response.body.text(), 'picture');
    // The worker's line about the client, pretty too.
    await waitFor(() => out.includes('connection closed'), 10000, 100, "the worker's leave line");
    assert.match(out, /^\[[\d-]+ [\d:.]+ [+-]\d{4}\] INFO \(voyandz\/\d+\): voyandz /m, 'a pretty line from the primary');
    assert.match(out, /^\[[^\]]+\] INFO\b.*: client 127\.0\.0\.1:\d+ connected to snap$/m, 'a pretty line from the worker');
    const json = out.split('\n').filter((line) => line.startsWith('{'));
    assert.deepEqual(json, [], 'no JSON line');
  } finally {
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    rmSync(dir, { recursive: true, force: true });
  }
});
