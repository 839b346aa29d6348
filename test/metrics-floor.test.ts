import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MonotonicFloor } from '../src/metrics/monotonic-floor.js';
import { CarriedCounters } from '../src/metrics/carried-counters.js';
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

const gcHistogram = (count: number, sum: number, worker = '0'): WorkerMetricsJson =>
  [
    {
      name: 'nodejs_gc_duration_seconds',
      help: 'h',
      type: 'histogram',
      aggregator: 'sum',
      values: [
        { labels: { le: 0.01, kind: 'minor', worker }, value: count, metricName: 'nodejs_gc_duration_seconds_bucket' },
        { labels: { kind: 'minor', worker }, value: sum, metricName: 'nodejs_gc_duration_seconds_sum' },
        { labels: { kind: 'minor', worker }, value: count, metricName: 'nodejs_gc_duration_seconds_count' },
      ],
    },
  ] as unknown as WorkerMetricsJson;

test('histograms never go down either: each of their series (bucket, sum, count) has its own floor, and a dead worker\'s are carried', () => {
  const values = (metrics: WorkerMetricsJson): number[] => metrics[0]?.values.map((v) => v.value) ?? [];
  const floor = new MonotonicFloor();
  assert.deepEqual(values(floor.apply(gcHistogram(80, 0.5))), [80, 0.5, 80]);
  assert.deepEqual(values(floor.apply(gcHistogram(3, 0.01))), [80, 0.5, 80], 'a respawned worker starts again from zero: the export holds');
  const carried = new CarriedCounters();
  carried.add(gcHistogram(80, 0.5));
  carried.add(gcHistogram(5, 0.1));
  assert.deepEqual(values(carried.toJson()), [85, 0.6, 85], 'two dead workers of the same slot: their counts add up, sums and counts apart');
});
