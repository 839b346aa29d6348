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
  startTime: number;
  endTime: number;
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
  /** % of busy samples in native socket writes (libuv write/writev: the syscalls). */
  socketWritePercent: number;
  /** % of busy samples in voyandz's own JavaScript (src/, workers/). */
  ownCodePercent: number;
}

const SOCKET_WRITES = new Set(['writeBuffer', 'writev', 'writeLatin1String', 'writeUtf8String', 'writeAsciiString']);

function shortUrl(url: string): string {
  const m = /(?:dist\/)?((?:src|load-tests|workers)\/[^?]+)$/.exec(url) ?? /node_modules\/(.+)$/.exec(url);
  if (m) return m[1];
  return url.replace(/^node:/, 'node:');
}

export function summarizeProfile(file: string, topN = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const self = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
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
    if (SOCKET_WRITES.has(fn) && where === '') writes += hits;
    if (/^(src|workers)\//.test(where)) own += hits;
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
    seconds: (profile.endTime - profile.startTime) / 1e6,
    samples: total,
    busyPercent: Math.round(((total - idle) / Math.max(1, total)) * 1000) / 10,
    top,
    socketWritePercent: pct(writes),
    ownCodePercent: pct(own),
  };
}
