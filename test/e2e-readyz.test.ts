import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './helpers/server.js';
import { getText, sleep, waitFor } from './helpers/clients.js';

test('/readyz: 200 while every worker is up, 503 with the reason while one is respawned; HEAD on both probes; neither logged at info', async () => {
  const server = await startServer(
    `
streams:
  ts:
    command: ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=160x120:rate=25 -c:v mpeg1video -f mpegts -
    mimetype: video/mp2t
`,
    { workers: 2, workerMode: 'process' },
  );
  try {
    const ready = await getText(server.url('/readyz'));
    assert.deepEqual([ready.status, ready.text], [200, 'ready\n']);
    for (const path of ['/readyz', '/healthz']) {
      const head = await getText(server.url(path), 'HEAD');
      assert.deepEqual([head.status, head.text], [200, ''], `HEAD ${path}`);
    }
    const stat = JSON.parse((await getText(server.url('/stat.json'))).text) as { workers: { pid: number }[] };
    const worker = stat.workers[1]?.pid ?? -1;
    assert.ok(worker > 0);
    process.kill(worker, 'SIGKILL');
    // The primary respawns it (0.1 s, then a fork and its setup): /readyz says so meanwhile.
    const notReady = await waitFor(async () => {
      const r = await getText(server.url('/readyz'));
      return r.status === 503 ? r : undefined;
    }, 5000, 10, 'a 503 from /readyz');
    assert.equal(notReady.text, 'VOYANDZ_ERR_NOT_READY: not ready: 1 of 2 workers are up\n');
    assert.equal((await getText(server.url('/healthz'))).status, 200, 'alive all along');
    await waitFor(async () => (await getText(server.url('/readyz'))).status === 200 || undefined, 15_000, 50, 'ready again');
    await sleep(200);
    const probes = server.logs.filter((l) => l.msg === 'request' && (l.path === '/readyz' || l.path === '/healthz'));
    assert.deepEqual(probes, [], 'probes are logged at debug, 503s included');
  } finally {
    assert.equal(await server.stop(), 0);
  }
});
