// The JavaScript side of the inbound fast lane (forward/rx-lane.ts) over the in-memory data plane
// (forward-harness.ts) with a recording lane: which receive keypairs it installs after the JS path
// delivered data, which it never installs, that time and the session table reach it, and that what the
// lane reports is counted as the JS path would count it. The native lane is tested against the kernel
// in test/netns/fast-lane.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FAST_LANE_LEASE_MS, FAST_LANE_RENEW_MS } from '../../src/forward/fast-lane.js';
import { FastReceiveStat } from '../../src/transport/transport.js';
import { ForwardHarness, settle } from './forward-harness.js';
import { packet, payloadBytes, UDP } from './ip-packets.js';

async function world(): Promise<ForwardHarness> {
  const h = new ForwardHarness(['a', 'b', 'c'], { fastLane: true });
  await h.link('a', 'b');
  await h.link('b', 'c');
  await h.link('a', 'c');
  return h;
}

async function sendData(h: ForwardHarness, from: string, to: string): Promise<void> {
  const x = h.site(from);
  x.tun.inject(packet({ src: x.address, dst: h.site(to).address, proto: UDP, payload: payloadBytes(60) }));
  await settle();
}

/** a's receiver index of the keypair c seals with now. */
function indexAtA(h: ForwardHarness): number {
  return h.site('c').sessions.sendKeypair(h.site('a').m.id, h.clock.now())!.remoteIndex;
}

test('after the JS path delivered direct data, the receive keypair gets an entry', async () => {
  const h = await world();
  const a = h.site('a');
  const c = h.site('c');
  const rx = a.rx!;
  assert.equal(rx.entries.size, 0, 'keepalives and handshakes are not data');
  await sendData(h, 'c', 'a');
  assert.equal(a.tun.written.length, 1, 'the first packet went the JS way');
  assert.equal(rx.entries.size, 1);
  const index = indexAtA(h);
  const e = rx.entries.get(rx.slotOf(index))!;
  assert.ok(e, `an entry for index ${index}`);
  assert.equal(e.peer, c.m.id);
  assert.equal(
    Buffer.from(e.record).toString(),
    `${c.endpoint.host}:${c.endpoint.port}`,
    "c's bound endpoint",
  );
  assert.equal(e.keypairState, a.sessions.receiveKeypair(index)!.keypair.state);
  assert.equal(e.validUntilMs, h.clock.now() + 5000 + FAST_LANE_LEASE_MS, "on the TUN lane's clock");
  assert.deepEqual(
    rx.setups,
    [{ self: a.m.id, tun: { fd: 98, vnet: false } }],
    'told who we are and the TUN',
  );
});

test('relayed data gets no entry: its reverse route is the JS path’s to learn', async () => {
  const h = await world();
  h.route('c', 'a', ['c', 'b', 'a']);
  await sendData(h, 'c', 'a');
  assert.equal(h.site('a').tun.written.length, 1);
  assert.equal(h.site('a').rx!.entries.size, 0);
});

test('data from an address new to us gets no entry: the JS path must learn it', async () => {
  const h = await world();
  const a = h.site('a');
  const c = h.site('c');
  // a's proof that c is at its endpoint lapses (no probe answered for 30 s); the session lives on.
  h.clock.advance(31_000);
  assert.equal(a.peers.boundMember(`${c.endpoint.host}:${c.endpoint.port}`, h.clock.now()), undefined);
  a.prober.links.delete(c.m.id); // and a's prober knows no endpoint of c
  await sendData(h, 'c', 'a');
  assert.equal(a.tun.written.length, 1, 'the JS path delivered it');
  assert.equal(a.rx!.entries.size, 0);
});

test('data from an endpoint the prober knows for the member, bound to no one, gets an entry', async () => {
  const h = await world();
  const a = h.site('a');
  h.clock.advance(31_000); // the binding lapsed; a's prober still lists c's endpoint
  await sendData(h, 'c', 'a');
  assert.equal(a.rx!.entries.size, 1);
});

