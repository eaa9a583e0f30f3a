// forward/ end to end over in-memory batch doubles (forward-harness.ts): outbound batches sealed per
// destination run, inbound batches opened per keypair run with the inner checks, relaying and local
// repair at a relay, and what a hostile member or relay can and cannot get through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InnerKind } from '../../src/wire/constants.js';
import { ForwardHarness, settle } from './forward-harness.js';
import {
  checksumsValid,
  GSO_TCPV4,
  packet,
  payloadBytes,
  payloadOf,
  superPacket,
  TCP,
  timestamps,
  UDP,
  type PacketSpec,
} from './ip-packets.js';

const TSO = { tso: true, uso: false };

function bulk(h: ForwardHarness, from: string, to: string, bytes: number, v: 4 | 6 = 4): PacketSpec {
  const x = h.site(from);
  const y = h.site(to);
  return {
    src: v === 4 ? x.address : x.address6,
    dst: v === 4 ? y.address : y.address6,
    proto: TCP,
    payload: payloadBytes(bytes),
    seq: 1000,
    ack: 1,
    options: timestamps(1, 2),
  };
}

/** Packets the wire carried from one host to another since recording started. */
function wire(h: ForwardHarness, from: string, to: string): Buffer[] {
  return h.net.wire
    .filter((r) => r.from.host === h.site(from).endpoint.host && r.to.host === h.site(to).endpoint.host)
    .map((r) => r.data);
}

for (const v of [4, 6] as const) {
  test(`IPv${v}: a TSO super-packet goes out as one sealed datagram per segment and is written as one coalesced packet`, async () => {
    const h = new ForwardHarness(['a', 'c'], { offloads: { a: TSO, c: TSO } });
    await h.link('a', 'c');
    h.net.record = true;
    const mss = 1380 - (v === 4 ? 20 : 40) - 32;
    const spec = bulk(h, 'a', 'c', 40 * mss, v);
    const { packet: sp, vnet } = superPacket(spec, mss);
    h.site('a').tun.injectSuper(sp, vnet);
    await settle();
    assert.equal(wire(h, 'a', 'c').length, 40, 'one datagram per segment');
    const c = h.site('c');
    assert.equal(c.tun.writes.length, 1, 'one TUN write');
    const w = c.tun.writes[0]!;
    assert.equal(w.vnet[1], v === 4 ? GSO_TCPV4 : 4);
    assert.deepEqual(payloadOf(w.packet), Buffer.from(spec.payload));
    const t = c.counters.peer(h.site('a').m.id);
    assert.equal(t.rxPackets, 40);
    assert.equal(h.site('a').counters.peer(c.m.id).txPackets, 40);
    assert.equal(c.counters.totalDrops(), 0);
  });
}

test('without offloads each packet is its own TUN write, in order, checksums intact', async () => {
  const h = new ForwardHarness(['a', 'c'], { offloads: { a: TSO } });
  await h.link('a', 'c');
  const { packet: sp, vnet } = superPacket(bulk(h, 'a', 'c', 10 * 1000), 1000);
  h.site('a').tun.injectSuper(sp, vnet);
  await settle();
  const written = h.site('c').tun.written;
  assert.equal(written.length, 10);
  written.forEach((p, i) => {
    assert.ok(checksumsValid(p));
    assert.equal(p.readUInt32BE(24), 1000 + i * 1000, 'sequence order kept');
  });
});

test('one batch to several destinations is sealed per destination run and reaches each', async () => {
  const h = new ForwardHarness(['a', 'b', 'c']);
  await h.link('a', 'b');
  await h.link('a', 'c');
  const a = h.site('a');
  const to = (dst: string, n: number): Buffer =>
    packet({ src: a.address, dst: h.site(dst).address, proto: UDP, payload: payloadBytes(100, n) });
  for (const [dst, n] of [
    ['b', 1],
    ['b', 2],
    ['c', 3],
    ['b', 4],
    ['c', 5],
  ] as const)
    a.tun.inject(to(dst, n));
  await settle();
  assert.deepEqual(
    h.site('b').tun.written.map((p) => payloadOf(p)),
    [1, 2, 4].map((n) => payloadBytes(100, n)),
  );
  assert.deepEqual(
    h.site('c').tun.written.map((p) => payloadOf(p)),
    [3, 5].map((n) => payloadBytes(100, n)),
  );
});

