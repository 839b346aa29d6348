import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { startServer, type LogLine, type RunningServer } from './helpers/server.js';
import { capture, getText, save, sleep, waitFor } from './helpers/clients.js';
import { decodeReport, discontinuities, distinctPrefixes, findHaproxy, firstFrameIsKey, inBatches, startHaproxy, Viewer, type Connection, type Haproxy } from './helpers/relay.js';
import { freePort } from '../load-tests/loopback.js';
import { cmdline, processTree } from '../load-tests/proc.js';

const VIEWERS = 300;
const SMALL = '-re -f lavfi -i testsrc2=size=160x120:rate=25';
const originConfig = (hash: string): string => `
workers: 1
streams:
  ts:
    command: ffmpeg -hide_banner -loglevel error ${SMALL} -c:v libx264 -preset ultrafast -tune zerolatency -g 25 -b:v 150k -f mpegts -metadata comment=e2e-relay -
    mimetype: video/mp2t
  webm:
    # bitexact: every run writes the same header (ffmpeg draws random track UIDs otherwise)
    command: ffmpeg -hide_banner -loglevel error ${SMALL} -c:v libvpx -deadline realtime -cpu-used 8 -g 25 -b:v 100k -fflags +bitexact -f webm -metadata comment=e2e-relay -
    mimetype: video/webm
  secret:
    command: ffmpeg -hide_banner -loglevel error ${SMALL} -c:v libx264 -preset ultrafast -g 25 -f mpegts -metadata comment=e2e-relay -
    mimetype: video/mp2t
    access: { users: { edge: "${hash}" } }
`;
const edgeConfig = (origin: number): string => `
workers: 2
pull_headers: { User-Agent: voyandz-edge }
streams:
  ts: { pull: "http://127.0.0.1:${origin}/stream/ts", mode: 2 }
  webm: { pull: "http://127.0.0.1:${origin}/stream/webm" }
  secret:
    pull: http://127.0.0.1:${origin}/stream/secret
    pull_headers: { Authorization: "Basic ${Buffer.from('edge:secret').toString('base64')}" }
  nopass: { pull: "http://127.0.0.1:${origin}/stream/secret" }
`;

interface Stat {
  streams: { name: string; clients: number; pid: number | null; program: { stderrTail: string[]; pull: { ends: Record<string, number> } | null } | null }[];
}
const stat = async (server: RunningServer): Promise<Stat> => JSON.parse((await getText(server.url('/stat.json'))).text) as Stat;
const clientsOf = async (server: RunningServer, stream: string): Promise<number> => (await stat(server)).streams.find((s) => s.name === stream)?.clients ?? -1;

/** ffprobe, once per distinct start, of what each viewer's current response began with: a keyframe. Returns the starts probed. */
async function decodeFromByte0(viewers: Viewer[], dir: string, label: string): Promise<number> {
  const PREFIX = 24_000;
  const groups = distinctPrefixes(viewers.map((v) => Buffer.concat((v.current as Connection).first)), PREFIX);
  const keyed = await inBatches(
    groups.map((g, i) => async () => firstFrameIsKey(save(join(dir, `${label}-${i}.${viewers[g.viewers[0] ?? 0]?.stream ?? 'x'}`), g.prefix))),
    2,
  );
  const bad = groups.filter((_g, i) => !keyed[i]).flatMap((g) => g.viewers);
  assert.deepEqual(bad, [], `${label}: every viewer decodes from byte 0, its first frame a keyframe`);
  assert.ok(groups.every((g) => g.prefix.length === PREFIX), 'each had its first bytes');
  return groups.length;
}

