// Path MTU in the real data plane over in-memory doubles (forward-harness.ts): the link's MTU found by
// MtuProbes across a network that loses every datagram over 1272 bytes, then what outbound does with
// packets over the path MTU (ICMP back to the TUN, fragments for IPv4 without DF, the IPv6 floor, the
// rate limit), and jumbo datagrams carried whole.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dataOverhead } from '../../src/wire/sizes.js';
import { TOO_BIG_ICMP_RATE } from '../../src/forward/too-big.js';
import { ForwardHarness, settle } from './forward-harness.js';
import { checksumsValid, packet, payloadBytes, refSum, TCP, UDP } from './ip-packets.js';

const HOLE = 1272;

/** a and c linked over a network that silently loses datagrams over HOLE bytes (ICMP filtered). */
async function blackHole(): Promise<ForwardHarness> {
  const h = new ForwardHarness(['a', 'c']);
  await h.link('a', 'c');
  // The memory network can't drop by size; a broken tag drops the datagram at c just as surely.
  h.net.tamper = (rec) => {
    if (rec.data.length > HOLE) rec.data[rec.data.length - 1]! ^= 0xff;
  };
  const a = h.site('a');
  const c = h.site('c');
  for (let i = 0; i < 100 && a.dp.mtu.status()[0]?.state !== 'settled'; i++) {
    h.clock.set(h.clock.now() + 100);
    for (const s of [a, c]) {
      s.dp.tick(h.clock.now());
      s.transport.flush();
    }
    await settle();
  }
  return h;
}

function tunPackets(h: ForwardHarness, at: string): Buffer[] {
  return h.site(at).tun.written;
}

