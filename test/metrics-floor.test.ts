import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MonotonicFloor } from '../src/metrics/monotonic-floor.js';
import type { WorkerMetricsJson } from '../src/cluster/messages.js';

const metric = (type: 'counter' | 'gauge', value: number, stream = 'ts'): WorkerMetricsJson =>
  [{ name: `m_${type}`, help: 'h', type, aggregator: 'sum', values: [{ labels: { stream }, value }] }] as unknown as WorkerMetricsJson;

test('monotonic floor: a counter never goes below what was exported; gauges and other series pass as they are', () => {
  const floor = new MonotonicFloor();
  const value = (metrics: WorkerMetricsJson): number | undefined => metrics[0]?.values[0]?.value;
  assert.equal(value(floor.apply(metric('counter', 10))), 10);
  // A worker killed after its last scrape: the merged total dips; the export holds.
  assert.equal(value(floor.apply(metric('counter', 7))), 10);
  assert.equal(value(floor.apply(metric('counter', 12))), 12);
  assert.equal(value(floor.apply(metric('counter', 3, 'other'))), 3, 'each label set has its own floor');
  assert.equal(value(floor.apply(metric('gauge', 5))), 5);
  assert.equal(value(floor.apply(metric('gauge', 1))), 1, 'a gauge may fall');
});
