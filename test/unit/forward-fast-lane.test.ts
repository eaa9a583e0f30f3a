// The JavaScript side of the TUN's outbound fast lane (forward/fast-lane.ts) over the in-memory data
// plane (forward-harness.ts) with a recording lane: what it installs after the JS path sent data, that
// each change of route, link, session or time reaches the lane at the next event, and that what the
// lane reports sending is counted and keeps the prober and the path watch informed. The native lane
// itself is tested against the kernel in test/netns/fast-lane.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FAST_LANE_LEASE_MS, FAST_LANE_RENEW_MS } from '../../src/forward/fast-lane.js';
import { BATCH_SYNC_MS } from '../../src/forward/fast-lanes.js';
import { FastStat } from '../../src/tun/tun-device.js';
import { ForwardHarness, settle, type RecordingFastLane } from './forward-harness.js';
import { packet, payloadBytes, UDP } from './ip-packets.js';

/** a and c linked directly, b linked to both; a's lane. */
async function world(): Promise<{ h: ForwardHarness; lane: RecordingFastLane }> {
  const h = new ForwardHarness(['a', 'b', 'c'], { fastLane: true });
  await h.link('a', 'b');
  await h.link('b', 'c');
  await h.link('a', 'c');
  return { h, lane: h.site('a').lane! };
}

async function sendData(h: ForwardHarness, from: string, to: string, n = 1): Promise<void> {
  const x = h.site(from);
  for (let i = 0; i < n; i++)
    x.tun.inject(
      packet({ src: x.address, dst: h.site(to).address, proto: UDP, payload: payloadBytes(100, i) }),
    );
  await settle();
}

test('nothing is installed before the JS path sent data: the first packet after a quiet spell goes through JavaScript', async () => {
  const { h, lane } = await world();
  h.site('a').dp.syncFastLane();
  assert.equal(lane.entries.size, 0, 'handshakes and keepalives are not data');
  await sendData(h, 'a', 'c');
  assert.equal(h.site('c').tun.written.length, 1, 'the first packet went the JS way');
  assert.equal(h.site('a').prober.active.at(-1), h.site('c').m.id, 'and marked the link active');
  assert.equal(lane.entries.size, 2, "then c's IPv4 and IPv6 address have an entry");
});

test("an entry seals with the session's keypair, starts with the routed header and ends with the windows", async () => {
  const { h, lane } = await world();
  await sendData(h, 'a', 'c');
  const a = h.site('a');
  const c = h.site('c');
  const now = h.clock.now();
  for (const addr of [c.address, c.address6]) {
    const e = lane.entryFor(addr);
    assert.ok(e, `entry for ${addr}`);
    assert.equal(e.keypairState, a.sessions.sendKeypair(c.m.id, now)!.state);
    assert.equal(e.header[2], 0, 'direct: no relays');
    assert.equal(e.header.readUInt32BE(e.headerLength - 8), a.m.id);
    assert.equal(e.header.readUInt32BE(e.headerLength - 4), c.m.id);
    assert.equal(e.fd, 99);
    assert.equal(Buffer.from(e.record).toString(), `${c.endpoint.host}:${c.endpoint.port}`);
    assert.equal(e.maxPacket, 1380, 'the path MTU');
    assert.equal(e.clampSyn, false);
    // On the lane's clock (5 s ahead here): the lease, within the prober's 2 s active window.
    assert.equal(e.validUntilMs, now + 5000 + FAST_LANE_LEASE_MS);
  }
});

test('a route change reaches the lane at the next event; the new first hop must be in use first', async () => {
  const { h, lane } = await world();
  await sendData(h, 'a', 'c');
  h.route('a', 'c', ['a', 'b', 'c']);
  h.site('a').dp.syncFastLane(); // the timer's wake-up in which routing changed
  assert.equal(lane.entries.size, 0, 'b is not marked active yet: the next packet goes through JavaScript');
  await sendData(h, 'a', 'c');
  assert.equal(h.site('a').prober.active.at(-1), h.site('b').m.id);
  const e = lane.entryFor(h.site('c').address)!;
  assert.equal(e.header[2], 1, 'one relay');
  assert.equal(e.header.readUInt32BE(4), h.site('b').m.id);
  const b = h.site('b');
  assert.equal(Buffer.from(e.record).toString(), `${b.endpoint.host}:${b.endpoint.port}`, 'sent to b');
});

test('a received batch is an event too: what it changed is in the lane when it returns, at most every 10 ms', async () => {
  const { h, lane } = await world();
  await sendData(h, 'a', 'c');
  await sendData(h, 'c', 'a'); // a's inbound lane takes c's session: a sync at once
  h.site('a').prober.markActive(h.site('b').m.id, h.clock.now()); // b carries data to someone
  h.route('a', 'c', ['a', 'b', 'c']);
  await sendData(h, 'c', 'a'); // a receives a batch, in the same millisecond as the last sync
  assert.equal(lane.entryFor(h.site('c').address)!.header[2], 0, 'not yet: a sync ran < 10 ms ago');
  h.clock.advance(BATCH_SYNC_MS);
  await sendData(h, 'c', 'a');
  assert.equal(lane.entryFor(h.site('c').address)!.header[2], 1);
});

test('a dead link with no other way removes the entries', async () => {
  const { h, lane } = await world();
  await sendData(h, 'a', 'c');
  h.setLink('a', 'c', false);
  h.site('a').dp.syncFastLane();
  assert.equal(lane.entries.size, 0);
});