describe('path MTU in the data plane', () => {
  it('finds the largest datagram a link carries with padded probes, and the path MTU from it', async () => {
    const h = await blackHole();
    const a = h.site('a');
    const [link] = a.dp.mtu.status();
    assert.equal(link?.state, 'settled');
    assert.ok(link!.datagramBytes <= HOLE && link!.datagramBytes >= HOLE - 8, `${link!.datagramBytes}`);
    assert.equal(a.dp.mtu.pathMtuTo(h.site('c').m.id, h.clock.now()), link!.datagramBytes - dataOverhead(0));
    assert.ok(a.dp.mtu.probesSent > 0 && a.dp.mtu.repliesReceived > 0);
    // What it found goes to routing, to be advertised with the link.
    assert.equal(a.router.ownLinkMtus.get(h.site('c').m.id), link!.datagramBytes);
  });

  it("takes a relayed path's MTU as the smallest over all its hops: a smaller second hop lowers it", async () => {
    const h = new ForwardHarness(['a', 'b', 'c']);
    await h.link('a', 'b');
    await h.link('b', 'c');
    await h.link('a', 'c');
    h.route('a', 'c', ['a', 'b', 'c']);
    const a = h.site('a');
    const [B, C] = [h.site('b').m.id, h.site('c').m.id];
    const now = h.clock.now();
    // Our own first hop is not known below the top: only the tun's MTU bounds the path.
    assert.equal(a.dp.mtu.pathMtuTo(C, now), 1380);
    // b advertises that its link to c carries 1300-byte datagrams; c's link back does not matter.
    a.router.linkMtus.set(`${B}>${C}`, 1300);
    a.router.linkMtus.set(`${C}>${B}`, 1240);
    assert.equal(a.dp.mtu.pathMtuTo(C, now), 1300 - dataOverhead(1));
    // A packet over it is answered with that MTU, not sent.
    const big = packet({ src: a.address, dst: h.site('c').address, proto: TCP, payload: payloadBytes(1300) });
    a.tun.inject(big);
    await settle();
    const [icmp] = tunPackets(h, 'a');
    assert.equal(icmp?.readUInt16BE(26), 1300 - dataOverhead(1));
    assert.equal(h.drops('a', 'too-big'), 1);
  });

  it('answers an IPv4 packet with DF over the path MTU with ICMP fragmentation needed', async () => {
    const h = await blackHole();
    const a = h.site('a');
    const c = h.site('c');
    const mtu = a.dp.mtu.pathMtuTo(c.m.id, h.clock.now());
    const big = packet({ src: a.address, dst: c.address, proto: TCP, payload: payloadBytes(1340) });
    const before = c.counters.peer(a.m.id).rxPackets;
    a.tun.inject(big);
    await settle();
    const [icmp] = tunPackets(h, 'a');
    assert.ok(icmp, 'an ICMP error on the TUN');
    assert.equal(icmp[9], 1);
    assert.equal(icmp[20], 3);
    assert.equal(icmp[21], 4);
    assert.equal(icmp.readUInt16BE(26), mtu);
    assert.equal(refSum(icmp.subarray(20)), 0xffff);
    assert.deepEqual(icmp.subarray(28, 48), big.subarray(0, 20), 'quotes the packet');
    assert.equal(h.drops('a', 'too-big'), 1);
    assert.equal(a.counters.tooBigIcmpSent, 1);
    assert.equal(c.counters.peer(a.m.id).rxPackets, before, 'nothing sent');
    // A packet that fits goes through.
    a.tun.inject(packet({ src: a.address, dst: c.address, proto: TCP, payload: payloadBytes(mtu - 40) }));
    await settle();
    assert.equal(c.counters.peer(a.m.id).rxPackets, before + 1);
  });

  it('fragments an IPv4 packet with DF clear to the path MTU; the fragments arrive', async () => {
    const h = await blackHole();
    const a = h.site('a');
    const c = h.site('c');
    const mtu = a.dp.mtu.pathMtuTo(c.m.id, h.clock.now());
    const big = packet({ src: a.address, dst: c.address, proto: UDP, payload: payloadBytes(1300) });
    big[6] = 0; // DF clear
    big.writeUInt16BE(0, 10);
    big.writeUInt16BE(~refSum(big.subarray(0, 20)) & 0xffff, 10);
    a.tun.inject(big);
    await settle();
    const got = tunPackets(h, 'c');
    assert.equal(got.length, 2);
    assert.ok(got.every((f) => f.length <= mtu));
    assert.deepEqual(Buffer.concat(got.map((f) => f.subarray(20))), big.subarray(20));
    assert.equal(a.counters.fragmented, 1);
    assert.equal(tunPackets(h, 'a').length, 0, 'no ICMP');
  });

  it('tells IPv6 senders 1280 at least, and sends IPv6 packets up to 1280 bytes as they are', async () => {
    const h = await blackHole();
    const a = h.site('a');
    const c = h.site('c');
    assert.ok(a.dp.mtu.pathMtuTo(c.m.id, h.clock.now()) < 1280);
    a.tun.inject(packet({ src: a.address6, dst: c.address6, proto: TCP, payload: payloadBytes(1300) }));
    await settle();
    const [ptb] = tunPackets(h, 'a');
    assert.equal(ptb?.[40], 2);
    assert.equal(ptb!.readUInt32BE(44), 1280);
    const sent = a.counters.peer(c.m.id).txPackets;
    a.tun.inject(packet({ src: a.address6, dst: c.address6, proto: TCP, payload: payloadBytes(1280 - 60) }));
    await settle();
    assert.equal(a.counters.peer(c.m.id).txPackets, sent + 1);
    assert.equal(tunPackets(h, 'a').length, 1, 'no second error');
  });

  it('rate-limits the ICMP errors and counts what it withheld', async () => {
    const h = await blackHole();
    const a = h.site('a');
    const c = h.site('c');
    const n = TOO_BIG_ICMP_RATE.capacity + 30;
    for (let i = 0; i < n; i++)
      a.tun.inject(
        packet({ src: a.address, dst: c.address, proto: TCP, payload: payloadBytes(1340), seq: i }),
      );
    await settle(20);
    assert.equal(h.drops('a', 'too-big'), n);
    assert.equal(a.counters.tooBigIcmpSent, TOO_BIG_ICMP_RATE.capacity);
    assert.equal(a.counters.tooBigIcmpLimited, 30);
  });

  it('with mssClamp, lowers the MSS of a SYN read from the TUN to the path MTU (checksum kept)', async () => {
    for (const clamp of [false, true]) {
      const h = new ForwardHarness(['a', 'c'], { mssClamp: clamp });
      await h.link('a', 'c');
      const a = h.site('a');
      const c = h.site('c');
      const syn = packet({
        src: a.address,
        dst: c.address,
        proto: TCP,
        payload: new Uint8Array(0),
        flags: 0x02,
        options: Uint8Array.from([2, 4, 0x05, 0xb4]), // MSS 1460: a host with a 1500-byte interface
      });
      a.tun.inject(syn);
      await settle();
      const [got] = tunPackets(h, 'c');
      assert.ok(got && checksumsValid(got));
      assert.equal(got.readUInt16BE(42), clamp ? 1380 - 40 : 1460);
      assert.equal(a.counters.mssClamped, clamp ? 1 : 0);
    }
  });

  it('carries jumbo datagrams whole when the MTU is 9000 (no "oversized" drop)', async () => {
    const h = new ForwardHarness(['a', 'c'], { mtu: 9000 });
    await h.link('a', 'c');
    const a = h.site('a');
    const c = h.site('c');
    const p = packet({ src: a.address, dst: c.address, proto: UDP, payload: payloadBytes(8000) });
    a.tun.inject(p);
    await settle();
    assert.deepEqual(tunPackets(h, 'c'), [p]);
    assert.equal(a.counters.totalDrops() + c.counters.totalDrops(), 0);
  });
});
