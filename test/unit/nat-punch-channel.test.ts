// Which members NatChannel tries to punch a direct link to: a member we hold a session with, reached
// through a relay, whose direct link is wanted. A bounded probe set leaves most members to relays by
// choice; punching them was a relayed request and answer every few seconds per node, each of which
// put the relay's next link on the 50 ms probe schedule (half of an idle 25-site lab's control bytes).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ForwardHarness, settle } from './forward-harness.js';

async function relayedSession(): Promise<ForwardHarness> {
  const h = new ForwardHarness(['a', 'b', 'c']);
  await h.link('a', 'b');
  await h.link('b', 'c');
  h.route('a', 'c', ['a', 'b', 'c']);
  h.route('c', 'a', ['c', 'b', 'a']);
  h.route('b', 'c', ['b', 'c']);
  h.route('b', 'a', ['b', 'a']);
  await h.handshake('a', 'c'); // its keepalive goes a → b → c
  return h;
}

async function tickAndDeliver(h: ForwardHarness): Promise<void> {
  h.clock.advance(1000);
  for (const s of h.sites.values()) s.dp.tick(h.clock.now());
  for (let i = 0; i < 4; i++) {
    for (const s of h.sites.values()) s.transport.flush();
    await settle();
  }
}

test('a member with no direct link, reached through a relay, is punched: a relayed request, answered', async () => {
  const h = await relayedSession();
  const a = h.site('a');
  const c = h.site('c');
  c.prober.leftToRelays.add(a.m.id); // only a tries
  const relayedBefore = h.site('b').counters.peer(a.m.id).relayedPackets;
  await tickAndDeliver(h);
  assert.equal(a.dp.nat.punches.counts.started, 1);
  assert.equal(h.site('b').counters.peer(a.m.id).relayedPackets, relayedBefore + 1, 'the request');
  assert.equal(c.dp.nat.punches.counts.answered, 1, 'c answered it');
  assert.equal(a.dp.nat.punches.counts.unsolicited, 0, 'the answer matched a’s request');
});

test('a member a bounded probe set leaves to relays is not punched', async () => {
  const h = await relayedSession();
  const a = h.site('a');
  const c = h.site('c');
  a.prober.leftToRelays.add(c.m.id);
  c.prober.leftToRelays.add(a.m.id);
  const relayed = (): number =>
    h.site('b').counters.peer(a.m.id).relayedPackets + h.site('b').counters.peer(c.m.id).relayedPackets;
  const relayedBefore = relayed();
  for (let i = 0; i < 30; i++) await tickAndDeliver(h);
  assert.equal(a.dp.nat.punches.counts.started + c.dp.nat.punches.counts.started, 0);
  assert.deepEqual([...a.prober.punched, ...c.prober.punched], []);
  assert.equal(relayed(), relayedBefore, 'nothing relayed in 30 s');
});
