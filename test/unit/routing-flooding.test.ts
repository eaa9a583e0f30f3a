import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  LINK_FLAG_ACTIVE,
  LINK_FLAG_MTU,
  LINK_FLAG_RELAY,
  packLink,
  type Advert,
} from '../../src/routing/advert.js';
import { Announcer } from '../../src/routing/announcer.js';
import { decodeControl } from '../../src/routing/control-codec.js';
import { DEFAULT_COST_PARAMS } from '../../src/routing/cost.js';
import { advertNews, FloodPolicy, withdrawsLink, type AdvertNews } from '../../src/routing/flood-policy.js';
import { LinkGraph } from '../../src/routing/graph.js';
import { LinkStateDb } from '../../src/routing/lsdb.js';
import { DEFAULT_ROUTING_PARAMS } from '../../src/routing/routing-params.js';

const SELF = 1;
const advert = (origin: number, links: Array<[number, number]>, seq = 1): Advert => ({
  origin,
  seq,
  lifetimeMs: 120_000,
  links: links.map(([neighbor, flags]) => ({ neighbor, rttMs: 10, loss: 0, flags })),
});

/** SELF's neighbours 2, 3, 4; two-hop nodes 5 (via 2 and 3), 6 (via 4 only). */
function world(): { db: LinkStateDb; graph: LinkGraph; policy: FloodPolicy } {
  const db = new LinkStateDb(SELF);
  const graph = new LinkGraph(SELF, DEFAULT_COST_PARAMS);
  const adverts = [
    advert(2, [
      [SELF, 0],
      [5, 0],
    ]),
    advert(3, [
      [SELF, 0],
      [5, 0],
    ]),
    advert(4, [
      [SELF, 0],
      [6, 0],
    ]),
    advert(5, [
      [2, 0],
      [3, 0],
    ]),
    advert(6, [[4, 0]]),
  ];
  for (const a of adverts) {
    db.offer(a, new Uint8Array([a.origin]), 0);
    graph.setAdvert(a.origin, db.get(a.origin)?.links);
  }
  for (const n of [2, 3, 4]) graph.setOwnLink(n, 5);
  const params = { ...DEFAULT_ROUTING_PARAMS, relayCoverage: 1 };
  const announcer = new Announcer(params, db, { send: () => {} });
  return { db, graph, policy: new FloodPolicy(SELF, params, db, graph, announcer, () => {}) };
}

test('relays cover every two-hop node; the only route to one is always a relay', () => {
  const { policy } = world();
  const relays = policy.selectRelays([2, 3, 4]);
  assert.ok(relays.has(4), '6 is reachable only through 4');
  assert.ok(relays.has(2) || relays.has(3), '5 needs one of 2 and 3');
  assert.equal(relays.size, 2, 'coverage 1: one of 2 and 3 is enough');
});

test('a node that is not its sender’s relay does not push; a relay pushes to those the sender lacks', () => {
  const { db, policy } = world();
  // 2 floods an urgent advert and did not pick us as relay.
  db.offer(
    advert(
      2,
      [
        [SELF, 0],
        [5, 0],
      ],
      2,
    ),
    new Uint8Array([2]),
    1,
  );
  assert.deepEqual(policy.targets(9, 2, [2, 3, 4]), []);
  // Now 2 picks us: we push to 3 and 4, not back to 2.
  db.offer(
    advert(
      2,
      [
        [SELF, LINK_FLAG_RELAY],
        [5, 0],
        [3, 0],
      ],
      3,
    ),
    new Uint8Array([2]),
    2,
  );
  assert.deepEqual(policy.targets(9, 2, [2, 3, 4]), [4], '3 is 2’s own neighbour: 2 sent it a copy');
});

test('an unknown sender (no advert listing us) is treated like plain flooding', () => {
  const { policy } = world();
  assert.deepEqual(policy.targets(9, 7, [2, 3, 4]), [2, 3, 4]);
});

function announcer(sent: Array<[number, Uint8Array]>, db = new LinkStateDb(SELF)): Announcer {
  return new Announcer(DEFAULT_ROUTING_PARAMS, db, {
    send: (n, m) => sent.push([n, m]),
  });
}

