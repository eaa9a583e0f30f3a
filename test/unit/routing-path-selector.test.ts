import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { PathSelector, type RouteChange } from '../../src/routing/path-selector.js';
import { DEFAULT_ROUTING_PARAMS } from '../../src/routing/routing-params.js';

const DST = 9;
const VIA_2 = [1, 2, DST];
const VIA_3 = [1, 3, DST];
const DIRECT = [1, DST];

/** Evaluates the choice between two candidate paths with given costs, as the router would. */
function step(sel: PathSelector, now: number, costs: Map<string, number>): RouteChange | undefined {
  let best: { nodes: number[]; cost: number } | undefined;
  for (const [k, c] of costs) {
    if (c === Infinity) continue;
    if (!best || c < best.cost) best = { nodes: k.split(',').map(Number), cost: c };
  }
  const cur = sel.get(DST);
  const curCost = cur ? (costs.get(cur.nodes.join(',')) ?? Infinity) : Infinity;
  return sel.evaluate(DST, best, curCost, now);
}

test('a first path is selected at once (reason new)', () => {
  const sel = new PathSelector(DEFAULT_ROUTING_PARAMS);
  const c = step(sel, 0, new Map([[VIA_2.join(), 40]]));
  assert.equal(c?.reason, 'new');
  assert.deepEqual(sel.get(DST)?.nodes, VIA_2);
});

test('no flap: a path jittering ±10 % around a close alternative is kept over thousands of evaluations', () => {
  const sel = new PathSelector(DEFAULT_ROUTING_PARAMS);
  const clock = new ManualClock();
  step(sel, 0, new Map([[VIA_2.join(), 50]]));
  let s = 3;
  const rnd = () => (s = (s * 16807) % 2147483647) / 2147483647;
  let switches = 0;
  for (let i = 0; i < 5000; i++) {
    clock.advance(50);
    const jittery = 50 * (1 + (rnd() * 2 - 1) * 0.1);
    const c = step(
      sel,
      clock.now(),
      new Map([
        [VIA_2.join(), jittery],
        [VIA_3.join(), 49],
      ]),
    );
    if (c) switches++;
  }
  assert.equal(switches, 0);
  assert.deepEqual(sel.get(DST)?.nodes, VIA_2);
});

test('the current path using a dead link is replaced immediately (reason dead)', () => {
  const sel = new PathSelector(DEFAULT_ROUTING_PARAMS);
  step(sel, 0, new Map([[DIRECT.join(), 10]]));
  const c = step(
    sel,
    100,
    new Map([
      [DIRECT.join(), Infinity],
      [VIA_2.join(), 80],
    ]),
  );
  assert.equal(c?.reason, 'dead');
  assert.deepEqual(c?.from?.nodes, DIRECT);
  assert.deepEqual(c?.to?.nodes, VIA_2);
  assert.equal(c?.at, 100);
});

test('nothing left: the route is removed (reason unreachable)', () => {
  const sel = new PathSelector(DEFAULT_ROUTING_PARAMS);
  step(sel, 0, new Map([[DIRECT.join(), 10]]));
  const c = step(sel, 1, new Map([[DIRECT.join(), Infinity]]));
  assert.equal(c?.reason, 'unreachable');
  assert.equal(sel.get(DST), undefined);
});

test('a clearly better path takes over only after holding its advantage for 3 s', () => {
  const sel = new PathSelector(DEFAULT_ROUTING_PARAMS);
  step(sel, 0, new Map([[VIA_2.join(), 80]]));
  // The direct path heals and is 20 % cheaper: better, but not twice as good.
  const both = new Map([
    [VIA_2.join(), 80],
    [DIRECT.join(), 60],
  ]);
  assert.equal(step(sel, 1000, both), undefined);
  assert.equal(sel.nextDeadline(), 4000);
  assert.equal(step(sel, 3999, both), undefined);
  const c = step(sel, 4000, both);
  assert.equal(c?.reason, 'better');
  assert.deepEqual(sel.get(DST)?.nodes, DIRECT);
  assert.equal(sel.get(DST)?.since, 4000);
});

test('the hold timer restarts whenever the advantage lapses', () => {
  const sel = new PathSelector(DEFAULT_ROUTING_PARAMS);
  step(sel, 0, new Map([[VIA_2.join(), 80]]));
  const better = new Map([
    [VIA_2.join(), 80],
    [DIRECT.join(), 60],
  ]);
  const close = new Map([
    [VIA_2.join(), 80],
    [DIRECT.join(), 75],
  ]);
  step(sel, 1000, better);
  step(sel, 3500, close); // lapses
  assert.equal(step(sel, 4000, better), undefined, 'would have fired at 4000 without the lapse');
  assert.equal(step(sel, 6999, better), undefined);
  assert.equal(step(sel, 7000, better)?.reason, 'better');
});

test('a path less than half the cost takes over after the 0.5 s fast hold', () => {
  const sel = new PathSelector(DEFAULT_ROUTING_PARAMS);
  step(sel, 0, new Map([[VIA_2.join(), 50]]));
  // The current path turns lossy: 50 → 170 ms-equivalent; the alternative stays at 60.
  const lossy = new Map([
    [VIA_2.join(), 170],
    [VIA_3.join(), 60],
  ]);
  assert.equal(step(sel, 1000, lossy), undefined);
  assert.equal(sel.nextDeadline(), 1500);
  assert.equal(step(sel, 1500, lossy)?.reason, 'better');
  assert.deepEqual(sel.get(DST)?.nodes, VIA_3);
});

test('the current cost is kept up to date without a route change', () => {
  const sel = new PathSelector(DEFAULT_ROUTING_PARAMS);
  step(sel, 0, new Map([[VIA_2.join(), 50]]));
  assert.equal(step(sel, 10, new Map([[VIA_2.join(), 55]])), undefined);
  assert.equal(sel.get(DST)?.cost, 55);
  assert.equal(sel.get(DST)?.since, 0);
});
