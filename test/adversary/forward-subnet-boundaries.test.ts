// Subnet routes (issue 13 part 1) seen from a hostile member. b is the gateway for 192.168.50.0/24 and c
// for 192.168.60.0/24; a and d serve no LAN. With its own keys and sessions, a member crafts packets
// that the honest forwarding would never send:
//   - to b, for c's LAN (or any LAN b does not serve): b must not write it to its TUN, or b's host would
//     forward it wherever its own routes say — a member reaching a network through a gateway that
//     never offered it;
//   - to b, from inside b's own LAN or c's LAN while not their gateway: the inner source check must
//     refuse it, or a member could speak as a LAN host (replies would go to that host, and a firewall
//     on the LAN would trust it).
// Each is dropped and counted; the same member's honest packets are delivered (the checks are not just
// closed doors).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../e2e/cluster.js';
import { udpPayload } from '../e2e/ip-builder.js';
import { adversaryCluster, craft, innerIp, type Adversaries } from './forward-hostile.js';

describe('subnet boundaries against hostile members', () => {
  let a: Adversaries;
  before(async () => {
    a = await adversaryCluster(['a', 'b', 'c', 'd'], {
      subnets: { b: ['192.168.50.0/24'], c: ['192.168.60.0/24'] },
    });
    for (const from of ['a', 'c', 'd']) await a.c.deliver(from, 'b', Buffer.from(`warm ${from}b`));
  });
  after(() => a?.c.close());

  /** Sends, as member `from` with its own session, an inner packet src → dst to b; returns its tag. */
  const toB = (from: string, src: string, dst: string): string => {
    const tag = `${from}:${src}>${dst}`;
    a.sock(from).raw(craft(a, from, 'b', innerIp(src, dst, Buffer.from(tag))), a.ep('b'));
    return tag;
  };
  const written = (tag: string): boolean =>
    a.c.get('b').tun.written.some((p) => udpPayload(p).toString() === tag);

  it('a gateway writes to its TUN its own LAN, not a LAN it is not the gateway for', async () => {
    const drops = a.drops('b', 'not-local-destination');
    const src = a.c.get('a').address;
    const refused = ['192.168.60.5', '192.168.51.1', '10.0.0.1'].map((dst) => toB('a', src, dst));
    await waitFor(
      () => a.drops('b', 'not-local-destination') >= drops + refused.length,
      3000,
      'b to drop them',
    );
    const lan = toB('a', src, '192.168.50.5');
    await waitFor(() => written(lan), 3000, 'the packet for b’s own LAN');
    for (const tag of refused) assert.equal(written(tag), false, tag);
  });

  it('a member cannot send from a LAN it is not the gateway for', async () => {
    const drops = a.drops('b', 'spoofed-source');
    const b = a.c.get('b').address;
    const spoofed = [
      toB('d', '192.168.60.7', b), // c's LAN, from d
      toB('c', '192.168.50.7', b), // b's own LAN, from c (a gateway, but of another LAN)
      toB('c', '192.168.61.7', b), // next to c's LAN
      toB('a', a.c.get('d').address, b), // another member's overlay address
    ];
    await waitFor(() => a.drops('b', 'spoofed-source') >= drops + spoofed.length, 3000, 'b to drop them');
    // c sending from inside its own LAN is what a gateway does: delivered.
    const honest = toB('c', '192.168.60.7', b);
    await waitFor(() => written(honest), 3000, 'c’s packet from its LAN');
    for (const tag of spoofed) assert.equal(written(tag), false, tag);
  });
});
