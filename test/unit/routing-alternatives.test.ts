// The alternatives `overlayd paths` shows (best path through each neighbour) and the words for why the
// chosen one carries the traffic.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { explainChoice, pathAlternatives } from '../../src/routing/alternatives.js';
import { COST_SCALE } from '../../src/routing/cost.js';
import type { AdjacencyGraph } from '../../src/routing/dijkstra.js';
import { describeSwitch } from '../../src/node/route-log.js';

/** Edges in ms; stored in cost units as the router's graph is. */
function graphOf(edges: Array<[number, number, number]>): AdjacencyGraph {
  const adj = new Map<number, Map<number, number>>();
  for (const [a, b, ms] of edges) {
    for (const [x, y] of [
      [a, b],
      [b, a],
    ]) {
      if (!adj.has(x)) adj.set(x, new Map());
      adj.get(x)?.set(y, ms * COST_SCALE);
    }
  }
  return { adjacency: (u) => adj.get(u) };
}

const PARAMS = { switchRatio: 0.1, switchMarginMs: 1 };
const names = (id: number) => 'xabcd'[id];

test('one alternative per first hop, cheapest first, none looping back through self', () => {
  // a=1 reaches d=4 directly (50), via b (10+10), via c (5+30); b–c exists, so "via c" could go c→b→d
  // (5+1+10 = 16) — it must, since the best path through c is what matters, and it must not use a.
  const g = graphOf([
    [1, 4, 50],
    [1, 2, 10],
    [2, 4, 10],
    [1, 3, 5],
    [3, 4, 30],
    [2, 3, 1],
  ]);
  const alts = pathAlternatives(g, 1, 4, 8);
  assert.deepEqual(
    alts.map((a) => [a.nodes, a.cost]),
    [
      [[1, 3, 2, 4], 16],
      [[1, 2, 4], 20],
      [[1, 4], 50],
    ],
  );
  assert.equal(pathAlternatives(g, 1, 4, 8, 2).length, 2, 'limit');
  assert.deepEqual(pathAlternatives(g, 1, 1, 8), [], 'no alternatives to self');
});

test('respects the hop limit and skips neighbours that do not lead there', () => {
  const g = graphOf([
    [1, 2, 1],
    [2, 3, 1],
    [3, 4, 1],
    [1, 5, 1],
  ]);
  assert.deepEqual(
    pathAlternatives(g, 1, 4, 3).map((a) => a.nodes),
    [[1, 2, 3, 4]],
  );
  assert.deepEqual(pathAlternatives(g, 1, 4, 2), []);
});

test('no alternative relays through a neighbour that does not list us; a path may still end there', () => {
  const g = graphOf([
    [1, 2, 1],
    [2, 4, 1],
    [1, 3, 5],
    [3, 4, 5],
    [1, 4, 50],
  ]);
  const relays = (n: number): boolean => n !== 2; // 2 has not proven our address (graph.ts)
  assert.deepEqual(
    pathAlternatives(g, 1, 4, 8, 4, relays).map((a) => a.nodes),
    [
      [1, 3, 4],
      [1, 4],
    ],
  );
  assert.deepEqual(
    pathAlternatives(g, 1, 2, 8, 4, relays).map((a) => a.nodes),
    [
      [1, 2],
      [1, 3, 4, 2],
      [1, 4, 2],
    ],
    'to 2 itself: direct, or through 3 or 4',
  );
});

test('explains the choice: best, within hysteresis, about to switch, only path', () => {
  const direct = { nodes: [1, 4], cost: 20 };
  const viaB = { nodes: [1, 2, 4], cost: 19 };
  const viaC = { nodes: [1, 3, 4], cost: 10 };
  assert.equal(explainChoice(direct, [direct], PARAMS, names), 'only path');
  assert.equal(explainChoice(viaB, [viaB, direct], PARAMS, names), 'best: next direct costs 5% more');
  assert.equal(
    explainChoice(direct, [viaB, direct], PARAMS, names),
    'kept: within hysteresis of via b (5% cheaper, under the 10% bar)',
  );
  assert.equal(
    explainChoice(direct, [viaC, viaB, direct], PARAMS, names),
    'kept for now: via c is 50% cheaper, switching once that holds',
  );
  assert.match(explainChoice({ nodes: [1, 4], cost: Infinity }, [viaB], PARAMS, names), /^switching: /);
  assert.equal(explainChoice(undefined, [], PARAMS, names), 'no path: no neighbour reaches it');
});

test('never calls a working path dead: a switch away from a failed path says the previous one failed', () => {
  for (const text of [
    describeSwitch({ reason: 'dead', fromCost: Infinity, toCost: 12 }),
    explainChoice({ nodes: [1, 2, 4], cost: 12 }, [{ nodes: [1, 2, 4], cost: 12 }], PARAMS, names),
  ])
    assert.doesNotMatch(text, /\bdead\b/);
  assert.equal(
    describeSwitch({ reason: 'dead', fromCost: Infinity, toCost: 12 }),
    'switched: previous path failed',
  );
  assert.equal(describeSwitch({ reason: 'better', fromCost: 20, toCost: 14 }), 'switched: 30% better');
  assert.equal(describeSwitch({ reason: 'new', toCost: 14 }), 'first path');
});
