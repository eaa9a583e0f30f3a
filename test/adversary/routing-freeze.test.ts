// Attack 1 (issue 10): freeze a victim's view of an origin. ANNOUNCE and SUMMARY entries are unsigned
// claims; the hostile neighbour claims X's advert at the largest seq there is (and at the largest
// seq the wall clock still allows) every 500 ms and never answers a request. Tracked per origin, its
// outstanding claim kept the victim from pulling X's refreshes from the honest neighbour until X's
// entry expired, and with it every path to X.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { routingParams } from '../../src/routing/routing-params.js';
import { G, MAX_SEQ, SKEW_MS, V, victimWorld, X } from './routing-hostile-member.js';

test('claims that are never answered do not stop the victim pulling an origin’s refreshes', () => {
  // Lifetimes of minutes, not the default hour: the attack's harm is an entry that expires because its
  // refreshes were never pulled, and five minutes of it must outlast X's advert twice.
  const { mesh, h } = victimWorld(routingParams({ advertLifetimeMs: 120_000, refreshMs: 30_000 }));

  // Five minutes: more than two lifetimes of X's advert (120 s), so X survives only on refreshes.
  const x = mesh.id(X);
  const claimed = (): number => h.received().filter((r) => r.msg.kind === 'request').length;
  let sent = 0;
  for (let t = 0; t < 300_000; t += 500) {
    const plausible = h.wall() + SKEW_MS - 1000;
    sent += h.send(V, ...h.announce([{ origin: x, seq: MAX_SEQ }]));
    sent += h.send(V, ...h.announce([{ origin: x, seq: plausible }]));
    sent += h.send(V, ...h.summary([{ origin: x, seq: plausible }]));
    mesh.advance(500);
  }

  assert.deepEqual(mesh.route(V, X), [V, G, X], 'X still reachable: its refreshes were pulled from G');
  const st = mesh.routers[V].stats();
  assert.ok((st.rejected['claim-in-future'] ?? 0) >= 600, 'the 2^53 − 1 claims were refused outright');
  assert.ok((st.rejected['request-unanswered'] ?? 0) >= 100, 'unanswered requests were counted');
  // The attacker got one small REQUEST per claim at most: it costs the victim nothing to speak of.
  assert.ok(claimed() <= 1200, `${claimed()} requests sent to the attacker`);
  assert.ok(h.bytesReceived() < sent, 'less sent back than the attacker sent');
});
