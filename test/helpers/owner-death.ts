/**
 * What the owner-death tests (a worker process killed, a worker thread
 * crashed) check alike: clients that note when each chunk came, the longest
 * silence around the death, and counters that never go down.
 */
import assert from 'node:assert/strict';
import { capture, getText, type Capture } from './clients.js';
import { parsePrometheus, type Sample } from './metrics.js';
import type { RunningServer } from './server.js';

export interface TimedCapture {
  done: Promise<Capture>;
  /** When each chunk arrived, in ms since the test's t0. */
  arrivals: number[];
}

export function timedCapture(url: string, ms: number, t0: number): TimedCapture {
  const arrivals: number[] = [];
  const done = capture(url, { ms }, () => arrivals.push(Date.now() - t0));
  return { done, arrivals };
}

/** The longest gap between chunks from 500 ms before `diedAt` on. */
export function longestSilence(client: TimedCapture, diedAt: number): number {
  const around = client.arrivals.filter((t, i) => t > diedAt - 500 && i > 0);
  return Math.max(0, ...around.map((t, i) => (i === 0 ? 0 : t - (around[i - 1] ?? t))));
}

export async function metrics(server: RunningServer): Promise<Sample[]> {
  return parsePrometheus((await getText(server.url('/metrics'))).text);
}

export async function counterNames(server: RunningServer): Promise<Set<string>> {
  const text = (await getText(server.url('/metrics'))).text;
  return new Set([...text.matchAll(/^# TYPE (\S+) counter$/gm)].map((m) => m[1]));
}

/** Every counter series seen before has a value at least as high after. */
export function assertCountersRose(counters: Set<string>, before: Sample[], after: Sample[], when: string): void {
  const key = (s: Sample): string => `${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`;
  const later = new Map(after.map((s) => [key(s), s.value]));
  for (const s of before) {
    if (!counters.has(s.name)) continue;
    const value = later.get(key(s));
    assert.ok(value !== undefined && value >= s.value, `${when}: ${key(s)} went from ${s.value} to ${value}`);
  }
}
