import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from './helpers/server.js';
import { decodeErrors, getText, save, sleep, waitFor } from './helpers/clients.js';
import { openRequest } from './helpers/http-raw.js';
import { parsePrometheus } from './helpers/metrics.js';
import { processTree } from '../load-tests/proc.js';

interface Stat {
  streams: { name: string; pid: number | null }[];
  workers: { id: number; pid: number; clients: number }[];
}

async function stat(server: RunningServer): Promise<Stat> {
  return JSON.parse((await getText(server.url('/stat.json'))).text) as Stat;
}

async function counter(server: RunningServer, name: string): Promise<number> {
  const samples = parsePrometheus((await getText(server.url('/metrics'))).text);
  return samples.filter((s) => s.name === name).reduce((sum, s) => sum + s.value, 0);
}

test('a peer link that falls behind is linked again at a keyframe: the subscribing worker keeps its clients', async () => {
  // About 4 Mbit/s, so the link's socket buffers fill within a second of the subscriber stopping.
  const server = await startServer(
    `
streams:
  ts:
    command: ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=640x480:rate=25 -c:v mpeg1video -q:v 2 -g 25 -f mpegts -
    mimetype: video/mp2t
    max_lag: 1
`,
    { workers: 2, workerMode: 'process', spillLoad: 0 },
  );
  const dir = mkdtempSync(join(tmpdir(), 'voyandz-resync-'));
  const clients = [openRequest({ port: server.port }, '/stream/ts'), openRequest({ port: server.port }, '/stream/ts')];
  // Everything each client receives, to decode it afterwards (openRequest keeps only the start).
  const bodies = clients.map((c) => {
    const chunks: Buffer[] = [];
    c.socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    return chunks;
  });
  try {
    for (const c of clients) assert.equal((await c.answer).status, 200);
    const s = await waitFor(async () => {
      const now = await stat(server);
      return now.workers.every((w) => w.clients === 1) ? now : undefined;
    }, 10_000);
    const program = s.streams.find((r) => r.name === 'ts')?.pid ?? -1;
    const subscriber = s.workers.find((w) => !processTree([w.pid]).includes(program));
    assert.ok(subscriber, 'one worker serves its client through a peer link');
    assert.equal(await counter(server, 'voyandz_peer_resyncs_total'), 0);

    // A stopped subscriber reads nothing: its link is more than max_lag behind within seconds.
    process.kill(subscriber.pid, 'SIGSTOP');
    try {
      await sleep(4000);
    } finally {
      process.kill(subscriber.pid, 'SIGCONT');
    }
    const receivedAtResume = clients.map((c) => c.received());
    await waitFor(async () => (await counter(server, 'voyandz_peer_resyncs_total')) >= 1 || undefined, 10_000, 250, 'a peer resync to be counted');
    await sleep(3000);

    const after = await stat(server);
    assert.ok(after.workers.some((w) => w.pid === subscriber.pid && w.clients === 1), 'the subscriber still serves its client');
    assert.equal(await counter(server, 'voyandz_clients_dropped_total'), 0, 'no client was dropped');
    clients.forEach((c, i) => {
      assert.ok(!c.socket.destroyed, `client ${i} is still connected`);
      assert.ok(c.received() > (receivedAtResume[i] ?? 0) + 100_000, `client ${i} receives the stream again`);
    });
    // The new link was spliced in at a keyframe, header first: what each client got decodes.
    for (const [i, chunks] of bodies.entries()) {
      const all = Buffer.concat(chunks);
      const file = save(join(dir, `client-${i}.ts`), all.subarray(all.indexOf('\r\n\r\n') + 4));
      const errors = await decodeErrors(file);
      assert.ok(errors.split('\n').filter((l) => /error|invalid|corrupt/i.test(l)).length <= 3, `client ${i} decodes (${errors.slice(0, 400)})`);
    }
  } finally {
    for (const c of clients) c.close();
    rmSync(dir, { recursive: true, force: true });
    await server.stop();
  }
});