test('a new session replaces the keypair in the entry', async () => {
  const { h, lane } = await world();
  await sendData(h, 'a', 'c');
  const before = lane.entryFor(h.site('c').address)!.keypairState;
  await h.handshake('a', 'c');
  h.site('a').dp.syncFastLane();
  const after = lane.entryFor(h.site('c').address)!.keypairState;
  assert.notEqual(after, before);
  assert.equal(after, h.site('a').sessions.sendKeypair(h.site('c').m.id, h.clock.now())!.state);
});

test('an entry never outlives the active window: idle for 2 s, the lane lets go', async () => {
  const { h, lane } = await world();
  await sendData(h, 'a', 'c');
  h.clock.advance(1500);
  h.site('a').dp.syncFastLane();
  const e = lane.entryFor(h.site('c').address)!;
  assert.equal(e.validUntilMs, 1000 + 2000 + 5000 + 0, "the prober's window ends first now");
  h.clock.advance(600);
  h.site('a').dp.syncFastLane();
  assert.equal(lane.entries.size, 0);
});

test('what the lane sent is counted, keeps the first hop active and the destination watched', async () => {
  const { h, lane } = await world();
  await sendData(h, 'a', 'c');
  const a = h.site('a');
  const c = h.site('c');
  const slot = lane.slotOf(c.address);
  const o = slot * lane.statFields;
  lane.stats[o + FastStat.Packets] = 10;
  lane.stats[o + FastStat.Bytes] = 1280;
  lane.stats[o + FastStat.Largest] = 128;
  const txBefore = a.counters.peer(c.m.id).txPackets;
  h.clock.advance(1500);
  a.prober.active.length = 0;
  a.dp.syncFastLane();
  assert.equal(a.counters.peer(c.m.id).txPackets, txBefore + 10);
  assert.equal(a.counters.fastLanePackets, 10);
  assert.deepEqual(a.prober.active, [c.m.id], 'the link is in use');
  assert.equal(a.dp.watch.dataUntil(c.m.id), h.clock.now() + 2000, 'the path is watched');
  assert.equal(lane.entryFor(c.address)!.validUntilMs, h.clock.now() + 5000 + FAST_LANE_LEASE_MS, 'renewed');
});

test('packets the kernel refused are handed to the transport as send drops', async () => {
  const { h, lane } = await world();
  await sendData(h, 'a', 'c');
  const a = h.site('a');
  let reported: number[] = [];
  a.transport.countFastSends = (sent, dropped, errno) => {
    reported = [sent, dropped, errno];
  };
  const o = lane.slotOf(h.site('c').address) * lane.statFields;
  lane.stats[o + FastStat.Packets] = 4;
  lane.stats[o + FastStat.Drops] = 1;
  lane.stats[o + FastStat.Errno] = 11;
  a.dp.syncFastLane();
  assert.deepEqual(reported, [3, 1, 11]);
});

test('a destination reached over a ws link gets no entry (no socket to send on)', async () => {
  const { h, lane } = await world();
  const a = h.site('a');
  const route = a.transport.fastRoute!;
  a.transport.fastRoute = () => undefined; // as for a `via: ws` endpoint
  await sendData(h, 'a', 'c');
  assert.equal(lane.entries.size, 0);
  // A flow to it must not sync the lanes after every batch: it waits for the next regular sync.
  const takes = lane.takes;
  await sendData(h, 'a', 'c');
  await sendData(h, 'a', 'c');
  assert.equal(lane.takes, takes, 'no sync within 10 ms for a destination the lane refused');
  a.transport.fastRoute = route;
});

test('a member that left the configuration loses its entries; a recreated device gets them again', async () => {
  const { h, lane } = await world();
  await sendData(h, 'a', 'c');
  await sendData(h, 'a', 'b');
  assert.equal(lane.entries.size, 4);
  h.site('a').dp.forget(h.site('b').m.id);
  assert.equal(lane.entries.size, 2);
  lane.entries.clear();
  lane.generation++; // the device was created again: its entries are gone
  h.site('a').dp.syncFastLane();
  assert.equal(lane.entries.size, 2, "c's entries are back");
});

test('under network.mssClamp the entries send TCP SYNs to JavaScript', async () => {
  const h = new ForwardHarness(['a', 'c'], { fastLane: true, mssClamp: true });
  await h.link('a', 'c');
  await sendData(h, 'a', 'c');
  assert.equal(h.site('a').lane!.entryFor(h.site('c').address)!.clampSyn, true);
});

test('an unchanged decision is handed to native code again only when its validity runs low', async () => {
  const { h, lane } = await world();
  await sendData(h, 'a', 'c');
  const a = h.site('a');
  const sets = lane.sets;
  h.clock.advance(FAST_LANE_LEASE_MS - FAST_LANE_RENEW_MS - 10);
  a.dp.syncFastLane();
  assert.equal(lane.sets, sets, 'nothing changed and enough time is left: no native call');
  h.clock.advance(20);
  a.dp.syncFastLane();
  assert.equal(lane.sets, sets + 2, 'renewed, both addresses');
  h.route('a', 'c', ['a', 'b', 'c']);
  a.prober.markActive(h.site('b').m.id, h.clock.now());
  a.dp.syncFastLane();
  assert.equal(lane.sets, sets + 4, 'a new route is handed over at once');
});
