import assert from 'node:assert/strict';
import { test } from 'node:test';
import { packLink } from '../../src/routing/advert.js';
import { DEFAULT_COST_PARAMS, linkCost, toCostUnits } from '../../src/routing/cost.js';
import { shortestPaths } from '../../src/routing/dijkstra.js';
import { LinkGraph } from '../../src/routing/graph.js';

const SELF = 1;
const links = (entries: Array<[number, number]>) =>
  new Map(entries.map(([n, rtt]) => [n, packLink({ rttMs: rtt, loss: 0, flags: 0 })]));
const units = (rtt: number) =>
  toCostUnits(linkCost({ srttMs: rtt, lossRatio: 0, alive: true }, DEFAULT_COST_PARAMS));

test('a link between two other nodes needs both adverts to list it (two-way check)', () => {
  const g = new LinkGraph(SELF, DEFAULT_COST_PARAMS);
  assert.equal(g.setAdvert(2, links([[3, 20]])), 'none', 'one-sided: not a link yet');
  assert.equal(g.edge(2, 3), undefined);
  assert.equal(g.setAdvert(3, links([[2, 30]])), 'major');
  assert.equal(g.edge(2, 3), units(30), 'the larger of the two advertised costs');
  assert.equal(g.edge(3, 2), units(30));
  // 3 stops listing 2 (it lost the link; 2's advert is stale): gone at once.
  assert.equal(g.setAdvert(3, links([])), 'down');
  assert.equal(g.edge(2, 3), undefined);
});

test('our own links need no two-way check, and adverts listing us are ignored', () => {
  const g = new LinkGraph(SELF, DEFAULT_COST_PARAMS);
  g.setOwnLink(2, 11);
  assert.equal(g.edge(SELF, 2), toCostUnits(11));
  g.setAdvert(2, links([[SELF, 500]]));
  assert.equal(g.edge(SELF, 2), toCostUnits(11), 'our measurement rules');
  g.setOwnLink(2, undefined);
  assert.equal(g.edge(SELF, 2), undefined, 'and only our measurement');
});

test('small cost drifts are minor, big rises are bad news, big drops good news', () => {
  const g = new LinkGraph(SELF, DEFAULT_COST_PARAMS);
  g.setAdvert(2, links([[3, 40]]));
  g.setAdvert(3, links([[2, 40]]));
  assert.equal(g.setAdvert(2, links([[3, 42]])), 'minor');
  assert.equal(g.setAdvert(2, links([[3, 90]])), 'down');
  assert.equal(g.setAdvert(2, links([[3, 90]])), 'none');
  assert.equal(g.setAdvert(2, links([[3, 40]])), 'major', 'the larger side (3’s 40) rules again');
});

test('path cost sums the links and is Infinity across a missing one', () => {
  const g = new LinkGraph(SELF, DEFAULT_COST_PARAMS);
  g.setOwnLink(2, 10);
  g.setAdvert(2, links([[3, 20]]));
  g.setAdvert(3, links([[2, 20]]));
  assert.equal(g.pathUnits([SELF, 2, 3]), toCostUnits(10) + units(20));
  assert.equal(g.pathUnits([SELF, 3]), Infinity);
  g.removeNode(3);
  assert.equal(g.pathUnits([SELF, 2, 3]), Infinity);
});

test('a link advertised with 90 % loss is no link', () => {
  const g = new LinkGraph(SELF, DEFAULT_COST_PARAMS);
  g.setAdvert(2, new Map([[3, packLink({ rttMs: 10, loss: 0.95, flags: 0 })]]));
  g.setAdvert(3, new Map([[2, packLink({ rttMs: 10, loss: 0.95, flags: 0 })]]));
  assert.equal(g.edge(2, 3), undefined);
});

test('a path relays through an own neighbour only while its advert lists us (it proved our address)', () => {
  const g = new LinkGraph(SELF, DEFAULT_COST_PARAMS);
  // 2 is cheap but measures only 4, not us (a bounded probe set that did not probe us back): it
  // would drop as unauthenticated-hop whatever we ask it to relay. 3 is dearer and lists us.
  g.setOwnLink(2, 5);
  g.setOwnLink(3, 30);
  g.setAdvert(2, links([[4, 5]]));
  g.setAdvert(
    3,
    links([
      [SELF, 30],
      [4, 5],
    ]),
  );
  g.setAdvert(
    4,
    links([
      [2, 5],
      [3, 5],
    ]),
  );
  const path = (dst: number) => shortestPaths(g.snapshot(), SELF, 8).pathTo(dst);
  assert.deepEqual(path(4), [SELF, 3, 4], 'not through 2');
  assert.deepEqual(path(2), [SELF, 2], 'but 2 itself is reached directly');
  assert.equal(
    g.setAdvert(
      2,
      links([
        [SELF, 5],
        [4, 5],
      ]),
    ),
    'major',
    '2 now measures us',
  );
  assert.deepEqual(path(4), [SELF, 2, 4]);
  assert.equal(g.setAdvert(2, links([[4, 5]])), 'down', 'and no longer does');
  assert.deepEqual(path(4), [SELF, 3, 4]);
});
