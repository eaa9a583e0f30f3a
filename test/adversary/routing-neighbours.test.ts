// Control messages only from current direct neighbours (issue 10, "Required"). Routing control
// travels one hop; a member that is not a neighbour — it has no alive direct link by our prober, so
// its messages reached us relayed or from an endpoint we never proved — has nothing to say to our
// router. The first exchange of a link that just came up must still work when one side's prober
// sees the link before the other's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Mesh } from '../unit/routing-mesh.js';
import { G, MAX_SEQ, V, victimWorld, X } from './routing-hostile-member.js';

test('a member without a direct link is not listened to, whatever it sends', () => {
  const { mesh, h } = victimWorld();
  mesh.setLink(V, h.index, undefined); // H is a member, but no longer V's neighbour
  mesh.advance(100);
  const v = mesh.routers[V];
  const before = v.stats();
  const since = mesh.now;
  const wall = h.wall();
  const messages = [
    ...h.announce([{ origin: mesh.id(X), seq: MAX_SEQ }]),
    ...h.summary([]),
    h.request(mesh.members.map((m) => m.id)),
    h.ownAdvert(wall, h.ids([V])),
    h.junkDigest(3, () => 0.5),
  ];
  h.send(V, ...messages);
  mesh.advance(2000);
  const after = v.stats();
  assert.equal(after.advertsAccepted, before.advertsAccepted, 'its advert was not taken');
  assert.equal(after.requestsSent, before.requestsSent, 'its claims were not followed');
  assert.equal(after.rejected['not-neighbor'], messages.length);
  assert.equal(h.received(since).length, 0, 'nothing sent back');
  assert.deepEqual(mesh.route(V, X), [V, G, X], 'honest routing unaffected');
});

test('a link seen first by one side still converges: the other side’s first exchange carries it', () => {
  const [A, B, C] = [0, 1, 2];
  const mesh = new Mesh(3);
  mesh.setLink(B, C, 10);
  mesh.advance(3000);
  // A–B comes up, but only B's prober has noticed: B's first SUMMARY and its advert reach A first.
  mesh.setLink(A, B, 10);
  mesh.links[A].set(mesh.id(B), undefined);
  mesh.advance(2000);
  assert.ok((mesh.routers[A].stats().rejected['not-neighbor'] ?? 0) > 0, 'B spoke before A saw the link');
  assert.equal(mesh.route(A, C), undefined);
  // A's prober catches up; A's own first summary (0.25–0.75 s later) makes B announce what A lacks.
  mesh.links[A].set(mesh.id(B), 10);
  const upAt = mesh.now;
  while (mesh.now - upAt < 5000 && mesh.route(A, C) === undefined) mesh.advance(10);
  assert.deepEqual(mesh.route(A, C), [A, B, C]);
  assert.ok(mesh.now - upAt <= 2000, `A reached C ${mesh.now - upAt} ms after it saw the link`);
  assert.deepEqual(mesh.route(C, A), [C, B, A]);
});

test('a member whose direct probes reach us is listened to before our own probes confirm the link', () => {
  const [A, B, C] = [0, 1, 2];
  const mesh = new Mesh(3);
  mesh.setLink(B, C, 10);
  mesh.advance(3000);
  // A–B comes up; B's prober has seen it, A's has not, but A has been answering B's probes.
  mesh.setLink(A, B, 10);
  mesh.links[A].set(mesh.id(B), undefined);
  mesh.links[A].probers.add(mesh.id(B));
  mesh.advance(2000);
  assert.equal(mesh.routers[A].stats().rejected['not-neighbor'] ?? 0, 0);
  assert.equal(mesh.routers[A].stats().lsdbSize, 2, 'A holds B’s and C’s adverts already');
  // So when A's prober catches up, A routes to C at once: nothing is left to fetch.
  mesh.links[A].set(mesh.id(B), 10);
  mesh.advance(100);
  assert.deepEqual(mesh.route(A, C), [A, B, C]);
});