test('packets for no member, multicast, ourselves or too big for a datagram are counted, never sent', async () => {
  const h = new ForwardHarness(['a', 'c']);
  await h.link('a', 'c');
  const a = h.site('a');
  const udp = (dst: string, n = 10): Buffer =>
    packet({ src: a.address, dst, proto: UDP, payload: payloadBytes(n) });
  a.tun.inject(udp('10.77.0.99'));
  a.tun.inject(udp('224.0.0.251'));
  a.tun.inject(udp(a.address));
  a.tun.inject(Buffer.from([0x10, 0, 0, 0]));
  a.tun.inject(udp(h.site('c').address, 1380 - 28)); // a full MTU packet: fits
  await settle();
  assert.equal(h.drops('a', 'no-member'), 2);
  assert.equal(h.drops('a', 'not-unicast'), 1);
  assert.equal(h.drops('a', 'not-ip'), 1);
  assert.equal(h.site('c').tun.written.length, 1);
});

test('without a session the run waits for the handshake and goes once it completes', async () => {
  const h = new ForwardHarness(['a', 'c']);
  h.setLink('a', 'c', true);
  h.setLink('c', 'a', true);
  const a = h.site('a');
  for (let n = 0; n < 3; n++)
    a.tun.inject(
      packet({ src: a.address, dst: h.site('c').address, proto: UDP, payload: payloadBytes(50, n) }),
    );
  await settle();
  assert.equal(h.site('c').tun.written.length, 0);
  await h.handshake('a', 'c');
  a.dp.outbound.flushPending(h.site('c').m.id, h.clock.now());
  a.transport.flush();
  await settle();
  assert.equal(h.site('c').tun.written.length, 3);
});

test('inner checks: a member cannot claim another address as source nor reach past our addresses', async () => {
  const h = new ForwardHarness(['a', 'b', 'c']);
  await h.link('a', 'c');
  const a = h.site('a');
  const c = h.site('c');
  const sealIp = (ip: Buffer): void => {
    // A hostile a seals whatever it likes: the data plane's own single-packet path, kind IP.
    a.dp.outbound.sendSealed(
      c.m.id,
      Buffer.concat([Buffer.from([InnerKind.IPPacket]), ip]),
      h.clock.now(),
      true,
    );
    a.transport.flush();
  };
  const udp = (src: string, dst: string): Buffer =>
    packet({ src, dst, proto: UDP, payload: payloadBytes(20) });
  sealIp(udp(h.site('b').address, c.address)); // b's address as source
  sealIp(udp(a.address, '10.77.0.99')); // behind c's TUN
  sealIp(udp(a.address6, c.address6).subarray(0, 30)); // IPv6 header cut short
  sealIp(udp(a.address, c.address)); // fine
  await settle();
  assert.equal(h.drops('c', 'spoofed-source'), 1);
  assert.equal(h.drops('c', 'not-local-destination'), 1);
  assert.equal(h.drops('c', 'not-ip'), 1);
  assert.equal(c.tun.written.length, 1);
});

test('a replayed or altered datagram is dropped in a batch; the rest of the batch is delivered', async () => {
  const h = new ForwardHarness(['a', 'c']);
  await h.link('a', 'c');
  h.net.record = true;
  const a = h.site('a');
  const c = h.site('c');
  const send = (n: number): void =>
    a.tun.inject(packet({ src: a.address, dst: c.address, proto: UDP, payload: payloadBytes(64, n) }));
  send(1);
  await settle();
  const [first] = wire(h, 'a', 'c');
  // In one batch at c: a replay of the first, then 2 altered on the way, then 3.
  let n = 0;
  h.net.tamper = (rec) => {
    if (n++ === 0) rec.data[rec.data.length - 20] ^= 1;
  };
  c.transport.enqueue(Buffer.from(first!), a.endpoint);
  send(2);
  send(3);
  await settle();
  assert.equal(h.drops('c', 'replayed'), 1);
  assert.equal(h.drops('c', 'auth-failed'), 1);
  assert.deepEqual(
    c.tun.written.map(payloadOf),
    [1, 3].map((k) => payloadBytes(64, k)),
    'each once',
  );
});

