/**
 * Soak: a long run under churn and faults, to find what grows. 500 clients
 * of a live 2 Mbit/s MPEG-TS stream on 2 workers; every minute 10 % of them
 * reconnect; every 2 minutes the feed's or the stream's program is killed.
 * Samples RSS and descriptor count of every server process each 10 s,
 * reports their slope per hour, and compares every counter's final value
 * with what the clients saw. Loopback only; bounded in clients and time.
 *
 *   npm run bench -- --soak 30   (or: node dist/load-tests/soak.js --minutes 30 [--clients 500] [--out load-tests/SOAK.md])
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loopArgs, makeMedia } from './media.js';
import { openNetClient, type ClientCounters } from './net-client.js';
import { processTree } from './proc.js';
import { startVoyandz } from './servers.js';

const LIMITS = { clients: 5000, minutes: 240 };
const SAMPLE_S = 10;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Sample {
  atS: number;
  /** pid → [rss bytes, open descriptors] */
  perPid: Map<number, [number, number]>;
}

function rssOf(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function fdsOf(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'latin1').trim();
  } catch {
    return '?';
  }
}

/** Least-squares slope of y over x (x in seconds), per hour. */
function slopePerHour(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : (sxy / sxx) * 3600;
}

async function json<T>(url: string): Promise<T> {
  const response = await fetch(url);
  return (await response.json()) as T;
}

