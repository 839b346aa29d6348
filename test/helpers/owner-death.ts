/**
 * What the owner-death tests (a worker process killed, a worker thread
 * crashed) check alike: clients that note when each chunk came, the longest
 * silence around the death, and counters that never go down.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { capture, ffprobe, getText, save, sleep, type Capture } from './clients.js';
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

/**
 * After the worker that runs /stream/ts died at `diedAt`: a client arriving
 * in the gap waits for the stream instead of an empty 200; every client of
 * the surviving worker stayed and got the stream back within 5 s; what one
 * of them received decodes.
 */
export async function assertSurvivorsKept(t: TestContext, server: RunningServer, clients: TimedCapture[], diedAt: number, survivorClients: number, dir: string): Promise<void> {
  await sleep(200);
  const late = await capture(server.url('/stream/ts'), { ms: 6000 });
  assert.equal(late.status, 200);
  assert.ok(late.body.length > 50_000, `a client of the gap got ${late.body.length} bytes`);

  const done = await Promise.all(clients.map((c) => c.done));
  const kept = clients.filter((c) => (c.arrivals.at(-1) ?? 0) > diedAt + 4000);
  assert.equal(kept.length, survivorClients, 'every client of the surviving worker stayed connected');
  for (const c of kept) {
    const gap = longestSilence(c, diedAt);
    assert.ok(gap < 5000, `the stream came back (longest silence ${gap} ms)`);
    t.diagnostic(`a kept client's longest silence around the death: ${gap} ms`);
  }
  const file = save(join(dir, 'kept.ts'), done[clients.indexOf(kept[0] ?? clients[0])]?.body ?? Buffer.alloc(0));
  assert.ok((await ffprobe(file)).some((s) => s.codec_name === 'h264'), 'what a kept client got decodes');
}