test('announcements are batched per neighbour and skip neighbours known to hold the advert', () => {
  const sent: Array<[number, Uint8Array]> = [];
  const a = announcer(sent);
  a.noteHas(3, 50, 7);
  a.announce(2, 50, 7, 0);
  a.announce(2, 51, 1, 10);
  a.announce(3, 50, 7, 10);
  assert.equal(a.dueAt(), DEFAULT_ROUTING_PARAMS.announceIntervalMs);
  a.tick(100);
  assert.equal(sent.length, 0, 'not before the batch interval');
  a.tick(250);
  assert.equal(sent.length, 1);
  assert.equal(sent[0][0], 2);
  const m = decodeControl(sent[0][1]);
  assert.ok(typeof m !== 'string' && m.kind === 'announce');
  assert.deepEqual(
    m.entries.map((e) => e.origin),
    [50, 51],
  );
});

test('drift waits for the slower batch unless news for the same neighbour sends it sooner', () => {
  const sent: Array<[number, Uint8Array]> = [];
  const a = announcer(sent);
  const { announceIntervalMs: fast, driftAnnounceIntervalMs: slow } = DEFAULT_ROUTING_PARAMS;
  assert.ok(slow > 4 * fast);
  a.announce(2, 50, 7, 0, true);
  a.announce(3, 51, 1, 0, true);
  assert.equal(a.dueAt(), slow);
  a.tick(fast);
  assert.equal(sent.length, 0, 'drift does not go out in the fast batch');
  a.announce(2, 52, 1, 100); // news for 2: its whole batch goes with it
  assert.equal(a.dueAt(), 100 + fast);
  a.tick(100 + fast);
  assert.equal(sent.length, 1);
  assert.equal(sent[0][0], 2);
  const m = decodeControl(sent[0][1]);
  assert.ok(typeof m !== 'string' && m.kind === 'announce');
  assert.deepEqual(m.entries.map((e) => e.origin).sort(), [50, 52]);
  assert.equal(a.dueAt(), slow, "3's drift still waits");
  a.tick(slow);
  assert.equal(sent.length, 2);
  assert.equal(sent[1][0], 3);
  assert.equal(a.dueAt(), Infinity);
});

test('an accepted advert is drift only when it keeps the same links and link MTUs', () => {
  const links = (entries: Array<[number, number, number?]>) =>
    new Map(
      entries.map(([n, rttMs, mtu]) => [
        n,
        packLink({ rttMs, loss: 0, flags: mtu ? LINK_FLAG_MTU : 0, mtu }),
      ]),
    );
  const before = links([
    [3, 10],
    [4, 20],
  ]);
  assert.equal(advertNews(undefined, before), 'news', 'the first advert of an origin');
  assert.equal(advertNews(before, links([[3, 10]])), 'news', 'a link withdrawn');
  assert.equal(
    advertNews(
      before,
      links([
        [3, 10],
        [4, 20],
        [5, 1],
      ]),
    ),
    'news',
    'a link added',
  );
  assert.equal(
    advertNews(
      before,
      links([
        [3, 10],
        [5, 20],
      ]),
    ),
    'news',
    'a link swapped',
  );
  assert.equal(
    advertNews(
      before,
      links([
        [3, 10],
        [4, 20, 1300],
      ]),
    ),
    'news',
    'a link MTU',
  );
  assert.equal(
    advertNews(
      before,
      links([
        [3, 15],
        [4, 20],
      ]),
    ),
    'drift',
    'an RTT moved',
  );
  assert.equal(advertNews(before, before), 'drift', 'a refresh');
});

test('an announced advert is requested once, then from another holder if the first never answers', () => {
  const sent: Array<[number, Uint8Array]> = [];
  const a = announcer(sent);
  a.onAnnounce(2, [{ origin: 50, seq: 7 }], 0);
  a.onAnnounce(3, [{ origin: 50, seq: 7 }], 5);
  assert.equal(sent.length, 1, 'one request, not one per announcer');
  assert.equal(sent[0][0], 2);
  a.tick(DEFAULT_ROUTING_PARAMS.requestTimeoutMs + 1);
  assert.equal(sent.length, 2);
  assert.equal(sent[1][0], 3, 'retried with the other neighbour that has it');
  const m = decodeControl(sent[1][1]);
  assert.ok(typeof m !== 'string' && m.kind === 'request');
  assert.deepEqual(m.origins, [50]);
});

test('an announcement of something we already hold asks for nothing', () => {
  const sent: Array<[number, Uint8Array]> = [];
  const db = new LinkStateDb(SELF);
  db.offer(advert(50, [], 7), new Uint8Array([1]), 0);
  const a = announcer(sent, db);
  a.onAnnounce(2, [{ origin: 50, seq: 7 }], 0);
  a.onAnnounce(2, [{ origin: 50, seq: 6 }], 0);
  assert.equal(sent.length, 0);
});

