import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AdjacencyGraph } from '../../src/routing/dijkstra.js';
import { shortestPaths } from '../../src/routing/dijkstra.js';

function graphOf(edges: Array<[number, number, number]>): AdjacencyGraph {
  const adj = new Map<number, Map<number, number>>();
  for (const [a, b, w] of edges) {
    if (!adj.has(a)) adj.set(a, new Map());
    if (!adj.has(b)) adj.set(b, new Map());
    adj.get(a)?.set(b, w);
    adj.get(b)?.set(a, w);
  }
  return { adjacency: (u) => adj.get(u) };
}

test('finds the cheapest path, not the fewest hops', () => {
  const g = graphOf([
    [1, 3, 100],
    [1, 2, 20],
    [2, 3, 20],
  ]);
  const t = shortestPaths(g, 1, 8);
  assert.deepEqual(t.pathTo(3), [1, 2, 3]);
  assert.equal(t.costUnits(3), 40);
});

test('equal cost: fewer hops wins', () => {
  const g = graphOf([
    [1, 4, 30],
    [1, 2, 10],
    [2, 3, 10],
    [3, 4, 10],
  ]);
  assert.deepEqual(shortestPaths(g, 1, 8).pathTo(4), [1, 4]);
});

test('equal cost and hops: the lexicographically smaller id sequence wins, whatever the insertion order', () => {
  const a = graphOf([
    [1, 9, 10],
    [9, 5, 10],
    [1, 3, 10],
    [3, 5, 10],
    [1, 7, 10],
    [7, 5, 10],
  ]);
  const b = graphOf([
    [7, 5, 10],
    [1, 7, 10],
    [3, 5, 10],
    [9, 5, 10],
    [1, 9, 10],
    [1, 3, 10],
  ]);
  assert.deepEqual(shortestPaths(a, 1, 8).pathTo(5), [1, 3, 5]);
  assert.deepEqual(shortestPaths(b, 1, 8).pathTo(5), [1, 3, 5]);
});

test('lexicographic ties are decided at the first difference from the source, not the last', () => {
  // Paths 1-2-9-6 and 1-4-3-6 tie: [1,2,9,6] < [1,4,3,6] although 9 > 3.
  const g = graphOf([
    [1, 4, 5],
    [4, 3, 5],
    [3, 6, 5],
    [1, 2, 5],
    [2, 9, 5],
    [9, 6, 5],
  ]);
  assert.deepEqual(shortestPaths(g, 1, 8).pathTo(6), [1, 2, 9, 6]);
});

test('unreachable nodes have no path, and the source has none to itself', () => {
  const g = graphOf([
    [1, 2, 10],
    [3, 4, 10],
  ]);
  const t = shortestPaths(g, 1, 8);
  assert.equal(t.pathTo(3), undefined);
  assert.equal(t.pathTo(99), undefined);
  assert.equal(t.pathTo(1), undefined);
});

test('paths are limited to maxHops links', () => {
  const chain: Array<[number, number, number]> = [];
  for (let i = 1; i < 12; i++) chain.push([i, i + 1, 1]);
  const t = shortestPaths(graphOf(chain), 1, 8);
  assert.equal(t.pathTo(9)?.length, 9);
  assert.equal(t.pathTo(10), undefined, '9 links is too many');
});

/** 1–3 direct is dearer than 1–2–3: the tree from 1 is 1-2, 2-3. */
const detourTriangle = (): AdjacencyGraph =>
  graphOf([
    [1, 2, 10],
    [2, 3, 10],
    [1, 3, 50],
  ]);

test('isTreePath recognises exactly the selected path', () => {
  const t = shortestPaths(detourTriangle(), 1, 8);
  assert.ok(t.isTreePath([1, 2, 3]));
  assert.ok(!t.isTreePath([1, 3]));
});

test('usesEdge and shortens: which link changes can change the tree', () => {
  const t = shortestPaths(detourTriangle(), 1, 8);
  assert.ok(t.usesEdge(2, 3) && t.usesEdge(3, 2) && t.usesEdge(1, 2));
  assert.ok(!t.usesEdge(1, 3), 'a link Dijkstra did not choose');
  assert.ok(!t.shortens(1, 3, 21), '21 > 20: 3 keeps its path');
  assert.ok(t.shortens(1, 3, 20), 'a tie may win on hops');
  assert.ok(t.shortens(3, 4, 500), 'any link reaching an unreached node');
  assert.ok(!t.shortens(4, 5, 1), 'a link between two unreached nodes reaches nothing');
});

test('1000 nodes with 10 links each are solved in well under 50 ms', () => {
  const edges: Array<[number, number, number]> = [];
  let s = 1;
  const rnd = () => (s = (s * 16807) % 2147483647) / 2147483647;
  for (let u = 1; u <= 1000; u++)
    for (let k = 0; k < 5; k++) edges.push([u, 1 + Math.floor(rnd() * 1000), 1 + Math.floor(rnd() * 50_000)]);
  const g = graphOf(edges.filter(([a, b]) => a !== b));
  shortestPaths(g, 1, 8); // warm up
  const t0 = performance.now();
  const t = shortestPaths(g, 1, 8);
  const ms = performance.now() - t0;
  assert.ok(t.size > 990);
  assert.ok(ms < 50, `${ms} ms`);
});