test('relay: origin + 2 edges behind HAProxy (deploy/haproxy.cfg); 300 viewers; an edge killed, the origin restarted, viewers leaving', async (t) => {
  const haproxyBinary = findHaproxy();
  if (haproxyBinary === null) {
    t.skip('haproxy is not installed (apt-get install haproxy; .ci/run installs it): the relay test needs a real load balancer');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'voyandz-relay-'));
  const originPort = await freePort();
  const config = originConfig(bcrypt.hashSync('secret', 4));
  const [p1, p2, lb] = [await freePort(), await freePort(), await freePort()];
  const viewers: Viewer[] = [];
  const started = Date.now();
  const phase = (what: string): void => t.diagnostic(`${((Date.now() - started) / 1000).toFixed(1)} s: ${what}`);
  // Whatever started is stopped, however the test ends.
  const running: { origin?: RunningServer; edges: RunningServer[]; haproxy?: Haproxy } = { edges: [] };
  try {
    running.origin = await startServer(config, { port: originPort });
    let origin = running.origin;
    running.edges = await Promise.all([startServer(edgeConfig(originPort), { port: p1 }), startServer(edgeConfig(originPort), { port: p2 })]);
    const [edge1, edge2] = running.edges as [RunningServer, RunningServer];
    const haproxy = await startHaproxy(haproxyBinary, { lb, edge1: p1, edge2: p2 });
    running.haproxy = haproxy;
    phase('origin, edges and HAProxy started');
    // A protected origin: the edge's pull_headers carry the password; without them the origin's 401 reaches the edge's client as a 502, and /stat says why.
    const secret = await capture(edge2.url('/stream/secret'), { bytes: 40_000, ms: 8000 });
    assert.equal(secret.status, 200);
    assert.ok(await firstFrameIsKey(save(join(dir, 'secret.ts'), secret.body)), 'the protected stream, pulled with pull_headers, decodes');
    const refused = await getText(edge2.url('/stream/nopass'));
    assert.equal(refused.status, 502);
    assert.match(refused.text, /^VOYANDZ_ERR_STREAM_FAILED: stream nopass: its pull failed \(HTTP 401: VOYANDZ_ERR_AUTH_REQUIRED: /);
    const nopass = (await stat(edge2)).streams.find((s) => s.name === 'nopass');
    assert.match(nopass?.program?.stderrTail.join('\n') ?? '', /HTTP 401/, '/stat shows the pull\'s last error');
    assert.ok((nopass?.program?.pull?.ends.status ?? 0) >= 1, 'and counts it');
    phase('Basic auth through pull_headers checked');

    // 300 viewers through HAProxy: half MPEG-TS, half WebM.
    for (let i = 0; i < VIEWERS; i++) {
      const viewer = new Viewer(i % 2 === 0 ? 'ts' : 'webm', lb);
      viewers.push(viewer);
      viewer.open();
      if (i % 50 === 49) await sleep(100);
    }
    await waitFor(() => viewers.every((v) => (v.current?.firstLength ?? 0) >= 24_000) || undefined, 30_000, 200, 'every viewer to get its first bytes');
    phase('300 viewers connected');
    const onEdge = (name: string): Viewer[] => viewers.filter((v) => v.current?.servedBy === name);
    assert.deepEqual([onEdge('edge1').length, onEdge('edge2').length].map((n) => n >= 100), [true, true], 'round robin over both edges');
    const originStat = await stat(origin);
    for (const name of ['ts', 'webm']) {
      const row = originStat.streams.find((s) => s.name === name);
      assert.equal(row?.clients, 2, `the origin serves ${name} to exactly 2 pulls, one per edge, for ${VIEWERS / 2} viewers`);
      assert.ok(row.pid !== null, `the origin runs a program for ${name}`);
    }
    const programs = processTree([origin.process.pid ?? -1]).filter((pid) => /^ffmpeg .*comment=e2e-relay/.test(cmdline(pid)));
    assert.equal(programs.length, 2, 'the origin runs exactly one program per stream (ts, webm) for 300 viewers');
    const decodes = await decodeFromByte0(viewers, dir, 'first');
    phase(`every viewer decodes from byte 0 (${decodes} distinct starts probed)`);

    // kill -9 of edge1 (its primary and workers: a machine gone). Its viewers come back through HAProxy on edge2; edge2's lose nothing.
    const watched = onEdge('edge2').filter((v) => v.stream === 'ts').slice(0, 3);
    const direct = new Viewer('ts', originPort);
    viewers.push(direct);
    direct.open();
    await waitFor(() => (direct.current?.bytes ?? 0) > 20_000 || undefined, 10_000, 50, 'the direct origin viewer');
    // The direct viewer first: edge viewers are a relay hop behind it.
    direct.capture();
    await sleep(500);
    for (const v of watched) v.capture();
    const moved = onEdge('edge1');
    await sleep(1000);
    const killedAt = Date.now();
    for (const pid of processTree([edge1.process.pid ?? -1])) process.kill(pid, 'SIGKILL');
    const downAt = await haproxy.waitFor(/Server edges\/edge1 is DOWN/, 10_000);
    phase(`edge1 killed; HAProxy marked it down after ${downAt - killedAt} ms`);
    await waitFor(() => moved.every((v) => v.current?.servedBy === 'edge2' && v.current.firstLength >= 24_000) || undefined, 20_000, 200, 'edge1\'s viewers back on edge2');
    phase(`edge1's ${moved.length} viewers are on edge2`);
    const back = moved.map((v) => (v.current?.openedAt ?? 0) - killedAt).sort((a, b) => a - b);
    t.diagnostic(`reconnects of edge1's viewers: p50 ${back[Math.floor(back.length / 2)]} ms, slowest ${back.at(-1)} ms after the kill`);
    const slowest = moved.reduce((a, b) => ((a.current?.openedAt ?? 0) >= (b.current?.openedAt ?? 0) ? a : b));
    t.diagnostic(`the slowest: ${slowest.connections.map((c) => `[${c.openedAt - killedAt} ms ${c.status} ${c.servedBy} ${c.bytes} B closed ${c.closedAt === null ? '-' : c.closedAt - killedAt}]`).join(' ')}`);
    await decodeFromByte0(moved, dir, 'moved');
    await sleep(2000);
    const reference = Buffer.concat(direct.current?.captured ?? []);
    for (const v of watched) {
      const c = v.current as Connection;
      assert.equal(v.connections.length, 1, 'a viewer of the surviving edge was never closed');
      const got = Buffer.concat(c.captured ?? []);
      const probe = got.subarray(0, 4096);
      const at = reference.indexOf(probe);
      assert.ok(at >= 0, 'the edge viewer\'s bytes are in the direct origin viewer\'s');
      const span = Math.min(got.length, reference.length - at);
      assert.ok(span > got.length * 0.8, `the compared span covers the kill (${span} of ${got.length} bytes)`);
      assert.ok(got.subarray(0, span).equals(reference.subarray(at, at + span)), 'byte for byte what the origin sent, across the kill');
    }
    direct.stop();
    phase('edge2\'s viewers lost nothing across the kill');

    // The origin restarts (SIGTERM, then again on its port): edge2 reconnects within its back-off.
    const tsKept = onEdge('edge2').filter((v) => v.stream === 'ts').slice(0, 8);
    // WebM is judged on whole responses: fresh viewers, kept from byte 0.
    const webmKept = Array.from({ length: 4 }, () => new Viewer('webm', lb, Number.POSITIVE_INFINITY));
    for (const v of webmKept) {
      viewers.push(v);
      v.open();
    }
    await waitFor(() => webmKept.every((v) => (v.current?.bytes ?? 0) > 10_000) || undefined, 10_000, 100, 'fresh WebM viewers');
    for (const v of tsKept) v.capture();
    const connectionsBefore = new Map(viewers.map((v) => [v, v.connections.length]));
    const bytesBefore = new Map(tsKept.map((v) => [v, v.current?.bytes ?? 0]));
    await sleep(1000);
    const stoppingAt = Date.now();
    assert.equal(await origin.stop(), 0);
    const stoppedAt = Date.now();
    origin = await startServer(config, { port: originPort });
    running.origin = origin;
    const upAt = Date.now();
    await waitFor(() => tsKept.every((v) => (v.current?.bytes ?? 0) > (bytesBefore.get(v) ?? 0) + 30_000) || undefined, 20_000, 100, 'the MPEG-TS viewers get the stream again');
    const resumedAt = Date.now();
    phase(`origin down ${upAt - stoppedAt} ms; viewers had the stream again ${resumedAt - upAt} ms after it listened`);
    const retries = edge2.logs.filter((l) => l.code === 'VOYANDZ_ERR_PULL_FAILED' && (l.time as string) >= new Date(stoppingAt).toISOString());
    t.diagnostic(`edge2 pull failures logged while the origin was down: ${retries.map((l) => String(l.msg).replace(/^.*; /, '')).join(' | ')}`);
    assert.ok(resumedAt - upAt < 10_000, 'within the back-off (0.5 s doubling: at most 8 s for a few seconds down)');
    await sleep(2000);
    for (const [i, v] of tsKept.entries()) {
      assert.equal(v.connections.length, connectionsBefore.get(v), 'MPEG-TS viewers stay connected across an origin restart');
      const jumps = await discontinuities(save(join(dir, `restart-${i}.ts`), Buffer.concat(v.current?.captured ?? [])));
      assert.ok(jumps <= 1, `at most one discontinuity (${jumps})`);
      if (i === 0) t.diagnostic(`an MPEG-TS viewer across the origin restart: ${jumps} discontinuity`);
    }
    let stayed = 0;
    for (const [i, v] of webmKept.entries()) {
      const since = v.connections.slice((connectionsBefore.get(v) ?? 1) - 1);
      assert.deepEqual(since.map((c) => c.ebml), since.map(() => 1), 'each WebM response has one header, at its start, never a second');
      for (const [k, c] of since.entries()) {
        const file = save(join(dir, `restart-${i}-${k}.webm`), Buffer.concat(c.first));
        const report = await decodeReport(file);
        assert.equal(report.errors, '', `what a WebM viewer got across the restart decodes (${file})`);
        assert.ok(report.frames > 25, `${report.frames} frames`);
        if (since.length === 1) t.diagnostic(`WebM viewer ${i} stayed: ${report.frames} frames, ${await discontinuities(file)} time jump(s)`);
      }
      if (since.length === 1) stayed++;
    }
    t.diagnostic(`${stayed} of ${webmKept.length} WebM viewers stayed (same header: bitexact), the others were closed and came back`);
    phase('origin restart checked');

    // The viewers leave: edge2 stops pulling webm (on-demand) with its last viewer, ts after its linger (mode: 2); the origin loses both pulls.
    const leftFrom = new Date().toISOString();
    for (const v of viewers) v.stop();
    await waitFor(async () => ((await clientsOf(origin, 'ts')) === 0 && (await clientsOf(origin, 'webm')) === 0) || undefined, 15_000, 200, 'the origin to lose edge2\'s pulls');
    const at = (line: LogLine): number => Date.parse(String(line.time));
    const after = edge2.logs.filter((l) => String(l.time) >= leftFrom);
    for (const [name, linger] of [['webm', 0], ['ts', 2000]] as const) {
      const lastViewer = Math.max(...after.filter((l) => l.msg === 'connection closed' && l.stream === name).map(at));
      const stopped = after.find((l) => l.msg === `stream ${name}: pull stopped`);
      assert.ok(stopped, `edge2 stopped pulling ${name}`);
      const waited = at(stopped) - lastViewer;
      t.diagnostic(`${name}: pull stopped ${waited} ms after its last viewer left edge2`);
      if (linger === 0) assert.ok(waited < 1000, `on-demand: the pull stops with the last viewer (${waited} ms)`);
      else assert.ok(waited >= linger - 100 && waited < linger + 1500, `mode: 2 lingers 2 s, then the pull stops (${waited} ms)`);
    }
    phase('pulls stopped with their viewers, per mode');
  } finally {
    for (const v of viewers) v.stop();
    await running.haproxy?.stop();
    await Promise.all([...running.edges, ...(running.origin ? [running.origin] : [])].map((server) => server.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
});
