import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { parse as parseYaml } from 'yaml';
import { hasPrometheus, TestPrometheus } from './helpers/prometheus.js';
import { VERSION } from '../src/version.js';
import { startServer } from './helpers/server.js';
import { agent, getText, sleep } from './helpers/clients.js';


const CONFIG = `
feeds:
  camera:
    command: >
      ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=160x120:rate=10
      -c:v libx264 -preset ultrafast -tune zerolatency -g 10 -f mpegts -
streams:
  relay:
    feed: camera
    command: cat
    mimetype: video/mp2t
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

test('a real Prometheus scrapes /metrics: clients and rate() match what clients received; no resets across a program kill and a worker kill; per-process series are labelled, not summed', async (t) => {
  if (!hasPrometheus()) {
    t.skip('prometheus is not installed (apt-get install -y prometheus)');
    return;
  }
  // Worker processes: each has process_* series of its own (threads share the server's).
  const server = await startServer(CONFIG, { workers: 2, workerMode: 'process' });
  const readers: ReturnType<typeof reader>[] = [];
  let prometheus: TestPrometheus | undefined;
  try {
    prometheus = await TestPrometheus.start(join(server.dir, 'prometheus'), server.port);
    const { query, scalar } = { query: prometheus.query.bind(prometheus), scalar: prometheus.scalar.bind(prometheus) };

    for (let i = 0; i < 3; i++) readers.push(reader(server.url('/stream/ts')));
    const tsReaders = [...readers];
    readers.push(reader(server.url('/stream/relay')));
    for (let i = 0; i < 4; i++) await (await request(server.url('/stream/snap'), { dispatcher: agent })).body.arrayBuffer();
    await sleep(6000);

    // A 20 s window: what the clients counted against what Prometheus says was sent.
    const t1 = Date.now() / 1000;
    const bytes1 = tsReaders.reduce((sum, r) => sum + r.bytes(), 0);
    await sleep(20000);
    const t2 = Date.now() / 1000;
    const bytes2 = tsReaders.reduce((sum, r) => sum + r.bytes(), 0);
    await sleep(2500); // the scrape after t2 is in
    const clientRate = (bytes2 - bytes1) / (t2 - t1);
    const promRate = await scalar('rate(voyandz_stream_sent_bytes_total{stream="ts"}[20s])', t2);
    t.diagnostic(`clients received ${(clientRate * 8 / 1000).toFixed(0)} kbit/s; Prometheus rate() says ${(promRate * 8 / 1000).toFixed(0)} kbit/s (${(((promRate - clientRate) / clientRate) * 100).toFixed(1)} %)`);
    assert.ok(Math.abs(promRate - clientRate) / clientRate < 0.1, 'rate() agrees with the clients within 10 %');
    assert.equal(await scalar('voyandz_stream_clients{stream="ts"}'), 3);
    assert.ok((await scalar('rate(voyandz_feed_read_bytes_total{feed="camera"}[20s])', t2)) > 0, 'the feed is read');
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
    // A viewer on the respawned worker (the least busy): its new process allocates, collects garbage, counts from zero.
    await sleep(1500);
    readers.push(reader(server.url('/stream/ts')));
    await sleep(6000);
    // Every counter, and every histogram's counts and sums, of every process, voyandz's own and the runtime's.
    const text = (await getText(server.url('/metrics'))).text;
    const counters = [...text.matchAll(/^# TYPE (\S+) (counter|histogram)$/gm)].flatMap(([, name, type]) =>
      type === 'counter' ? [name] : [`${name}_count`, `${name}_sum`, `${name}_bucket`],
    );
    assert.ok(counters.includes('voyandz_feed_read_bytes_total') && counters.includes('process_cpu_seconds_total') && counters.length >= 15, counters.join(' '));
    for (const series of counters) {
      const resets = await query(`resets(${series}[2m])`);
      for (const sample of resets) assert.equal(sample.value[1], '0', `resets(${series}${JSON.stringify(sample.metric)})`);
    }
    for (const series of ['voyandz_stream_sent_bytes_total', 'voyandz_stream_connections_total', 'voyandz_feed_read_bytes_total', 'voyandz_http_requests_total', 'process_cpu_seconds_total']) {
      assert.ok((await query(series)).length > 0, `${series} has series`);
    }
    assert.ok((await scalar('voyandz_program_restarts_total{name="ts"}')) >= 1, 'the kill counted as a restart');
    assert.equal(await scalar(`voyandz_worker_restarts_total{worker="${stat.workers[0]?.id}"}`), 1, 'the worker kill counted');

    // promtool agrees with every voyandz_* family (help, type, names), with every series there after all this.
    const ours = text.split('\n').filter((line) => /^(# (HELP|TYPE) )?voyandz_/.test(line)).join('\n') + '\n';
    const checked = spawnSync('promtool', ['check', 'metrics'], { input: ours, encoding: 'utf8' });
    assert.equal(`${checked.stdout}${checked.stderr}`, '', 'promtool check metrics');
    assert.equal(checked.status, 0);
  } finally {
    for (const r of readers) r.stop();
    prometheus?.stop();
    assert.equal(await server.stop(), 0);
  }
});

const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));

const DEPLOY_CONFIG = `
feeds:
  camera:
    command: sh -c 'echo "camera unreachable" >&2; exit 1'
    mode: autostart
  testsrc:
    command: ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=320x240:rate=25 -c:v libx264 -preset ultrafast -g 25 -f mpegts -
    mode: continuous
