// Attack 4 (issue 10), amplification and CPU: a REQUEST naming one advert 300 times drew 300 copies;
// requests and digests repeated at line rate drew everything we hold each time; a member's own
// adverts (and forgeries in its neighbours' names) were verified at whatever rate they came. Each is
// now bounded by a budget (control-budgets.ts) or deduplicated, and honest routing carries on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_ROUTING_PARAMS } from '../../src/routing/routing-params.js';
import { seededRandom } from '../sim/rng.js';
import { G, V, victimWorld, X } from './routing-hostile-member.js';

test('a REQUEST naming one advert 299 times is answered with one copy', () => {
  const { mesh, h } = victimWorld();
  const since = mesh.now;
  const sent = h.send(V, h.request(new Array<number>(299).fill(mesh.id(G))));
  const adverts = h.received(since).filter((r) => r.msg.kind === 'advert');
  assert.equal(adverts.length, 1, `${adverts.length} copies for one ${sent}-byte request`);
  assert.equal(mesh.routers[V].stats().rejected['duplicate-request'], 1);
});

test('asking for everything at line rate for a minute draws less than it sends', () => {
  const { mesh, h } = victimWorld();
  const since = mesh.now;
  const all = mesh.members.map((m) => m.id);
  let sent = 0;
  for (let t = 0; t < 60_000; t += 10) {
    sent += h.send(V, h.request(all));
    mesh.advance(10);
  }
  const back = h.received(since).filter((r) => r.msg.kind === 'advert');
  const bytes = back.reduce((a, r) => a + r.bytes, 0);
  // Without a budget: every request answered with all 4 adverts, ~6000 × 4 copies.
  assert.ok(back.length < 600, `${back.length} adverts sent back`);
  assert.ok(bytes < sent, `${bytes} bytes back for ${sent} sent`);
  assert.ok((mesh.routers[V].stats().rejected['reply-budget'] ?? 0) > 1000, 'refusals counted');
  assert.deepEqual(mesh.route(V, X), [V, G, X], 'honest routing unaffected');
});

test('junk DIGESTs (every bucket differs) are answered within the reply budget', () => {
  const { mesh, h } = victimWorld();
  const since = mesh.now;
  const random = seededRandom(5);
  let sent = 0;
  for (let t = 0; t < 20_000; t += 10) {
    sent += h.send(V, h.junkDigest(7, random));
    mesh.advance(10);
  }
  const bytes = h
    .received(since)
    .filter((r) => r.msg.kind === 'summary')
    .reduce((a, r) => a + r.bytes, 0);
  // Without a budget: 128 summaries (≥ 11 bytes each) for every 772-byte digest, 2000 times.
  assert.ok(bytes < sent / 4, `${bytes} bytes of summaries back for ${sent} bytes of digests`);
  assert.deepEqual(mesh.route(V, X), [V, G, X], 'honest routing unaffected');
});

test('a member’s own adverts at any rate cost at most its origination budget in verifications', () => {
  const { mesh, h } = victimWorld();
  const before = mesh.verifyCalls[V];
  let seq = h.wall();
  for (let t = 0; t < 1000; t += 10) {
    for (let k = 0; k < 20; k++) h.send(V, h.ownAdvert(++seq, h.ids([V])));
    mesh.advance(10);
  }
  const verified = mesh.verifyCalls[V] - before;
  // 2000 adverts in a second: a burst of 20, then 2 a second (control-budgets.ts).
  assert.ok(verified <= 25, `${verified} verifications for 2000 adverts`);
  assert.ok((mesh.routers[V].stats().rejected['origin-rate'] ?? 0) >= 1970);
  assert.deepEqual(mesh.route(V, X), [V, G, X], 'honest routing unaffected');
});

test('forged adverts in a neighbour’s name cost at most the sender’s verification budget, and never the origin’s', () => {
  const { mesh, h } = victimWorld();
  const v = mesh.routers[V];
  const before = mesh.verifyCalls[V];
  let seq = h.wall();
  for (let t = 0; t < 1000; t += 10) {
    for (let k = 0; k < 20; k++)
      h.send(V, h.forgedAdvert(mesh.id(G), ++seq), h.forgedAdvert(mesh.id(X), seq));
    mesh.advance(10);
  }
  const verified = mesh.verifyCalls[V] - before;
  // 4000 forgeries in a second: 2 × members + 64 at once, then members / 15 s + 8 a second.
  assert.ok(verified <= 2 * 4 + 64 + 10 + 5, `${verified} verifications for 4000 forgeries`);
  assert.ok((v.stats().rejected['verify-budget'] ?? 0) > 3800);
  // G's and X's genuine refreshes are still accepted: the forgeries spent H's budget, not theirs.
  const accepted = v.stats().advertsAccepted;
  mesh.advance(DEFAULT_ROUTING_PARAMS.refreshMs + 10_000);
  assert.ok(v.stats().advertsAccepted >= accepted + 2, 'G and X refreshed meanwhile');
  assert.deepEqual(mesh.route(V, X), [V, G, X], 'honest routing unaffected');
});