function counterValues(text: string): Map<string, number> {
  const counters = new Set([...text.matchAll(/^# TYPE (\S+) counter$/gm)].map((m) => m[1]));
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(\{.*\})?\s+(\S+)/.exec(line);
    if (match && counters.has(match[1]) && match[1].startsWith('voyandz_')) {
      values.set(`${match[1]}${match.at(2) ?? ''}`, Number(match[3]));
    }
  }
  return values;
}

export async function runSoak(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      minutes: { type: 'string', default: '30' },
      clients: { type: 'string', default: '500' },
      out: { type: 'string', default: 'load-tests/SOAK.md' },
    },
  });
  const minutes = Math.min(LIMITS.minutes, Number(values.minutes));
  const clients = Math.min(LIMITS.clients, Number(values.clients));
  const dir = mkdtempSync(join(tmpdir(), 'voyandz-soak-'));
  const media = makeMedia(dir);
  const feed = loopArgs(media, true, ['-f', 'mpegts', '-']).join(' ');
  const server = await startVoyandz({
    dir,
    workers: 2,
    readyPath: '/stat.json',
    body: `feeds:\n  cam:\n    command: ${feed}\n    mode: continuous\nstreams:\n  ts:\n    feed: cam\n    command: ffmpeg -hide_banner -loglevel error -nostdin -i - -c copy -f mpegts -\n    mimetype: video/mp2t\n`,
  });
  const url = server.url('/stream/ts');
  const live: ClientCounters[] = [];
  const retired: ClientCounters[] = [];
  const samples: Sample[] = [];
  const events: string[] = [];
  let kills = 0;
  const started = Date.now();
  const elapsedS = (): number => (Date.now() - started) / 1000;
  try {
    for (let i = 0; i < clients; i++) {
      live.push(openNetClient(url, null));
      if (i % 50 === 49) await sleep(100);
    }
    let nextChurn = 60;
    let nextKill = 120;
    const firstMetrics = counterValues(await (await fetch(server.url('/metrics'))).text());
    while (elapsedS() < minutes * 60) {
      await sleep(SAMPLE_S * 1000);
      const perPid = new Map<number, [number, number]>();
      for (const pid of processTree([server.pid])) {
        if (commOf(pid) === 'node' || commOf(pid).startsWith('voyandz')) perPid.set(pid, [rssOf(pid), fdsOf(pid)]);
      }
      samples.push({ atS: elapsedS(), perPid });
      if (elapsedS() >= nextChurn) {
        nextChurn += 60;
        // 10 % of the viewers leave and come back; those the server closed come back too.
        const leaving = live.filter((c, i) => c.closedAt !== null || i % 10 === Math.floor(nextChurn / 60) % 10);
        for (const c of leaving) {
          c.close();
          retired.push(c);
          live.splice(live.indexOf(c), 1, openNetClient(url, null));
        }
        events.push(`${Math.round(elapsedS())} s: ${leaving.length} clients reconnected`);
      }
      if (elapsedS() >= nextKill) {
        nextKill += 120;
        const stat = await json<{ feeds: { pid: number | null }[]; streams: { pid: number | null }[] }>(server.url('/stat.json'));
        const victim = kills % 2 === 0 ? stat.feeds[0]?.pid : stat.streams[0]?.pid;
        if (victim) {
          process.kill(victim, 'SIGKILL');
          kills++;
          events.push(`${Math.round(elapsedS())} s: killed the ${kills % 2 === 1 ? 'feed' : 'stream'} program (${victim})`);
        }
      }
    }
    await sleep(3000);
    const metricsText = await (await fetch(server.url('/metrics'))).text();
    const final = counterValues(metricsText);
    const stat = await json<{ streams: { name: string; clients: number }[] }>(server.url('/stat.json'));
    const seenBytes = [...live, ...retired].reduce((sum, c) => sum + c.bytes, 0);
    const openNow = live.filter((c) => c.closedAt === null).length;
    const serverClosed = [...live, ...retired].filter((c) => c.closedAt !== null).length;
    writeFileSync(values.out, report({ minutes, clients, samples, events, final, firstMetrics, seenBytes, openNow, serverClosed, statClients: stat.streams[0]?.clients ?? -1 }));
    process.stdout.write(`soak: wrote ${values.out}\n`);
  } finally {
    for (const c of live) c.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface ReportInput {
  minutes: number;
  clients: number;
  samples: Sample[];
  events: string[];
  final: Map<string, number>;
  firstMetrics: Map<string, number>;
  seenBytes: number;
  openNow: number;
  serverClosed: number;
  statClients: number;
}

function report(r: ReportInput): string {
  const pids = [...new Set(r.samples.flatMap((s) => [...s.perPid.keys()]))];
  // The first minute is the ramp (heaps grow to their working size): slopes start after it.
  const steady = r.samples.filter((s) => s.atS >= 60);
  const rows = pids.map((pid) => {
    const rss: [number, number][] = steady.flatMap((s) => (s.perPid.has(pid) ? [[s.atS, (s.perPid.get(pid) ?? [0, 0])[0] / 2 ** 20] as [number, number]] : []));
    const fds: [number, number][] = steady.flatMap((s) => (s.perPid.has(pid) ? [[s.atS, (s.perPid.get(pid) ?? [0, 0])[1]] as [number, number]] : []));
    const first = rss[0]?.[1] ?? Number.NaN;
    const last = rss.at(-1)?.[1] ?? Number.NaN;
    return `| ${pid} | ${rss.length * SAMPLE_S} s | ${first.toFixed(1)} → ${last.toFixed(1)} MB | ${slopePerHour(rss).toFixed(2)} MB/h | ${fds[0]?.[1] ?? '?'} → ${fds.at(-1)?.[1] ?? '?'} | ${slopePerHour(fds).toFixed(2)} /h |`;
  });
  const sent = [...r.final].filter(([k]) => k.startsWith('voyandz_stream_sent_bytes_total')).reduce((s, [, v]) => s + v, 0);
  const counters = [...r.final].map(([k, v]) => `| \`${k}\` | ${r.firstMetrics.get(k) ?? 0} | ${v} |`);
  return [
    `# Soak: ${r.minutes} min, ${r.clients} clients, 2 workers`,
    '',
    `Date: ${new Date().toISOString()}. Live 2 Mbit/s MPEG-TS (a looping file, -c copy), ${r.clients} clients (net engine);`,
    'every minute 10 % of them reconnect; every 2 minutes the feed or the stream program is killed (alternately).',
    'Only the server\'s node processes (primary, workers) are sampled; slopes from minute 1 on (least squares).',
    '',
    '| pid | sampled | RSS | RSS slope | descriptors | descriptor slope |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    `Clients: ${r.openNow} open at the end; /stat.json counts ${r.statClients}. Connections the server closed: ${r.serverClosed}.`,
    `Bytes the clients received: ${r.seenBytes}; voyandz_stream_sent_bytes_total: ${sent} (ratio ${(sent / r.seenBytes).toFixed(4)}; the clients are read a moment after the last scrape).`,
    '',
    '| counter | at start | at the end |',
    '|---|---|---|',
    ...counters,
    '',
    'Events:',
    '',
    ...r.events.map((e) => `- ${e}`),
    '',
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runSoak(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`soak: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
