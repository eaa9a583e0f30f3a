// Routing's side of end-to-end path failures (src/routing/path-avoidance.ts through RouteComputer and
// Router.avoid): a destination whose path failed is routed around the failed relays (or direct link)
// at once, for the hold time, then may go back through the usual hysteresis.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RouteComputer } from '../../src/routing/route-computer.js';
import { DEFAULT_ROUTING_PARAMS as P } from '../../src/routing/routing-params.js';
import { computedNetwork } from './routing-fixtures.js';

const SELF = 1;
const DESTS = [1, 2, 3, 4, 5];

/**
 * SELF=1 with own links to 2 (10 ms), 3 (20 ms) and 4 (15 ms); remote 2–5 (10 ms), 4–5 (12 ms),
 * 3–5 (10 ms). Paths: 2, 3 and 4 direct, 5 via 2 (20 ms) — alternatives via 4 (27 ms) and via 3
 * (30 ms).
 */
function network() {
  return computedNetwork(
    SELF,
    { 2: 10, 3: 20, 4: 15 },
    { 2: { 1: 10, 5: 10 }, 3: { 1: 20, 5: 10 }, 4: { 1: 15, 5: 12 }, 5: { 2: 10, 3: 10, 4: 12 } },
    DESTS,
  );
}

const path = (rc: RouteComputer, dst: number) => rc.selector.get(dst)?.nodes;

test('a failed relay is avoided for that destination at once, and only for it', () => {
  const { rc } = network();
  assert.deepEqual(path(rc, 5), [1, 2, 5]);
  rc.avoid(5, [2], 30_000);
  assert.ok(rc.dueAt() <= 1000, 'recomputed at the next tick');
  const changes = rc.run(1000, DESTS);
  assert.deepEqual(path(rc, 5), [1, 4, 5], 'the cheapest path without 2');
  assert.deepEqual(
    changes.map((c) => [c.dst, c.reason]),
    [[5, 'dead']],
  );
  assert.deepEqual(path(rc, 2), [1, 2], 'other destinations still use 2');
});

test('the avoidance holds against cheaper paths until it ends, then the path may come back', () => {
  const { rc } = network();
  rc.avoid(5, [2], 30_000);
  rc.run(1000, DESTS);
  rc.mark('major'); // a graph change: the tree still prefers 2
  rc.run(2000, DESTS);
  assert.deepEqual(path(rc, 5), [1, 4, 5]);
  assert.equal(rc.dueAt(), 30_000, 'wakes when the avoidance ends');
  rc.run(30_000, DESTS);
  assert.deepEqual(path(rc, 5), [1, 4, 5], 'moving back waits for the hysteresis hold');
  rc.run(30_000 + P.holdMs, DESTS);
  assert.deepEqual(path(rc, 5), [1, 2, 5], 'tried again');
});

test('a failed direct link is avoided: the destination goes through a relay', () => {
  const { rc } = network();
  assert.deepEqual(path(rc, 3), [1, 3]);
  rc.avoid(3, [], 30_000);
  rc.run(1000, DESTS);
  assert.deepEqual(path(rc, 3), [1, 2, 5, 3]);
});

test('the alternative failing too adds to the avoidance (disjoint from both)', () => {
  const { rc } = network();
  rc.avoid(5, [2], 30_000);
  rc.run(1000, DESTS);
  rc.avoid(5, [4], 31_000);
  rc.run(1500, DESTS);
  assert.deepEqual(path(rc, 5), [1, 3, 5]);
});

test('with no path left outside the avoidance, the destination keeps its path', () => {
  const { rc } = network();
  rc.avoid(5, [2], 30_000);
  rc.avoid(5, [3], 30_000);
  rc.avoid(5, [4], 30_000);
  rc.run(1000, DESTS);
  assert.deepEqual(path(rc, 5), [1, 2, 5], 'a path that passes small packets beats none');
});