test('data from an address bound to another member gets no entry (a conflict the JS path counts)', async () => {
  const h = await world();
  const a = h.site('a');
  const c = h.site('c');
  h.clock.advance(31_000);
  a.peers.bind(`${c.endpoint.host}:${c.endpoint.port}`, h.site('b').m.id, h.clock.now());
  await sendData(h, 'c', 'a');
  assert.equal(a.rx!.entries.size, 0);
});

test('an entry ends with its keypair: the session table dropping it reaches the lane', async () => {
  const h = await world();
  await sendData(h, 'c', 'a');
  const a = h.site('a');
  assert.equal(a.rx!.entries.size, 1);
  h.clock.advance(180_000); // REJECT_AFTER: the keypair may open nothing more
  h.setLink('a', 'c', true); // c's endpoint proven again: only the keypair's age is left to decide
  a.dp.syncFastLane();
  assert.equal(a.rx!.entries.size, 0);
});

test('what the lane delivered and refused is counted as the JS path would', async () => {
  const h = await world();
  await sendData(h, 'c', 'a');
  const a = h.site('a');
  const c = h.site('c');
  const rx = a.rx!;
  const index = indexAtA(h);
  const o = rx.slotOf(index) * rx.statFields;
  rx.stats[o + FastReceiveStat.Packets] = 5;
  rx.stats[o + FastReceiveStat.Bytes] = 500;
  rx.stats[o + FastReceiveStat.Datagrams] = 8;
  rx.stats[o + FastReceiveStat.FirstDrop + 1] = 2; // replayed
  rx.stats[o + FastReceiveStat.FirstDrop + 5] = 1; // spoofed-source
  let received = 0;
  a.transport.countFastReceives = (n) => (received += n);
  const before = { ...a.counters.peer(c.m.id) };
  a.dp.syncFastLane();
  assert.equal(a.counters.peer(c.m.id).rxPackets, before.rxPackets + 5);
  assert.equal(a.counters.peer(c.m.id).rxBytes, before.rxBytes + 500);
  assert.equal(a.counters.fastLaneReceived, 5);
  assert.equal(h.drops('a', 'replayed'), 2);
  assert.equal(h.drops('a', 'spoofed-source'), 1);
  assert.equal(received, 8);
});

test('a member that left the configuration loses its entries', async () => {
  const h = await world();
  await sendData(h, 'c', 'a');
  await sendData(h, 'b', 'a');
  const a = h.site('a');
  assert.equal(a.rx!.entries.size, 2);
  a.dp.forget(h.site('c').m.id);
  assert.equal(a.rx!.entries.size, 1);
});

test('an unchanged entry is handed to native code again only when its validity runs low; a new session at once', async () => {
  const h = await world();
  await sendData(h, 'c', 'a');
  const a = h.site('a');
  const rx = a.rx!;
  const sets = rx.sets;
  h.clock.advance(FAST_LANE_LEASE_MS - FAST_LANE_RENEW_MS - 10);
  a.dp.syncFastLane();
  assert.equal(rx.sets, sets);
  h.clock.advance(20);
  a.dp.syncFastLane();
  assert.equal(rx.sets, sets + 1);
});

test('a failed TUN write in the lane turns it off until the device is healthy again', async () => {
  const h = await world();
  await sendData(h, 'c', 'a');
  const a = h.site('a');
  const rx = a.rx!;
  const o = rx.slotOf(indexAtA(h)) * rx.statFields;
  rx.stats[o + FastReceiveStat.Datagrams] = 1;
  rx.stats[o + FastReceiveStat.FirstDrop + 9] = 1; // tun-error: the interface went down
  rx.stats[o + FastReceiveStat.TunErrno] = 5; // EIO
  a.dp.syncFastLane();
  assert.deepEqual(a.lane!.writes.at(-1), [0, 1, 5], 'the device is told, to log it and bring itself back');
  assert.deepEqual(
    rx.setups.at(-1),
    { self: a.m.id, tun: undefined },
    'no TUN: the JS path writes, and sees it',
  );
  assert.equal(h.drops('a', 'tun-error'), 1);
  a.dp.syncFastLane();
  assert.deepEqual(rx.setups.at(-1)!.tun, undefined, 'still failing');
  a.lane!.healthy = true;
  a.dp.syncFastLane();
  assert.deepEqual(rx.setups.at(-1)!.tun, { fd: 98, vnet: false }, 'back');
});
