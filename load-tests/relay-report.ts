/**
 * The relay bench's section of load-tests/RESULTS.md. RESULTS.md is the
 * default bench's file, rewritten whole by it; this section lives between
 * two markers that both benches keep: `--relay` replaces only what is
 * between them, and the default bench carries them over unchanged.
 */
import type { RelayResults } from './relay-bench.js';

const START = '<!-- relay: written by `npm run bench -- --relay`; the default bench keeps it -->';
const END = '<!-- relay: end -->';

const f = (x: number | null | undefined, digits = 2): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits));

export function renderRelaySection(r: RelayResults, machine: string[]): string {
  const edgeRows = r.runs.flatMap((run) =>
    run.edges.map((e) => {
      const ratio = run.ceiling && run.ceiling.cpuPerGB > 0 ? `${(e.cpuPerGB / run.ceiling.cpuPerGB).toFixed(2)}×` : '–';
      return (
        `| ${run.repeat} | ${e.edge} | ${e.clients} | ${e.held} | ${e.lagging} | ${e.laggingAfterFirstByte} | ${e.failed} | ${f(e.gbps)} | ${f(e.cpuPerGB, 3)} | ${ratio} | ` +
        `${f(e.cpuPercent, 0)} | ${f(e.viewersPerCore, 0)} | ${f(e.ttfbP99Ms, 0)} | ${f(e.rssMB, 0)} |`
      );
    }),
  );
  const origin = r.runs.map((run) => `${f(run.originCpuPercent, 1)} %`).join(', ');
  const ceiling = r.runs.map((run) => (run.ceiling ? `${f(run.ceiling.cpuPerGB, 3)} s/GB (${run.ceiling.clients} clients, held ${run.ceiling.held})` : '–')).join('; ');
  const rounds = [...new Set(r.latency.map((l) => l.round))];
  const added = rounds.map((round) => {
    const edge = r.latency.find((l) => l.round === round && l.where === 'edge')?.p99Ms;
    const direct = r.latency.find((l) => l.round === round && l.where === 'origin')?.p99Ms;
    return edge === null || edge === undefined || direct === null || direct === undefined ? null : edge - direct;
  });
  const known = added.filter((x): x is number => x !== null).sort((a, b) => a - b);
  const median = known.length === 0 ? null : (known[Math.floor((known.length - 1) / 2)] ?? null);
  const clients = r.latency[0]?.clients ?? 0;
  const lines = [
    START,
    '## Relay: an origin and two edges (`npm run bench -- --relay`)',
    '',
    `${r.date.slice(0, 10)}, ${f(r.minutes, 1)} min, one run. Load average ${r.loadavg.before.map((x) => f(x)).join(' ')} before, ` +
      `${r.loadavg.after.map((x) => f(x)).join(' ')} after: the machine is shared with other jobs, and the origin, both edges and the load clients all ran on it.`,
    '',
    ...machine,
    '',
    `An origin (1 worker) runs a ${r.mediaKbps} kbit/s MPEG-TS stream (a looped file, \`-c copy\`); two edges (1 worker each) pull it`,
    `(\`pull:\`, one pull each); ${r.clients} clients of the C load client, half on each edge, ${r.windowSeconds} s window after a 2 s ramp and`,
    '3 s settle. CPU per GB: the edge\'s primary and worker (from /proc) over the bytes the kernel acknowledged on its port; "viewers per',
    'core": the edge\'s clients ÷ the cores it used, at this bitrate. The C ceiling (fanout_ref) served one edge\'s share of the clients from',
    'the same file in the same run.',
    '',
    '| run | edge | N | held | lagging | lagging after 1st byte | failed | Gbit/s | CPU s/GB | × ceiling | CPU % | viewers per core | TTFB p99 ms | RSS MB |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...edgeRows,
    '',
    `The origin meanwhile (its programs left out): ${origin} of a core for the two pulls. The ceiling: ${ceiling}.`,
    '',
    `Added latency through one relay hop: latency-feed's records (${LAT_NOTE}) read by ${clients} clients on an edge and ${clients} on the`,
    'origin directly at the same time (each set by a Node load client in a process of its own), no other load, in rounds:',
    '',
    '| round | read from | clients | p50 ms | p99 ms | samples | lagging |',
    '|---|---|---|---|---|---|---|',
    ...r.latency.map((l) => `| ${l.round} | ${l.where === 'edge' ? 'an edge (one hop)' : 'the origin'} | ${l.clients} | ${f(l.p50Ms, 1)} | ${f(l.p99Ms, 1)} | ${l.samples} | ${l.lagging ?? '–'} |`),
    '',
    `Added by the hop at p99 (edge − origin, per round): ${added.map((a) => (a === null ? '–' : `${f(a, 1)} ms`)).join(', ')}; median ${median === null ? '–' : `${f(median, 1)} ms`}.`,
    END,
  ];
  return lines.join('\n');
}

const LAT_NOTE = '50 a second, 2 Mbit/s, each stamped with the monotonic clock when written';

/** `text` with the relay section replaced (or appended when it has none). */
export function withRelaySection(text: string, section: string): string {
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start < 0 || end < start) return `${text.trimEnd()}\n\n${section}\n`;
  return `${text.slice(0, start)}${section}${text.slice(end + END.length)}`;
}

/** The relay section of an existing RESULTS.md, for the default bench to carry over; null when there is none. */
export function relaySectionOf(text: string): string | null {
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  return start < 0 || end < start ? null : text.slice(start, end + END.length);
}