test('relay: b forwards a→c without opening it; a relay that strips the route breaks authentication', async () => {
  const h = new ForwardHarness(['a', 'b', 'c'], { offloads: { a: TSO } });
  await h.link('a', 'b');
  await h.link('b', 'c');
  h.setLink('a', 'c', false);
  h.route('a', 'c', ['a', 'b', 'c']);
  h.route('c', 'a', ['c', 'b', 'a']);
  await h.handshake('a', 'c');
  h.net.record = true;
  const a = h.site('a');
  const c = h.site('c');
  const relayedBefore = h.site('b').counters.peer(a.m.id).relayedPackets; // the handshake's keepalive
  // The relay reports what it relays; the prober decides what is a flow (Prober.noteRelayed): a lone
  // keepalive must not put b's link to c on the fast probe schedule.
  assert.deepEqual(h.site('b').prober.active, [], 'relaying marks nothing active by itself');
  // Only the keepalive is reported: the initiation and the response are handshakes, never a flow.
  assert.deepEqual(h.site('b').prober.relayed, [c.m.id]);
  const { packet: sp, vnet } = superPacket(bulk(h, 'a', 'c', 8 * 1000), 1000);
  h.site('a').tun.injectSuper(sp, vnet);
  await settle();
  assert.equal(c.tun.written.length, 8, 'all arrive via b');
  assert.equal(h.site('b').tun.written.length, 0, 'the relay delivers nothing to itself');
  assert.equal(h.site('b').counters.peer(a.m.id).relayedPackets - relayedBefore, 8);
  assert.equal(wire(h, 'a', 'c').length, 0);
  // b turns a relayed packet into a "direct" one (route stripped): the nonce no longer matches. The
  // original is kept from c (made unparseable) so the stripped copy is news to c's replay window.
  let kept: Buffer | undefined;
  h.net.tamper = (rec) => {
    if (rec.to.host !== c.endpoint.host || kept) return;
    kept = Buffer.from(rec.data);
    rec.data[0] = 99;
  };
  a.tun.inject(packet({ src: a.address, dst: c.address, proto: UDP, payload: payloadBytes(40) }));
  await settle();
  assert.equal(h.drops('c', 'unknown-type'), 1);
  const stripped = Buffer.concat([Buffer.from([kept![0]!, kept![1]!, 0, 0]), kept!.subarray(8)]);
  c.transport.receive(stripped, h.site('b').endpoint);
  await settle();
  assert.equal(h.drops('c', 'auth-failed'), 1);
  assert.equal(c.tun.written.length, 8);
});

test('relay repeats: in one batch, a header seen before takes its decision; the hop limit, another header or another neighbour still count', async () => {
  const h = new ForwardHarness(['a', 'b', 'c']);
  await h.link('a', 'b');
  await h.link('b', 'c');
  h.setLink('a', 'c', false);
  h.route('a', 'c', ['a', 'b', 'c']);
  await h.handshake('a', 'c');
  h.net.record = true;
  const a = h.site('a');
  const b = h.site('b');
  a.tun.inject(packet({ src: a.address, dst: h.site('c').address, proto: UDP, payload: payloadBytes(30) }));
  await settle();
  const [toB] = wire(h, 'a', 'b');
  const variant = (change: (d: Buffer) => void): Buffer => {
    const d = Buffer.from(toB!);
    change(d);
    return d;
  };
  const before = b.counters.peer(a.m.id).relayedPackets;
  // One batch at b: a packet, its twin, the twin with hop limit 1, one that says b was passed already
  // (misrouted), and the twin again from an address bound to no member.
  b.transport.enqueue(
    variant(() => {}),
    a.endpoint,
  );
  b.transport.enqueue(
    variant(() => {}),
    a.endpoint,
  );
  b.transport.enqueue(
    variant((d) => (d[1] = 1)),
    a.endpoint,
  );
  b.transport.enqueue(
    variant((d) => (d[3] = 1)),
    a.endpoint,
  );
  b.transport.enqueue(
    variant(() => {}),
    { host: '192.0.2.99', port: 1 },
  );
  await settle();
  assert.equal(b.counters.peer(a.m.id).relayedPackets - before, 2);
  assert.equal(h.drops('b', 'ttl-exceeded'), 1);
  assert.equal(h.drops('b', 'misrouted'), 1);
  assert.equal(h.drops('b', 'unauthenticated-hop'), 1);
  assert.ok(
    wire(h, 'b', 'c')
      .slice(-2)
      .every((d) => d[1] === toB![1]! - 1 && d[3] === 1),
    'hop limit and position moved',
  );
});