test('an advert is urgent only when its origin flagged it and it withdraws a link we knew', () => {
  const links = (entries: Array<[number, number]>) =>
    new Map(entries.map(([n, flags]) => [n, packLink({ rttMs: 10, loss: 0, flags })]));
  const before = links([
    [3, LINK_FLAG_ACTIVE],
    [4, 0],
  ]);
  assert.equal(advertNews(before, links([[4, 0]]), true), 'urgent', 'flagged, and a link is gone');
  assert.equal(advertNews(before, links([[3, 0]]), true), 'urgent', 'whatever flags the gone link had');
  // Before the origin's flag, a withdrawn ACTIVE link was read as urgent: every advert dropping a link
  // whose flow had long ended flooded eagerly.
  assert.equal(advertNews(before, links([[4, 0]]), false), 'news', 'a link that once carried data');
  assert.equal(advertNews(before, before, true), 'drift', 'flagged, but nothing we knew is withdrawn');
  assert.equal(advertNews(undefined, links([]), true), 'news', 'the first advert we hear of that origin');
  assert.equal(withdrawsLink(before, links([[3, 0]])), true);
  assert.equal(withdrawsLink(before, before), false);
  assert.equal(withdrawsLink(undefined, links([])), false);
});

test('our own advert is pushed to every neighbour; a received one that is not urgent is announced', () => {
  const { db, graph } = world();
  const sent: number[] = [];
  const params = { ...DEFAULT_ROUTING_PARAMS, relayCoverage: 1 };
  const announcer = new Announcer(params, db, { send: () => {} });
  const policy = new FloodPolicy(SELF, params, db, graph, announcer, (n) => sent.push(n));
  assert.equal(policy.spread(new Uint8Array(3), SELF, 9, undefined, 'urgent', [2, 3, 4], 0), 3);
  assert.deepEqual(sent, [2, 3, 4]);
  sent.length = 0;
  // 6's advert from 4, not urgent: nothing pushed; 2 and 3 get it announced (6 is not their neighbour).
  assert.equal(policy.spread(new Uint8Array(3), 6, 9, 4, 'news', [2, 3, 4], 0), 0);
  assert.deepEqual(sent, []);
  assert.equal(announcer.dueAt(), DEFAULT_ROUTING_PARAMS.announceIntervalMs);
});

/** FloodPolicy of any node `self` over one shared database, as each node's view of it. */
function policiesOver(db: LinkStateDb): (self: number) => FloodPolicy {
  const params = { ...DEFAULT_ROUTING_PARAMS };
  return (self) =>
    new FloodPolicy(
      self,
      params,
      db,
      new LinkGraph(self, DEFAULT_COST_PARAMS),
      new Announcer(params, db, { send: () => {} }),
      () => {},
    );
}

test('a node the origin cannot reach hears of its advert from exactly three designated neighbours', () => {
  const ORIGIN = 100;
  const Z = 50; // blocked from ORIGIN
  const common = [SELF, ...Array.from({ length: 12 }, (_, i) => 10 + i)];
  const db = new LinkStateDb(SELF);
  const offer = (a: Advert): void => void db.offer(a, new Uint8Array([a.origin]), 0);
  offer(
    advert(
      ORIGIN,
      common.map((n) => [n, 0]),
    ),
  );
  offer(
    advert(
      Z,
      common.map((n) => [n, 0]),
    ),
  );
  const policyOf = policiesOver(db);
  const originLinks = db.get(ORIGIN)?.links;
  const announcers = common.filter((x) => policyOf(x).designatedAnnouncer(ORIGIN, Z, originLinks));
  assert.equal(announcers.length, 3, `announcers ${announcers}`);
  // Another blocked node gets another, independent choice of three.
  offer(
    advert(
      51,
      common.map((n) => [n, 0]),
    ),
  );
  const others = common.filter((x) => policyOf(x).designatedAnnouncer(ORIGIN, 51, originLinks));
  assert.equal(others.length, 3);
  assert.notDeepEqual(others, announcers);
  // With no advert of the blocked node we cannot know who else reaches it: announce.
  assert.equal(policyOf(SELF).designatedAnnouncer(ORIGIN, 77, originLinks), true);
});

