import { test } from 'node:test';
import assert from 'node:assert/strict';
import { placeSharedClient } from '../src/cluster/placement.js';

const worker = (id: number, clients: number, load: number): { id: number; clients: number; load: number } => ({ id, clients, load });

test('the owner takes the client while its load is under spill_load, however many clients it has', () => {
  const owner = worker(0, 900, 0.2);
  assert.equal(placeSharedClient(owner, [owner, worker(1, 0, 0)], 0.5)?.id, 0);
});

test('an owner at or over spill_load: the worker with the fewest clients, the owner included', () => {
  const busy = worker(0, 900, 0.5);
  assert.equal(placeSharedClient(busy, [busy, worker(1, 30, 0.1), worker(2, 10, 0.9)], 0.5)?.id, 2);
  const fewest = worker(0, 5, 0.7);
  assert.equal(placeSharedClient(fewest, [worker(1, 30, 0.1), fewest], 0.5)?.id, 0);
});

test('spill_load 0 spreads from the first client; 1 keeps every client on an owner that is not saturated', () => {
  const idle = worker(0, 3, 0);
  assert.equal(placeSharedClient(idle, [idle, worker(1, 2, 0)], 0)?.id, 1);
  const owner = worker(0, 5000, 0.99);
  assert.equal(placeSharedClient(owner, [owner, worker(1, 0, 0)], 1)?.id, 0);
});

test('an owner that cannot take clients (not ready, or it failed this hand-off): the fewest among the others; none usable: none', () => {
  const owner = worker(0, 0, 0);
  assert.equal(placeSharedClient(owner, [worker(1, 4, 0.9), worker(2, 3, 0.9)], 0.5)?.id, 2);
  assert.equal(placeSharedClient(undefined, [worker(1, 4, 0)], 0.5)?.id, 1);
  assert.equal(placeSharedClient(owner, [], 0.5), undefined);
});