test('local repair: a relay whose next link died splices its own path to the destination', async () => {
  const h = new ForwardHarness(['a', 'b', 'c', 'd']);
  await h.link('a', 'b');
  await h.link('b', 'c');
  await h.link('b', 'd');
  await h.link('d', 'c');
  h.route('a', 'c', ['a', 'b', 'c']);
  h.route('c', 'a', ['c', 'b', 'a']);
  await h.handshake('a', 'c');
  // b's link to c dies; b's own router already goes round by d.
  h.setLink('b', 'c', false);
  h.route('b', 'c', ['b', 'd', 'c']);
  h.net.record = true;
  const a = h.site('a');
  const c = h.site('c');
  a.tun.inject(packet({ src: a.address, dst: c.address, proto: UDP, payload: payloadBytes(200, 7) }));
  await settle();
  assert.equal(c.tun.written.length, 1, 'delivered by the repaired route');
  assert.deepEqual(payloadOf(c.tun.written[0]!), payloadBytes(200, 7));
  const viaD = wire(h, 'd', 'c')[0]!;
  assert.equal(viaD[2], 2, 'the route now lists b and d');
  assert.equal(h.site('d').counters.peer(a.m.id).relayedPackets, 1);
  // Without any path, b drops and says why.
  h.site('b').router.paths.delete(c.m.id);
  a.tun.inject(packet({ src: a.address, dst: c.address, proto: UDP, payload: payloadBytes(10) }));
  await settle();
  assert.equal(h.drops('b', 'no-next-hop'), 1);
});

test('a TUN that refuses writes is counted as tun-error; delivery resumes when it takes them again', async () => {
  const h = new ForwardHarness(['a', 'c']);
  await h.link('a', 'c');
  const a = h.site('a');
  const c = h.site('c');
  const send = (n: number): void =>
    a.tun.inject(packet({ src: a.address, dst: c.address, proto: UDP, payload: payloadBytes(30, n) }));
  c.tun.failWith = 'EIO';
  send(1);
  send(2);
  await settle();
  assert.equal(h.drops('c', 'tun-error'), 2);
  c.tun.failWith = '';
  send(3);
  await settle();
  assert.deepEqual(c.tun.written.map(payloadOf), [payloadBytes(30, 3)]);
});

test('receives the kernel dropped for a full socket queue are counted with the drops', async () => {
  const h = new ForwardHarness(['a', 'c']);
  await h.link('a', 'c');
  const a = h.site('a');
  const c = h.site('c');
  c.dp.inbound.onBatch({
    buffer: Buffer.alloc(0),
    offsets: new Uint32Array(0),
    lengths: new Uint32Array(0),
    count: 0,
    overflowDrops: 2,
    source: () => a.endpoint,
  });
  assert.equal(h.drops('c', 'socket-full'), 2);
  // Traffic goes on as before.
  a.tun.inject(packet({ src: a.address, dst: c.address, proto: UDP, payload: payloadBytes(64, 1) }));
  await settle();
  assert.deepEqual(c.tun.written.map(payloadOf), [payloadBytes(64, 1)]);
});

/**
 * A standing queue at `at` that never drains, as its transport's standing-delay control sees it: every
 * datagram of every batch marked (RxBatch.shed). `dropBefore` plays the transport as it was before the
 * marks: the marked datagrams never reach the data plane.
 */
function standingQueueAt(h: ForwardHarness, at: string, dropBefore = false): void {
  const s = h.site(at);
  s.transport.onBatch((batch) => {
    if (dropBefore) return s.dp.inbound.onBatch({ ...batch, count: 0 });
    s.dp.inbound.onBatch({ ...batch, shed: new Uint8Array(batch.count).fill(1) });
  });
}

