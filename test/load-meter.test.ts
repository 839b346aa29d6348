import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { LoadMeter } from '../workers/stream/load-meter.js';

function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // a loop that never waits: all of it is active time
  }
}

test('the load meter reports a loop that never waits as busy, one that waits as idle, and keeps a sample for its window', async () => {
  const meter = new LoadMeter();
  await sleep(300);
  const idle = meter.sample();
  assert.ok(idle < 0.3, `a loop waiting on a timer: ${idle}`);

  spin(300);
  const busy = meter.sample();
  assert.ok(busy > 0.7, `a loop spinning for 300 ms: ${busy}`);
  // Within the window (250 ms) the last sample stands: one burst of hand-offs does not make a new one.
  assert.equal(meter.sample(), busy);

  await sleep(300);
  assert.ok(meter.sample() < 0.3, 'idle again after the spin');
});