test('a node the origin cannot reach hears of drift from the neighbours the origin pushed to, of news from two more', () => {
  const ORIGIN = 100;
  const Z = 50; // blocked from ORIGIN
  const common = [10, 11]; // next to both: the origin pushed its advert to them
  const secondHand = Array.from({ length: 8 }, (_, i) => 20 + i); // next to Z only
  const db = new LinkStateDb(SELF);
  const offer = (a: Advert): void => void db.offer(a, new Uint8Array([a.origin]), 0);
  offer(
    advert(
      ORIGIN,
      common.map((n) => [n, 0]),
    ),
  );
  offer(
    advert(
      Z,
      [...common, ...secondHand].map((n) => [n, 0]),
    ),
  );
  const policyOf = policiesOver(db);
  const originLinks = db.get(ORIGIN)?.links;
  const announcing = (news: AdvertNews): number[] =>
    [...common, ...secondHand].filter((x) => policyOf(x).designatedAnnouncer(ORIGIN, Z, originLinks, news));
  // With two pushed-to neighbours, each of the eight second-hand ones ranked itself among three and
  // announced too: ten announcements of every advert where two do.
  assert.deepEqual(announcing('drift'), common);
  // News (a link came or went: after a partition the pushed-to neighbours may be cut off) also takes
  // two of the second-hand ones, not all eight.
  const news = announcing('news');
  assert.deepEqual(news.slice(0, 2), common);
  assert.equal(news.length, 4, `announcers ${news}`);
  // Urgent news: every one of them.
  assert.equal(announcing('urgent').length, common.length + secondHand.length);
});

test('a node two hops or more from the origin hears of its advert from three designated neighbours, not all', () => {
  const ORIGIN = 100;
  const Z = 50; // no neighbour in common with ORIGIN
  const zNeighbours = [SELF, ...Array.from({ length: 12 }, (_, i) => 10 + i)];
  const db = new LinkStateDb(SELF);
  const offer = (a: Advert): void => void db.offer(a, new Uint8Array([a.origin]), 0);
  const originLinks = new Map(); // the origin's own neighbours are elsewhere
  offer(advert(ORIGIN, [[90, 0]]));
  offer(
    advert(
      Z,
      zNeighbours.map((n) => [n, 0]),
    ),
  );
  const policyOf = policiesOver(db);
  const lazy = zNeighbours.filter((x) => policyOf(x).designatedAnnouncer(ORIGIN, Z, originLinks));
  assert.equal(lazy.length, 3, `announcers ${lazy}`);
  // Urgent news still reaches z from every neighbour that has it.
  const urgent = zNeighbours.filter((x) => policyOf(x).designatedAnnouncer(ORIGIN, Z, originLinks, 'urgent'));
  assert.equal(urgent.length, zNeighbours.length);
  // A neighbour z's advert does not list yet (a link newer than the advert) announces: it cannot
  // know who else reaches z.
  assert.equal(policyOf(99).designatedAnnouncer(ORIGIN, Z, originLinks), true);
});

test('urgent news is announced to every neighbour the origin pushed to; other news only by a few backups', () => {
  const ORIGIN = 100;
  const neighbors = Array.from({ length: 40 }, (_, i) => 10 + i);
  const db = new LinkStateDb(SELF);
  db.offer(
    advert(
      ORIGIN,
      [SELF, ...neighbors].map((n) => [n, 0]),
    ),
    new Uint8Array([ORIGIN]),
    0,
  );
  const announcedTo = (urgent: boolean): Set<number> => {
    const news = urgent ? 'urgent' : 'news';
    const to = new Set<number>();
    const send = (n: number, m: Uint8Array): void => {
      const msg = decodeControl(m);
      if (typeof msg !== 'string' && msg.kind === 'announce') to.add(n);
    };
    const announcer = new Announcer(DEFAULT_ROUTING_PARAMS, db, { send });
    const graph = new LinkGraph(SELF, DEFAULT_COST_PARAMS);
    const policy = new FloodPolicy(SELF, DEFAULT_ROUTING_PARAMS, db, graph, announcer, () => {});
    // Received from the origin, which did not pick us as a relay: we push nothing ourselves.
    assert.equal(policy.spread(new Uint8Array(3), ORIGIN, 2, ORIGIN, news, [ORIGIN, ...neighbors], 0), 0);
    announcer.tick(DEFAULT_ROUTING_PARAMS.announceIntervalMs);
    return to;
  };
  assert.equal(announcedTo(true).size, neighbors.length);
  assert.ok(announcedTo(false).size < 10, 'a backup for about 3 in 40');
});
