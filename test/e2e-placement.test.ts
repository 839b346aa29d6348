import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from './helpers/server.js';
import { capture, decodeErrors, ffprobe, getText, save, sleep, waitFor } from './helpers/clients.js';

const CONFIG = `
stat_clients: true
pages:
  stat: true
streams:
  ts:
    command: >
      ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=320x240:rate=25
      -c:v libx264 -preset ultrafast -tune zerolatency -g 25 -f mpegts -
    mimetype: video/mp2t
`;

interface Stat {
  streams: { name: string; clients: number }[];
  workers: { id: number; clients: number; load: number }[];
  clients?: { stream: string; worker: number }[];
}

/** Clients of stream ts per worker id, once the stream has `total`. */
async function perWorker(url: string, total: number): Promise<number[]> {
  return waitFor(async () => {
    const s = JSON.parse((await getText(url)).text) as Stat;
    if (s.streams.find((r) => r.name === 'ts')?.clients !== total) return undefined;
    const counts = s.workers.map(() => 0);
    for (const c of s.clients ?? []) if (c.stream === 'ts') counts[c.worker] = (counts[c.worker] ?? 0) + 1;
    return counts;
  });
}

test("by default a shared stream's clients stay on the worker running its program; after a reload to spill_load: 0 the next ones go to the other worker; both decode", async () => {
  const server = await startServer(CONFIG, { workers: 2 });
  const dir = mkdtempSync(join(tmpdir(), 'voyandz-placement-'));
  try {
    const first = capture(server.url('/stream/ts'), { ms: 10_000 });
    await sleep(1500);
    const packed = [first, ...Array.from({ length: 7 }, () => capture(server.url('/stream/ts'), { ms: 8000 }))];
    const atFirst = await perWorker(server.url('/stat.json'), 8);
    // A few test clients keep the owner's loop far below the default spill_load (0.5).
    assert.deepEqual([...atFirst].sort(), [0, 8], `all 8 on the owner: ${JSON.stringify(atFirst)}`);
    const owner = atFirst.indexOf(8);

    // What placement goes by is what an operator sees: each worker's load on /stat.json, /stat and /metrics.
    const stat = JSON.parse((await getText(server.url('/stat.json'))).text) as Stat;
    assert.equal(stat.workers.length, 2);
    for (const w of stat.workers) assert.ok(w.load >= 0 && w.load <= 1, `worker ${w.id} load ${w.load}`);
    assert.match((await getText(server.url('/stat'))).text, /<th>load<\/th>/);
    const metrics = (await getText(server.url('/metrics'))).text;
    for (const id of [0, 1]) {
      const m = new RegExp(`^voyandz_worker_load\\{[^}]*worker="${id}"[^}]*\\} ([0-9.e-]+)$`, 'm').exec(metrics);
      assert.ok(m, `voyandz_worker_load of worker ${id} in /metrics`);
      assert.ok(Number(m[1]) >= 0 && Number(m[1]) <= 1, `worker ${id} load ${m[1]}`);
    }

    appendFileSync(join(server.dir, 'voyandz.yaml'), 'spill_load: 0\n');
    const reloaded = server.waitForLog((line) => line.msg === 'config reloaded', 10_000);
    server.process.kill('SIGHUP');
    await reloaded;

    const spread = Array.from({ length: 8 }, () => capture(server.url('/stream/ts'), { ms: 5000 }));
    const after = await perWorker(server.url('/stat.json'), 16);
    await Promise.all([...packed, ...spread]);
    assert.equal(after[owner], 8, `the owner kept its 8 and got none of the new ones: ${JSON.stringify(after)}`);
    assert.equal(after[1 - owner], 8, `the new clients went to the worker with the fewest: ${JSON.stringify(after)}`);

    const [onOwner, onPeer] = [await packed[1], await spread[0]];
    for (const [name, c] of [['owner', onOwner], ['peer', onPeer]] as const) {
      assert.ok(c, `a capture of the ${name}'s client`);
      assert.equal(c.status, 200);
      assert.ok(c.body.length > 50_000, `the ${name}'s client got ${c.body.length} bytes`);
      const file = save(join(dir, `${name}.ts`), c.body);
      const streams = await ffprobe(file);
      assert.equal(streams[0]?.codec_name, 'h264', `the ${name}'s client decodes`);
      assert.equal(await decodeErrors(file), '', `the ${name}'s client decodes cleanly`);
    }
  } finally {
    assert.equal(await server.stop(), 0);
    rmSync(dir, { recursive: true, force: true });
  }
});
