/**
 * Renders the default bench (ceiling-bench.ts) as load-tests/RESULTS.md:
 * every voyandz figure next to the C ceiling's of the same run, as a ratio,
 * and the issue's targets judged on what was measured.
 */
import type { CompareResults, Contender, FanoutRow, LatencyCompareRow } from './ceiling-bench.js';
import type { ProfileRow } from './profile-run.js';

export interface CompareReport {
  date: string;
  minutes: number;
  machine: string[];
  settings: { rampSeconds: number; settleSeconds: number; windowSeconds: number; repeat: number; mediaKbps: number };
  /** The fan-out writer voyandz's workers chose (native-writer.ts), and where from or why not. */
  writer: string;
  results: CompareResults | null;
  notes: string[];
}

const f = (x: number | null | undefined, digits = 2): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits));
const ratio = (x: number | null | undefined, ref: number | null | undefined): string =>
  x === null || x === undefined || ref === null || ref === undefined || !(ref > 0) || !Number.isFinite(x) ? '–' : `${(x / ref).toFixed(2)}×`;
const WRITER_NAMES: Record<ProfileRow['writer'], string> = { io_uring: 'native writer, io_uring', send: 'native writer, send()', js: 'JS writer' };

const NAMES: Record<Contender, string> = {
  ceiling: 'C ceiling',
  'voyandz-1': 'voyandz, 1 worker thread',
  'voyandz-2': 'voyandz, 2 worker threads',
  'voyandz-2-spread': 'voyandz, 2 worker threads, spill_load 0',
  'voyandz-1-process': 'voyandz, 1 worker process',
  'voyandz-2-process': 'voyandz, 2 worker processes',
  'voyandz-1-js': 'voyandz, 1 worker thread, JS writer',
  'voyandz-2-js': 'voyandz, 2 worker threads, JS writer',
  'voyandz-1-send': 'voyandz, 1 worker thread, native send()',
};

function ceilingOf(rows: readonly FanoutRow[], r: FanoutRow): FanoutRow | undefined {
  return rows.find((c) => c.contender === 'ceiling' && c.clients === r.clients && c.kind === r.kind && c.repeat === r.repeat);
}

function fanoutTables(rows: readonly FanoutRow[]): string[] {
  const steady = rows.filter((r) => r.kind === 'steady');
  const storm = rows.filter((r) => r.kind === 'storm');
  const out = [
    '## Steady fan-out (window after the ramp)',
    '',
    '| server | N | repeat | held | lagging | lagging after 1st byte | failed | Gbit/s | CPU s/GB | × ceiling | server CPU % | of which primary % | TTFB p99 ms | RSS MB |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...steady.map(
      (r) =>
        `| ${NAMES[r.contender]} | ${r.clients} | ${r.repeat} | ${r.held} | ${r.lagging} | ${r.laggingAfterFirstByte} | ${r.failed} | ${f(r.steadyGbps)} | ${f(r.steadyCpuPerGB, 3)} | ` +
        `${r.contender === 'ceiling' ? '1' : ratio(r.steadyCpuPerGB, ceilingOf(rows, r)?.steadyCpuPerGB)} | ${f(r.steadyCpuPercent, 0)} | ${f(r.steadyPrimaryCpuPercent, 1)} | ${f(r.ttfbP99Ms, 0)} | ${f(r.rssMB, 0)} |`,
    ),
    '',
    '"lagging" judges a client\'s rate over its whole life, connect to end, so a first byte seconds late makes it lag; "after 1st byte" counts from',
    'its first byte: a client in the first column but not the second was slow to be served, then kept the rate.',
    '',
    '## Ramp (connect storm)',
    '',
    'CPU of the whole server from the first connect to 1 s after the last; for voyandz, the primary\'s share less its idle rate, per connection.',
    '',
    '| server | N | opened over | ramp CPU s | × ceiling | primary ms per connection | TTFB p50 ms | TTFB p99 ms | TTFB p99 × ceiling |',
    '|---|---|---|---|---|---|---|---|---|',
    ...[...steady, ...storm].map((r) => {
      const c = ceilingOf(rows, r);
      return (
        `| ${NAMES[r.contender]} | ${r.clients} | ${r.kind === 'storm' ? '1 s' : 'ramp'} | ${f(r.rampCpuSeconds)} | ${r.contender === 'ceiling' ? '1' : ratio(r.rampCpuSeconds, c?.rampCpuSeconds)} | ` +
        `${f(r.primaryMsPerConnection, 3)} | ${f(r.ttfbP50Ms, 0)} | ${f(r.ttfbP99Ms, 0)} | ${r.contender === 'ceiling' ? '1' : ratio(r.ttfbP99Ms, c?.ttfbP99Ms)} |`
      );
    }),
    '',
  ];
  return out;
}

