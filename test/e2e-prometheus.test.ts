import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { freePort } from '../load-tests/loopback.js';
import { VERSION } from '../src/version.js';
import { startServer } from './helpers/server.js';
import { agent, getText, sleep, waitFor } from './helpers/clients.js';


const CONFIG = `
streams:
  ts:
    command: >
      ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=320x240:rate=25
      -c:v libx264 -preset ultrafast -tune zerolatency -g 25 -b:v 800k -f mpegts -
    mimetype: video/mp2t
  snap:
    type: shot
    command: ffmpeg -hide_banner -loglevel error -f lavfi -i testsrc2=size=320x240 -frames:v 1 -f image2pipe -c:v png -
    mimetype: image/png
`;

const has = (program: string): boolean => spawnSync('sh', ['-c', `command -v ${program}`]).status === 0;

/** A client reading a stream and counting what it got, until stopped. */
function reader(url: string): { bytes: () => number; stop: () => void } {
  const abort = new AbortController();
  let bytes = 0;
  void (async () => {
    try {
      const response = await request(url, { dispatcher: agent, signal: abort.signal });
      for await (const chunk of response.body) bytes += (chunk as Buffer).length;
    } catch {
      // stopped
    }
  })();
  return { bytes: () => bytes, stop: () => abort.abort() };
}

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

test('a real Prometheus scrapes /metrics: clients and rate() match what clients received; no resets across a program kill and a worker kill; per-process series are labelled, not summed', async (t) => {
  if (!has('prometheus') || !has('promtool')) {
    t.skip('prometheus is not installed (apt-get install -y prometheus)');
    return;
  }
  const server = await startServer(CONFIG, { workers: 2 });
  const promPort = await freePort();
  const dir = join(server.dir, 'prometheus');
  mkdirSync(dir);
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global: { scrape_interval: 1s, evaluation_interval: 1s }\nscrape_configs:\n  - job_name: voyandz\n    static_configs: [{ targets: ["127.0.0.1:${server.port}"] }]\n`,
  );
  const prometheus = spawn(
    'prometheus',
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`],
    { stdio: 'ignore', detached: true },
  );
  const query = async (expr: string, time?: number): Promise<Sample[]> => {
    const params = new URLSearchParams({ query: expr, ...(time === undefined ? {} : { time: String(time) }) });
    const response = await request(`http://127.0.0.1:${promPort}/api/v1/query?${params.toString()}`, { dispatcher: agent });
    const body = (await response.body.json()) as { status: string; data: { result: Sample[] } };
    assert.equal(body.status, 'success', expr);
    return body.data.result;
  };
  const scalar = async (expr: string, time?: number): Promise<number> => Number((await query(expr, time))[0]?.value[1] ?? NaN);
  const readers: ReturnType<typeof reader>[] = [];
  try {
    await waitFor(async () => (await query('up{job="voyandz"} == 1').catch(() => [])).length === 1, 20000, 200, 'Prometheus scraping voyandz');

    // promtool agrees with every voyandz_* family (help, type, names).
    const text = (await getText(server.url('/metrics'))).text;
    const ours = text.split('\n').filter((line) => /^(# (HELP|TYPE) )?voyandz_/.test(line)).join('\n') + '\n';
    const checked = spawnSync('promtool', ['check', 'metrics'], { input: ours, encoding: 'utf8' });
    assert.equal(`${checked.stdout}${checked.stderr}`, '', 'promtool check metrics');
    assert.equal(checked.status, 0);

    for (let i = 0; i < 3; i++) readers.push(reader(server.url('/stream/ts')));
    for (let i = 0; i < 4; i++) await (await request(server.url('/stream/snap'), { dispatcher: agent })).body.arrayBuffer();
    await sleep(6000);

    // A 20 s window: what the clients counted against what Prometheus says was sent.
    const t1 = Date.now() / 1000;
    const bytes1 = readers.reduce((sum, r) => sum + r.bytes(), 0);
    await sleep(20000);
    const t2 = Date.now() / 1000;
    const bytes2 = readers.reduce((sum, r) => sum + r.bytes(), 0);
    await sleep(2500); // the scrape after t2 is in
    const clientRate = (bytes2 - bytes1) / (t2 - t1);
    const promRate = await scalar('rate(voyandz_stream_sent_bytes_total{stream="ts"}[20s])', t2);
    t.diagnostic(`clients received ${(clientRate * 8 / 1000).toFixed(0)} kbit/s; Prometheus rate() says ${(promRate * 8 / 1000).toFixed(0)} kbit/s (${(((promRate - clientRate) / clientRate) * 100).toFixed(1)} %)`);
    assert.ok(Math.abs(promRate - clientRate) / clientRate < 0.1, 'rate() agrees with the clients within 10 %');
    assert.equal(await scalar('voyandz_stream_clients{stream="ts"}'), 3);
    assert.equal(await scalar('voyandz_stream_connections_total{stream="snap"}'), 4, 'shot requests counted');
    assert.ok((await scalar('voyandz_stream_sent_bytes_total{stream="snap"}')) > 4 * 1000, 'shot bytes counted');
    assert.ok((await scalar('voyandz_stream_connections_total{stream="ts"}')) >= 3, 'stream connections counted at connect');

    // Per process, not summed: one series per process, each its own limit and start time.
    const maxFds = await query('process_max_fds');
    assert.equal(maxFds.length, 3, 'process_max_fds: the primary and two workers');
    assert.deepEqual(maxFds.map((s) => s.metric.role).sort(), ['primary', 'worker', 'worker']);
    assert.equal((await query('process_start_time_seconds')).length, 3);
    const build = await query('voyandz_build_info');
    assert.equal(build[0]?.metric.version, VERSION);
    assert.equal(build[0]?.metric.node, process.version);

    // Kill the stream's program, then the worker that owns it: the counters go on.
    const stat = JSON.parse((await getText(server.url('/stat.json'))).text) as { streams: { name: string; pid: number | null }[]; workers: { id: number; pid: number }[] };
    const programPid = stat.streams.find((s) => s.name === 'ts')?.pid;
    assert.ok(programPid, 'the ts program runs');
    process.kill(programPid, 'SIGKILL');
    await sleep(4000);
    const workerPid = stat.workers[0]?.pid;
    assert.ok(workerPid);
    process.kill(workerPid, 'SIGKILL');
    await sleep(6000);
    for (const series of ['voyandz_stream_sent_bytes_total', 'voyandz_stream_connections_total', 'voyandz_http_requests_total', 'process_cpu_seconds_total']) {
      const resets = await query(`resets(${series}[2m])`);
      assert.ok(resets.length > 0, `${series} has series`);
      for (const sample of resets) assert.equal(sample.value[1], '0', `resets(${series}${JSON.stringify(sample.metric)})`);
    }
    assert.ok((await scalar('voyandz_program_restarts_total{name="ts"}')) >= 1, 'the kill counted as a restart');
  } finally {
    for (const r of readers) r.stop();
    if (prometheus.pid !== undefined) {
      try {
        process.kill(-prometheus.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    assert.equal(await server.stop(), 0);
  }
});