/** a sends `seconds` of 1200-byte packets to c, 20 per 50 ms of virtual time, timer work run as due. */
async function bulkFlow(h: ForwardHarness, seconds: number): Promise<void> {
  const a = h.site('a');
  const c = h.site('c');
  for (let t = 0; t < seconds * 1000; t += 50) {
    for (let n = 0; n < 20; n++)
      a.tun.inject(packet({ src: a.address, dst: c.address, proto: UDP, payload: payloadBytes(1200, n) }));
    a.dp.tick(h.clock.now());
    c.dp.tick(h.clock.now());
    await settle();
    h.clock.advance(50);
  }
}

test('a standing queue drops the IP packets it marked after opening them: none reaches the TUN', async () => {
  const h = new ForwardHarness(['a', 'c']);
  await h.link('a', 'c');
  standingQueueAt(h, 'c');
  const a = h.site('a');
  const c = h.site('c');
  for (let n = 0; n < 3; n++)
    a.tun.inject(packet({ src: a.address, dst: c.address, proto: UDP, payload: payloadBytes(1200, n) }));
  await settle();
  assert.equal(c.tun.written.length, 0);
  assert.equal(h.drops('c', 'queue-delay'), 3);
  assert.equal(c.counters.peer(a.m.id).rxPackets, 0, 'dropped packets are not counted as delivered');
});

test('a standing queue never drops path probes: a bulk flow into a congested receiver does not fail a working path', async () => {
  const h = new ForwardHarness(['a', 'c']);
  await h.link('a', 'c');
  h.route('a', 'c', ['a', 'c']);
  h.route('c', 'a', ['c', 'a']);
  standingQueueAt(h, 'c');
  await bulkFlow(h, 3);
  const a = h.site('a');
  const dropped = h.drops('c', 'queue-delay');
  assert.ok(dropped >= 1000, `${dropped} data packets dropped`);
  assert.equal(a.counters.pathFailures.size, 0, 'no path failure');
  assert.equal(a.dp.watch.liveness.lostInARow(h.site('c').m.id), 0);
});

test('the same congested receiver dropping before the open (data and probes alike) fails the path', async () => {
  // What the test above guards against: data-sized probes sharing the fate of the data they stand for.
  const h = new ForwardHarness(['a', 'c']);
  await h.link('a', 'c');
  h.route('a', 'c', ['a', 'c']);
  h.route('c', 'a', ['c', 'a']);
  standingQueueAt(h, 'c', true);
  await bulkFlow(h, 3);
  assert.equal(h.site('a').counters.pathFailures.get(h.site('c').m.id), 1);
});

test('relay: handshakes through b are not reported as a flow; data is', async () => {
  const h = new ForwardHarness(['a', 'b', 'c']);
  await h.link('a', 'b');
  await h.link('b', 'c');
  h.setLink('a', 'c', false);
  h.route('a', 'c', ['a', 'b', 'c']);
  h.route('c', 'a', ['c', 'b', 'a']);
  const a = h.site('a');
  const b = h.site('b');
  const c = h.site('c');
  // An initiation and its retry's copy (same bytes), c's response and whatever a sends to confirm the
  // session: handshake packets used to put b's links to c and a on the fast schedule at every rekey.
  const init = a.sessions.createInitiation(c.m.id, h.clock.now());
  for (let i = 0; i < 2; i++) {
    a.dp.control.sendInitiation(c.m.id, init, h.clock.now());
    a.transport.flush();
    await settle();
    c.transport.flush();
    a.transport.flush();
    await settle();
  }
  const reports = (m: number): number => b.prober.relayed.filter((x) => x === m).length;
  const towardsC = b.counters.peer(a.m.id).relayedPackets;
  assert.ok(towardsC >= 2, 'the initiations went through b');
  assert.ok(b.counters.peer(c.m.id).relayedPackets >= 1, 'so did the response');
  assert.equal(reports(a.m.id), 0, 'the response is not reported');
  assert.equal(reports(c.m.id), towardsC - 2, 'nor are the initiations: only data');
  a.dp.outbound.sendSealed(c.m.id, Buffer.from([0]), h.clock.now(), false);
  a.transport.flush();
  await settle();
  assert.equal(reports(c.m.id), towardsC - 1, 'a data packet is');
});