function latencyTable(rows: readonly LatencyCompareRow[]): string[] {
  const counts = [...new Set(rows.map((r) => r.clients))];
  const rounds = [...new Set(rows.map((r) => r.round))];
  return [
    '## Added latency (feed write → client read, time-stamped 2 Mbit/s records, Node load client)',
    '',
    `Both servers up side by side; each N is measured ${rounds.length} times on each, alternating (ceiling, voyandz, ceiling, …).`,
    '',
    '| N | round | ceiling p50 ms | ceiling p99 ms | voyandz ×1 p50 ms | voyandz ×1 p99 ms | p99 × ceiling | lagging (ceiling / voyandz) |',
    '|---|---|---|---|---|---|---|---|',
    ...counts.flatMap((n) =>
      rounds.map((round) => {
        const c = rows.find((r) => r.clients === n && r.round === round && r.contender === 'ceiling');
        const v = rows.find((r) => r.clients === n && r.round === round && r.contender !== 'ceiling');
        return `| ${n} | ${round} | ${f(c?.p50Ms)} | ${f(c?.p99Ms)} | ${f(v?.p50Ms)} | ${f(v?.p99Ms)} | ${ratio(v?.p99Ms, c?.p99Ms)} | ${c?.lagging ?? '–'} / ${v?.lagging ?? '–'} |`;
      }),
    ),
    '',
  ];
}

/** Median of a field over the repeats of one contender and size. */
function med<T>(rows: readonly T[], pick: (r: T) => number): number {
  const v = rows.map(pick).filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  return v.length % 2 ? v[v.length >> 1] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}

/** RSS growth per 1000 clients between the smallest and largest steady rows of one contender (median over repeats). */
function memoryPerThousand(rows: readonly FanoutRow[]): { mb: number; from: number; to: number } | null {
  const sizes = [...new Set(rows.map((r) => r.clients))].sort((a, b) => a - b);
  if (sizes.length < 2) return null;
  const [from, to] = [sizes[0], sizes[sizes.length - 1]];
  const perRepeat = [...new Set(rows.map((r) => r.repeat))].flatMap((repeat) => {
    const a = rows.find((r) => r.repeat === repeat && r.clients === from);
    const b = rows.find((r) => r.repeat === repeat && r.clients === to);
    return a && b ? [((b.rssMB - a.rssMB) / (to - from)) * 1000] : [];
  });
  if (perRepeat.length === 0) return null;
  return { mb: med(perRepeat, (x) => x), from, to };
}

/** The servers whose rows are judged against the targets: as shipped (threads), spread from the first client, then with worker processes. */
const VOYANDZ_AS_JUDGED = ['voyandz-1', 'voyandz-2', 'voyandz-2-spread', 'voyandz-1-process', 'voyandz-2-process'] as const;

