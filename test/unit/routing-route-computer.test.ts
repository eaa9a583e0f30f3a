import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RouteComputer } from '../../src/routing/route-computer.js';
import { DEFAULT_ROUTING_PARAMS as P } from '../../src/routing/routing-params.js';
import { computedNetwork } from './routing-fixtures.js';

const SELF = 1;
const DESTS = [1, 2, 3, 4, 5];

/**
 * SELF=1 with own links to 2 (10 ms) and 3 (40 ms); remote 2–3 (10 ms), 2–4 (10 ms), 3–4 (60 ms),
 * 3–5 (10 ms). Tree: 1-2, 2-3, 2-4, 3-5. Links 1–3 and 3–4 are not on it.
 */
function network() {
  return computedNetwork(
    SELF,
    { 2: 10, 3: 40 },
    { 2: { 1: 10, 3: 10, 4: 10 }, 3: { 1: 40, 2: 10, 4: 60, 5: 10 }, 4: { 2: 10, 3: 60 }, 5: { 3: 10 } },
    DESTS,
  );
}

const path = (rc: RouteComputer, dst: number) => rc.selector.get(dst)?.nodes;

test('the first computation gives the tree paths', () => {
  const { rc } = network();
  assert.deepEqual(path(rc, 3), [1, 2, 3]);
  assert.deepEqual(path(rc, 4), [1, 2, 4]);
  assert.deepEqual(path(rc, 5), [1, 2, 3, 5]);
  assert.equal(rc.dueAt(), Infinity, 'nothing left to do');
});

test('a link off every path vanishing or getting dearer is no change: no recomputation', () => {
  const { g, rc, advertise } = network();
  assert.equal(advertise(3, { 1: 40, 2: 10, 4: 90, 5: 10 }), 'none', '3–4 dearer');
  assert.equal(advertise(4, { 2: 10 }), 'none', '3–4 withdrawn');
  assert.equal(g.edge(3, 4), undefined, 'but the graph has it gone');
  assert.equal(rc.dueAt(), Infinity);
});

test('a link on the tree vanishing is bad news, and the paths through it move', () => {
  const { rc, advertise } = network();
  assert.equal(advertise(3, { 1: 40, 4: 60, 5: 10 }), 'down', '2–3 gone');
  rc.mark('down');
  rc.run(P.spfMajorIntervalMs, DESTS);
  assert.deepEqual(path(rc, 3), [1, 3]);
  assert.deepEqual(path(rc, 5), [1, 3, 5]);
});

test('a new link matters only if it is cheap enough to offer a path as good as a tree path', () => {
  const { advertise } = network();
  // 4–5 at 200 ms: nobody gains (5 is reached for ~30 ms, 4 for ~20).
  advertise(5, { 3: 10, 4: 200 });
  assert.equal(advertise(4, { 2: 10, 3: 60, 5: 200 }), 'none');
  // Re-advertised at 1 ms: 1-2-4-5 beats 1-2-3-5.
  advertise(5, { 3: 10, 4: 1 });
  assert.equal(advertise(4, { 2: 10, 3: 60, 5: 1 }), 'major');
});

test('a selected path held off the tree by hysteresis counts as in use', () => {
  const { rc, advertise } = network();
  // A 12 ms link 4–5 appears and 3–5 rises to 16 ms: 1-2-4-5 is now the tree's path to 5, but not
  // better by a clear margin, so 1-2-3-5 stays selected, off the tree.
  advertise(5, { 3: 16, 4: 12 });
  rc.mark(advertise(4, { 2: 10, 3: 60, 5: 12 }));
  rc.mark(advertise(3, { 1: 40, 2: 10, 4: 60, 5: 16 }));
  rc.run(1000, DESTS);
  assert.deepEqual(path(rc, 5), [1, 2, 3, 5], 'held');
  assert.equal(rc.affects(3, 5, undefined), true, '3–5 is off the tree but on the held path');
  assert.equal(advertise(5, { 4: 12 }), 'down', 'withdrawing it is bad news');
  rc.mark('down');
  rc.run(1000 + P.spfMajorIntervalMs, DESTS);
  assert.deepEqual(path(rc, 5), [1, 2, 4, 5], 'and the held path is dead at once');
});
