/**
 * Reads a V8 .cpuprofile (what `node --cpu-prof` writes) and lists where
 * the samples fell: self time per function, and the share of (program),
 * (garbage collector) and (idle), for RESULTS.md.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  /** µs of CLOCK_MONOTONIC, the clock of process.hrtime() in any process of the machine. */
  startTime: number;
  endTime: number;
  /** Node id of each sample, and the µs since the previous one. */
  samples?: number[];
  timeDeltas?: number[];
}

/** A span of CLOCK_MONOTONIC in µs (process.hrtime.bigint() / 1000n in the measuring process). */
export interface ProfileWindow {
  fromUs: number;
  toUs: number;
}

/** Hits per node id: all of them, or only the samples taken inside `window`. */
function hitsOf(profile: CpuProfile, window: ProfileWindow | undefined): Map<number, number> {
  const hits = new Map<number, number>();
  if (window === undefined || profile.samples === undefined || profile.timeDeltas === undefined) {
    for (const node of profile.nodes) hits.set(node.id, node.hitCount ?? 0);
    return hits;
  }
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i];
    if (t < window.fromUs || t > window.toUs) continue;
    const id = profile.samples[i];
    hits.set(id, (hits.get(id) ?? 0) + 1);
  }
  return hits;
}

interface ProfileEntry {
  fn: string;
  where: string;
  percent: number;
}

export interface ProfileSummary {
  file: string;
  seconds: number;
  samples: number;
  /** Share of busy (non-idle) samples. */
  busyPercent: number;
  /** Self time per function, % of busy samples, largest first. */
  top: ProfileEntry[];
  /** % of busy samples in native socket writes (libuv write/writev, the native writer's sends: the syscalls). */
  socketWritePercent: number;
  /** % of busy samples in voyandz's own JavaScript (src/, workers/). */
  ownCodePercent: number;
}

const SOCKET_WRITES = new Set(['writeBuffer', 'writev', 'writeLatin1String', 'writeUtf8String', 'writeAsciiString']);
/** The native fan-out writer's sends: V8 books a Node-API function's time to the JavaScript that called it. */
const DIRECT_SEND = { fn: 'send', where: 'src/fanout/direct-writer.' };

function shortUrl(url: string): string {
  const m = /(?:dist\/)?((?:src|load-tests|workers)\/[^?]+)$/.exec(url) ?? /node_modules\/(.+)$/.exec(url);
  if (m) return m[1];
  return url.replace(/^node:/, 'node:');
}

/** `window`: only the samples taken in it (a steady state, without start-up and shutdown). */
export function summarizeProfile(file: string, topN = 15, window?: ProfileWindow): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const hitsById = hitsOf(profile, window);
  const self = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const node of profile.nodes) {
    const hits = hitsById.get(node.id) ?? 0;
    if (hits === 0) continue;
    total += hits;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idle += hits;
      continue;
    }
    const key = `${functionName || '(anonymous)'}\t${url ? `${shortUrl(url)}:${lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + hits);
  }
  const busy = Math.max(1, total - idle);
  let writes = 0;
  let own = 0;
  for (const [key, hits] of self) {
    const [fn, where] = key.split('\t');
    if ((SOCKET_WRITES.has(fn) && where === '') || (fn === DIRECT_SEND.fn && where.startsWith(DIRECT_SEND.where))) writes += hits;
    else if (/^(src|workers)\//.test(where)) own += hits;
  }
  const pct = (x: number): number => Math.round((x / busy) * 1000) / 10;
  const top = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, topN)
    .map(([key, hits]) => {
      const [fn, where] = key.split('\t');
      return { fn, where, percent: Math.round((hits / busy) * 1000) / 10 };
    });
  return {
    file,
    seconds: window === undefined ? (profile.endTime - profile.startTime) / 1e6 : (Math.min(window.toUs, profile.endTime) - Math.max(window.fromUs, profile.startTime)) / 1e6,
    samples: total,
    busyPercent: Math.round(((total - idle) / Math.max(1, total)) * 1000) / 10,
    top,
    socketWritePercent: pct(writes),
    ownCodePercent: pct(own),
  };
}
