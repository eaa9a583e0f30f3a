// The data plane against hostile peers and paths, with whole nodes in one process: a relay that alters
// what it carries, a replayed datagram, a member lying about its inner source address, a stranger
// using a member as a relay, and routed headers bent on the way. Each is dropped and counted by
// reason, and the honest traffic around it keeps flowing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PacketType } from '../../src/wire/constants.js';
import { parseRoutedHeader, writeRoutedHeader } from '../../src/wire/routed-header.js';
import { Cluster, sleep, waitFor } from './cluster.js';
import { ipv4Udp } from './ip-builder.js';

describe('hostile relays, replays and spoofed sources', () => {
  let c: Cluster;
  const drops = (name: string, reason: string): number => c.get(name).node.counters.drops.get(reason) ?? 0;
  const idOf = (name: string): number => c.get(name).node.self.id;
  const ep = (name: string): { host: string; port: number } => ({ host: c.get(name).host, port: 7946 });

  before(async () => {
    c = await Cluster.create(['a', 'b', 'c']);
    for (const [from, to] of [
      ['a', 'b'],
      ['a', 'c'],
      ['b', 'c'],
    ])
      await c.deliver(from, to, Buffer.from(`warm ${from}${to}`));
  });
  after(async () => {
    c.net.tamper = undefined;
    await c?.close();
  });

  /** A relayed data packet (route not empty) bigger than a keepalive, probe or echo. */
  const relayedData = (data: Buffer): boolean => {
    const h = parseRoutedHeader(data, data.length);
    return typeof h !== 'string' && h.type === PacketType.Data && h.routeLen > 0 && data.length > 60;
  };

  it('a replayed datagram is dropped as replayed and delivered once', async () => {
    await waitFor(() => c.get('a').node.router.route(idOf('c'))?.nodes.length === 2, 10_000, 'a→c direct');
    const marker = Buffer.from('DELIVER-ONCE-'.padEnd(120, 'r'));
    c.net.record = true;
    await c.deliver('a', 'c', marker);
    c.net.record = false;
    const captured = c.net.wire.filter(
      (r) => r.from.host === c.get('a').host && r.to.host === c.get('c').host && r.data.length > 150,
    );
    assert.ok(captured.length > 0, 'captured the datagram');
    const copies = () => c.get('c').tun.written.filter((p) => p.subarray(28).equals(marker)).length;
    const delivered = copies();
    const before = drops('c', 'replayed');
    for (const rec of captured) c.net.deliver(rec.from, rec.to, Buffer.from(rec.data));
    await waitFor(() => drops('c', 'replayed') >= before + captured.length, 3000, 'replays counted');
    assert.equal(copies(), delivered, 'no second copy on the TUN');
  });

  it('a member cannot send with another member’s overlay address as inner source', async () => {
    const before = drops('c', 'spoofed-source');
    // a's own kernel would not do this, but a compromised a could: claim to be b.
    const spoofed = ipv4Udp(c.get('b').address, c.get('c').address, Buffer.from('I am b, honest'));
    c.get('a').tun.inject(spoofed);
    await waitFor(() => drops('c', 'spoofed-source') > before, 3000, 'c to drop the spoofed packet');
    assert.equal(c.received('c', Buffer.from('I am b, honest')), false);
  });

  it('a relay cannot alter what it carries undetected: the destination drops it as auth-failed', async () => {
    c.net.cut(c.get('a').host, c.get('c').host);
    await waitFor(() => c.get('a').node.router.route(idOf('c'))?.nodes.length === 3, 5000, 'a→b→c');
    await c.deliver('a', 'c', Buffer.from('honest, via b'));
    const before = drops('c', 'auth-failed');
    // b flips one bit of the sealed body of everything it relays to c.
    c.net.tamper = (rec) => {
      if (rec.from.host === c.get('b').host && rec.to.host === c.get('c').host && relayedData(rec.data))
        rec.data[rec.data.length - 20] ^= 0x01;
    };
    const altered = Buffer.from('ALTERED-BY-RELAY-'.padEnd(200, 'x'));
    for (let i = 0; i < 5; i++) {
      c.send('a', 'c', altered);
      await sleep(30);
    }
    await waitFor(() => drops('c', 'auth-failed') >= before + 5, 3000, 'c to reject the altered packets');
    assert.equal(c.received('c', altered), false, 'nothing altered reached the TUN');
    c.net.tamper = undefined;
    await c.deliver('a', 'c', Buffer.from('honest again'));
    c.net.restore(c.get('a').host, c.get('c').host);
  });

  it('a relay forwards only within its hop limit and only when the route names it', async () => {
    c.net.cut(c.get('a').host, c.get('c').host);
    await waitFor(() => c.get('a').node.router.route(idOf('c'))?.nodes.length === 3, 5000, 'a→b→c');
    const ttlBefore = drops('b', 'ttl-exceeded');
    c.net.tamper = (rec) => {
      if (rec.from.host === c.get('a').host && relayedData(rec.data)) rec.data[1] = 1;
    };
    const expired = Buffer.from('TTL-ONE-'.padEnd(100, 'y'));
    c.send('a', 'c', expired);
    await waitFor(() => drops('b', 'ttl-exceeded') > ttlBefore, 3000, 'b to drop at the hop limit');
    const misroutedBefore = drops('b', 'misrouted');
    c.net.tamper = (rec) => {
      // The route now names someone else as the next relay (a repeated id, or src or dst, would be a
      // malformed route: dropped as bad-route before this check; see test/adversary).
      if (rec.from.host === c.get('a').host && relayedData(rec.data)) rec.data.writeUInt32BE(0x0badf00d, 4);
    };
    const misrouted = Buffer.from('MISROUTED-'.padEnd(100, 'z'));
    c.send('a', 'c', misrouted);
    await waitFor(() => drops('b', 'misrouted') > misroutedBefore, 3000, 'b to drop a route not naming it');
    c.net.tamper = undefined;
    assert.equal(c.received('c', expired) || c.received('c', misrouted), false);
    await c.deliver('a', 'c', Buffer.from('relayed fine again'));
    c.net.restore(c.get('a').host, c.get('c').host);
  });

  it('a stranger cannot use a member as a relay, even naming members as source and destination', async () => {
    const stranger = c.net.attach('192.0.2.99', 7946);
    const before = drops('b', 'unauthenticated-hop');
    const pkt = Buffer.alloc(200, 0x5a);
    writeRoutedHeader(pkt, PacketType.Data, 16, [idOf('b')], idOf('a'), idOf('c'));
    for (let i = 0; i < 10; i++) stranger.send(Buffer.from(pkt), ep('b'));
    await waitFor(() => drops('b', 'unauthenticated-hop') >= before + 10, 3000, 'b to refuse the stranger');
    const strangerInit = Buffer.alloc(180, 0x11);
    writeRoutedHeader(strangerInit, PacketType.HandshakeInit, 16, [], 0x1234_5678, idOf('b'));
    const notMember = drops('b', 'not-for-member');
    stranger.send(strangerInit, ep('b'));
    await waitFor(() => drops('b', 'not-for-member') > notMember, 3000, 'b to drop a non-member handshake');
    await stranger.close();
    await c.deliver('a', 'c', Buffer.from('members unaffected'));
  });
});