function targets(res: CompareResults): string[] {
  const out: string[] = ['## Targets of issue #14, judged on this run', ''];
  const line = (what: string, value: string, met: boolean | null): void => {
    out.push(`- ${what}: ${value} — ${met === null ? 'not measured' : met ? '**met**' : '**not met**'}`);
  };
  const steady = res.fanout.filter((r) => r.kind === 'steady');
  for (const n of [...new Set(steady.map((r) => r.clients))]) {
    for (const kind of VOYANDZ_AS_JUDGED) {
      const mine = steady.filter((r) => r.clients === n && r.contender === kind);
      if (mine.length === 0) continue;
      const ratios = mine.map((r) => r.steadyCpuPerGB / (ceilingOf(res.fanout, r)?.steadyCpuPerGB ?? Number.NaN));
      const m = med(mine, (r) => r.steadyCpuPerGB / (ceilingOf(res.fanout, r)?.steadyCpuPerGB ?? Number.NaN));
      line(`CPU per GB ≤ 1.2 × ceiling, ${NAMES[kind]}, N=${n}`, `${f(m)}× (runs: ${ratios.map((x) => f(x)).join(', ')})`, Number.isFinite(m) ? m <= 1.2 : null);
      const ceil = steady.filter((r) => r.clients === n && r.contender === 'ceiling');
      if (n >= 6000) line(`${n} clients with 0 lagging where the ceiling holds them, ${NAMES[kind]}`, `lagging ${mine.map((r) => r.lagging).join(', ')} (ceiling: ${ceil.map((r) => r.lagging).join(', ')})`, mine.every((r) => r.lagging === 0 && r.failed === 0));
    }
  }
  for (const n of [...new Set(res.latency.map((r) => r.clients))]) {
    const p99 = (ceiling: boolean): number =>
      med(res.latency.filter((r) => r.clients === n && (r.contender === 'ceiling') === ceiling), (r) => r.p99Ms ?? Number.NaN);
    const [v, c] = [p99(false), p99(true)];
    const x = v / c;
    line(`added latency p99 ≤ 1.2 × ceiling, N=${n}`, `${f(x)}× (median p99 over the rounds: ${f(v)} vs ${f(c)} ms)`, Number.isFinite(x) ? x <= 1.2 : null);
  }
  const storm = res.fanout.filter((r) => r.kind === 'storm' && r.contender !== 'ceiling');
  if (storm.length > 0) {
    const ms = med(storm, (r) => r.primaryMsPerConnection ?? Number.NaN);
    line(`hand-off ≤ 0.3 ms of primary CPU per connection (${storm[0].clients} in 1 s)`, `${f(ms, 3)} ms`, Number.isFinite(ms) ? ms <= 0.3 : null);
    const p99 = med(storm, (r) => r.ttfbP99Ms);
    const ceil = med(res.fanout.filter((r) => r.kind === 'storm' && r.contender === 'ceiling'), (r) => r.ttfbP99Ms);
    // The ceiling answers at the live edge, so it waits for the source's next 32 KiB write (~130 ms at 2 Mbit/s); a voyandz joiner gets
    // the ring's latest keyframe at once, so what it waits for is the hand-off.
    line(`connect storm: first byte within 100 ms p99`, `${f(p99, 0)} ms (ceiling ${f(ceil, 0)} ms, which waits for the source's next write)`, p99 <= 100);
  }
  for (const kind of VOYANDZ_AS_JUDGED) {
    const perK = memoryPerThousand(steady.filter((r) => r.contender === kind));
    if (perK !== null) line(`≤ 20 MB RSS per 1000 clients, ${NAMES[kind]}`, `${f(perK.mb, 1)} MB (RSS from ${perK.from} to ${perK.to} clients, median over repeats)`, perK.mb <= 20);
  }
  const [readersOnly, withStalled] = [res.slow.find((r) => r.stalled === 0), res.slow.find((r) => r.stalled > 0)];
  if (readersOnly && withStalled) {
    const growth = withStalled.rssMB.peak / readersOnly.rssMB.peak;
    line(
      'memory flat under slow readers',
      `peak RSS ${f(withStalled.rssMB.peak, 0)} MB with ${withStalled.stalled} of ${withStalled.stalled + withStalled.readers} clients stalled vs ${f(readersOnly.rssMB.peak, 0)} MB with all reading (${f(growth)}×; ${withStalled.dropped} stalled dropped)`,
      growth <= 1.1,
    );
  }
  // /proc counts CPU in 10 ms ticks: over a 20 s window the resolution is 0.05 % of a core.
  if (res.idleThread) {
    line('idle primary < 0.5 % of a core, worker threads (the default; the main thread)', `${f(res.idleThread.primaryCpuPercent)} % (resolution 0.05 %)`, res.idleThread.primaryCpuPercent < 0.5);
    line('idle RSS of the whole server with 2 workers ≤ 120 MB, worker threads (the default)', `${f(res.idleThread.rssMB, 0)} MB RSS of the one process (PSS ${f(res.idleThread.pssMB, 0)} MB)`, res.idleThread.rssMB <= 120);
  }
  if (res.idle) {
    line('idle primary < 0.5 % of a core, worker processes', `${f(res.idle.primaryCpuPercent)} % (resolution 0.05 %)`, res.idle.primaryCpuPercent < 0.5);
    line('idle RSS of the whole server with 2 workers ≤ 120 MB, worker processes (`worker_mode: process`)', `${f(res.idle.rssMB, 0)} MB RSS summed over 3 processes (PSS ${f(res.idle.pssMB, 0)} MB)`, res.idle.rssMB <= 120);
  }
  out.push('');
  return out;
}