streams:
  ts:
    feed: testsrc
    command: ffmpeg -hide_banner -loglevel error -analyzeduration 500000 -i - -c copy -f mpegts -
    mimetype: video/mp2t
  private:
    command: ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2 -f mpegts -
    mimetype: video/mp2t
    access: { allow: [10.0.0.0/8] }
`;

test('deploy/: the shipped alert rules load, and every alert query and every Grafana panel returns data from a real Prometheus', async (t) => {
  if (!hasPrometheus()) {
    t.skip('prometheus is not installed (apt-get install -y prometheus)');
    return;
  }
  const rules = join(DEPLOY, 'prometheus', 'voyandz-alerts.yml');
  for (const args of [['check', 'rules', rules], ['check', 'config', join(DEPLOY, 'prometheus', 'prometheus.yml')]]) {
    const checked = spawnSync('promtool', args, { encoding: 'utf8' });
    assert.equal(checked.status, 0, `promtool ${args.join(' ')}: ${checked.stdout}${checked.stderr}`);
  }
  const server = await startServer(DEPLOY_CONFIG, { workers: 2 });
  const viewer = reader(server.url('/stream/ts'));
  let prometheus: TestPrometheus | undefined;
  try {
    // A refused request, so the refusal series exist.
    assert.equal((await getText(server.url('/stream/private'))).status, 403);
    prometheus = await TestPrometheus.start(join(server.dir, 'prometheus'), server.port, [rules]);
    await sleep(8000);
    const alerts = parseYaml(readFileSync(rules, 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
    const loaded = (await prometheus.api('/api/v1/rules')) as { data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] } };
    const health = loaded.data.groups.flatMap((g) => g.rules);
    for (const { alert, expr } of alerts.groups.flatMap((g) => g.rules)) {
      const rule = health.find((r) => r.name === alert);
      assert.equal(rule?.health, 'ok', `${alert} evaluates in Prometheus (${rule?.lastError ?? 'not loaded'})`);
      // `QUERY OP THRESHOLD`: the query must find series, or the alert could never fire.
      const match = /^([\s\S]*?)\s*(?:>=|<=|==|>|<)\s*[\d.]+\s*$/.exec(expr.trim());
      assert.ok(match?.[1], `${alert}: expression is QUERY OP THRESHOLD`);
      const series = await prometheus.query(match[1]);
      assert.ok(series.length > 0, `${alert}: ${match[1]} returns data`);
    }
    // The feed that keeps dying makes its alert's whole expression hold (it would fire after its `for:`), and only for it.
    const programDown = alerts.groups.flatMap((g) => g.rules).find((r) => r.alert === 'VoyandzProgramDown');
    assert.ok(programDown);
    const down = await prometheus.query(programDown.expr);
    assert.deepEqual(down.map((sample) => `${sample.metric.kind} ${sample.metric.name}`), ['feed camera'], 'VoyandzProgramDown holds for the dying feed');
    const dashboard = JSON.parse(readFileSync(join(DEPLOY, 'grafana', 'voyandz.json'), 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
    assert.ok(dashboard.panels.length >= 10);
    for (const panel of dashboard.panels) {
      for (const target of panel.targets) {
        const series = await prometheus.query(target.expr.replaceAll('$__rate_interval', '5s'));
        assert.ok(series.length > 0, `panel "${panel.title}": ${target.expr} returns data`);
      }
    }
    t.diagnostic(`${alerts.groups.flatMap((g) => g.rules).length} alerts and ${dashboard.panels.length} panels evaluated`);
  } finally {
    viewer.stop();
    prometheus?.stop();
    assert.equal(await server.stop(), 0);
  }
});