export function renderCompare(rep: CompareReport): string {
  const s = rep.settings;
  const lines: string[] = [
    '# voyandz load benchmark results',
    '',
    `Written by \`npm run bench\` on ${rep.date} (${rep.minutes.toFixed(1)} min).`,
    '',
    '> Every voyandz figure here is compared with the C ceiling (`../shared/bench/fanout_ref.c`) **measured in the same run**,',
    '> with the same source and the same load client: read the ratios, not the absolute numbers, which move with whatever else',
    '> the machine runs. Nothing gates CI on them.',
    '',
    '## Machine',
    '',
    ...rep.machine,
  ];
  if (rep.results) lines.push(`- load average (1, 5, 15 min) before: ${rep.results.loadavg.before.join(', ')}; after: ${rep.results.loadavg.after.join(', ')} (2 cores: above 2 means other jobs were competing)`);
  lines.push(
    '',
    '## Method',
    '',
    `- Source: a ${s.mediaKbps} kbit/s CBR MPEG-TS file looped by \`ffmpeg -re -stream_loop -1 -i FILE -c copy -f mpegts -\`: voyandz runs it as a shared`,
    "  stream's program, the ceiling reads it on stdin (`ffmpeg … | fanout_ref PORT`). The source's CPU is counted for neither.",
    '- Load: `streamload` (`../shared/bench/streamload.c`, epoll, body bytes discarded in the kernel) for the fan-out rows;',
    `  clients open evenly over ${s.rampSeconds} s, then ${s.settleSeconds} s settle, then a ${s.windowSeconds} s steady window. Each row is one run; \`--repeat\` runs`,
    `  the whole set again (servers restarted) to show the spread (${s.repeat} here).`,
    '- CPU: user + system of every server process (voyandz: primary and workers) from `/proc/PID/stat`, over the window;',
    '  s/GB = that ÷ bytes delivered in the same window: the sum of `bytes_acked` over the server port\'s established TCP sockets (`ss -ti`),',
    '  read at both edges (the same count for both servers; a voyandz joiner\'s catch-up burst from the latest keyframe falls where it happens).',
    '- lagging = a client whose rate over its life is below 90 % of the stream\'s; held = connected, not closed early, not lagging.',
    `- voyandz's fan-out writer: ${rep.writer}. Rows marked "JS writer" ran the same server with \`VOYANDZ_NATIVE_WRITER=0\` (every write through \`socket.write()\`), "native send()" with \`VOYANDZ_NATIVE_WRITER=send\` (no io_uring).`,
    '',
  );
  if (rep.results) {
    const r = rep.results;
    const idleRows = [r.idle, r.idleThread].filter((row) => row !== null && row !== undefined);
    if (idleRows.length > 0) {
      lines.push('## Idle (voyandz, 2 workers, no client, 20 s after a 40 s start-up)', '');
      for (const row of idleRows) {
        lines.push(
          `- ${row.mode === 'thread' ? 'worker threads' : 'worker processes'}: primary CPU ${f(row.primaryCpuPercent)} % of a core; whole server ${f(row.treeCpuPercent)} %; ` +
            `RSS of the whole server ${f(row.rssMB, 0)} MB (${row.perProcessMB.map((p) => `${p.name} ${f(p.mb, 0)}`).join(', ')}); ` +
            `PSS ${f(row.pssMB, 0)} MB (${row.perProcessMB.map((p) => `${p.name} ${f(p.pssMB, 0)}`).join(', ')})`,
        );
      }
      lines.push(
        '- RSS counts the node binary\'s resident text (~43 MB, shared) once per process; PSS splits it between them. A bare `node -e` is ~41 MB RSS here.',
        '  With `worker_mode: thread` the workers are threads of the primary\'s process: one binary, one RSS.',
        '',
      );
    }
    lines.push(...fanoutTables(r.fanout));
    if (r.latency.length > 0) lines.push(...latencyTable(r.latency));
    if (r.many.length > 0) {
      const c = r.many.find((m) => m.contender === 'ceiling');
      lines.push(
        `## Many streams (${r.many[0].streams} shared streams × ${r.many[0].clientsPerStream} clients, a looping file per stream with -c copy, Node load client)`,
        '',
        'Ceiling: one fanout_ref process per stream. voyandz: one server, 2 worker threads, one shared stream per file.',
        '',
        '| server | held | lagging | closed early | refused | Gbit/s | CPU s/GB | × ceiling | CPU % | CPU % per stream | RSS MB | RSS per stream MB | /stat.json p50 / p99 ms | /metrics p50 / p99 ms |',
        '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
        ...r.many.map(
          (m) =>
            `| ${NAMES[m.contender]} | ${m.held} | ${m.lagging ?? '–'} | ${m.disconnectedEarly} | ${m.refused} | ${f(m.gbps)} | ${f(m.cpuPerGB, 3)} | ${m.contender === 'ceiling' ? '1' : ratio(m.cpuPerGB, c?.cpuPerGB)} | ${f(m.cpuPercent, 0)} | ` +
            `${f(m.cpuPercentPerStream)} | ${f(m.rssMB, 0)} | ${f(m.rssPerStreamMB)} | ${m.statJsonMs ? `${f(m.statJsonMs.p50, 1)} / ${f(m.statJsonMs.p99, 1)}` : '–'} | ${m.metricsMs ? `${f(m.metricsMs.p50, 1)} / ${f(m.metricsMs.p99, 1)}` : '–'} |`,
        ),
        '',
        "RSS per stream: voyandz's RSS under this load less its idle RSS, ÷ streams (so it also holds the clients' buffers); ceiling: each process's RSS.",
        `voyandz starts a stream's program on its first client: one keeper client per stream is opened first and the load starts once every stream flows (${f(r.many.find((m) => m.contender !== 'ceiling')?.startAllMs, 0)} ms for all ${r.many[0].streams} programs to deliver a first byte); the ceiling's sources run before it is loaded. Keepers' bytes count as delivered.`,
        ...r.many
          .filter((m) => (m.streamsNeverFlowing ?? 0) > 0)
          .map(
            (m) =>
              `**${m.streamsNeverFlowing} of ${m.streams} voyandz streams never delivered a byte to their keeper within 60 s** (load started anyway; their clients count as lagging or refused); ` +
              `hand-offs no worker acknowledged within 10 s (\`voyandz_handoffs_lost_total\`): ${m.handoffsLost ?? '–'}.`,
          ),
        '',
      );
    }
    if (r.slow.length > 0) {
      lines.push(
        '## Slow readers (voyandz 1 worker thread, 1000 clients, max_lag 3 s, Node load client)',
        '',
        'A stalled client reads its first bytes and then nothing: the kernel buffers between it and the server fill, then it is dropped after max_lag.',
        'Each row is a fresh server; RSS of the whole server (not its feed program), sampled every second.',
        '',
        '| stalled | reading | stalled dropped | readers lagging | RSS before MB | RSS peak MB | RSS end MB |',
        '|---|---|---|---|---|---|---|',
        ...r.slow.map((x) => `| ${x.stalled} | ${x.readers} | ${x.dropped} | ${x.readersLagging ?? '–'} | ${x.rssMB.before} | ${x.rssMB.peak} | ${x.rssMB.end} |`),
        '',
      );
    }
    lines.push(...targets(r));
    for (const p of r.profiles) {
      lines.push(
        `## Where a worker's CPU goes (voyandz 1 worker process, ${WRITER_NAMES[p.writer]}, ${p.clients} clients, \`node --cpu-prof\`)`,
        '',
        ...(p.writer === 'io_uring'
          ? [
              "V8's sampler takes one sample when a system call returns, however long it ran: the time inside each batch's io_uring_enter (the",
              'sends) is under-counted here, and so is "busy". The CPU of these runs is in the fan-out rows above; read this table for what',
              'else the worker does.',
              '',
            ]
          : []),
        `${p.samples} samples over the ${p.seconds.toFixed(0)} s steady window (as in the fan-out rows), ${p.busyPercent} % busy. ` +
          `Socket writes (the native writer's \`send\`, Node's \`writeBuffer\`, \`writev\`): **${p.socketWritePercent} %** of busy time; voyandz's own JavaScript: **${p.ownCodePercent} %**. Self time, % of busy samples:`,
        '',
        '| % | function | where |',
        '|---|---|---|',
        ...p.top.map((e) => `| ${e.percent} | \`${e.fn}\` | ${e.where || '(native / VM)'} |`),
        '',
      );
    }
  }
  if (rep.notes.length > 0) lines.push('## Notes', '', ...rep.notes.map((n) => `- ${n}`), '');
  return `${lines.join('\n')}\n`;
}
