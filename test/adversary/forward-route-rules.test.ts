// Attack 5, second half (issue 10): crafted routes. Before, a route could list the same relays over
// and over (one spoofed datagram crossed the overlay 8 times), and nobody checked that a packet came
// from the hop its route says handed it on: any member could inject mid-route in another's name, or
// tell a destination a packet was relayed when it was not. Now routes that repeat an id or name src or
// dst are malformed, each relay checks its previous hop against the address the packet came from, and
// the destination checks the last relay before decrypting.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PacketType } from '../../src/wire/constants.js';
import { writeRoutedHeader } from '../../src/wire/routed-header.js';
import { sleep, waitFor } from '../e2e/cluster.js';
import { adversaryCluster, craft, innerIp, type Adversaries } from './forward-hostile.js';

describe('attack 5: crafted routes and previous hops', () => {
  let a: Adversaries;
  /** Packets relayed so far by `relay` on behalf of `src`. */
  const relayed = (relay: string, src: string): number =>
    a.c.get(relay).node.counters.peers.get(a.id(src))?.relayedPackets ?? 0;

  before(async () => {
    a = await adversaryCluster(['a', 'b', 'c', 'd', 'm']);
    for (const [from, to] of [
      ['m', 'b'],
      ['m', 'c'],
      ['b', 'c'],
      ['c', 'd'],
      ['b', 'd'],
      ['a', 'b'],
    ])
      await a.c.deliver(from, to, Buffer.from(`warm ${from}${to}`));
    // Every address proven at every node (probe replies bind them).
    await waitFor(
      () =>
        ['b', 'c'].every((n) =>
          ['a', 'b', 'c', 'd', 'm']
            .filter((o) => o !== n)
            .every((o) => a.c.get(n).node.peers.boundMember(a.key(o), performance.now()) === a.id(o)),
        ),
      5000,
      'addresses bound',
    );
  });
  after(() => a?.c.close());

  it('a route that repeats relays is dropped at the first one: no ping-pong across the overlay', async () => {
    const badRoute = a.drops('b', 'bad-route');
    const before = { b: relayed('b', 'm'), c: relayed('c', 'm') };
    const pkt = Buffer.alloc(300, 0x42);
    const ids = ['b', 'c', 'b', 'c', 'b', 'c', 'b'].map(a.id);
    writeRoutedHeader(pkt, PacketType.Data, 16, ids, a.id('m'), a.id('d'));
    a.sock('m').raw(pkt, a.ep('b'));
    // A route naming the source or destination among its relays is just as malformed.
    for (const route of [
      ['b', 'm'],
      ['b', 'd'],
    ]) {
      const p = Buffer.alloc(200, 0x43);
      writeRoutedHeader(p, PacketType.Data, 16, route.map(a.id), a.id('m'), a.id('d'));
      a.sock('m').raw(p, a.ep('b'));
    }
    await waitFor(() => a.drops('b', 'bad-route') >= badRoute + 3, 3000, 'b to drop the malformed routes');
    await sleep(200);
    assert.deepEqual({ b: relayed('b', 'm'), c: relayed('c', 'm') }, before, 'relayed nowhere');
  });

  it('a relay forwards only what the previous hop of the route handed it', async () => {
    const wrongHop = a.drops('b', 'wrong-previous-hop');
    const before = { a: relayed('b', 'a'), c: relayed('b', 'c') };
    // m (its own address, bound to m at b) claims the packet comes from a, b the first relay...
    const asA = Buffer.alloc(300, 0x44);
    writeRoutedHeader(asA, PacketType.Data, 16, [a.id('b')], a.id('a'), a.id('d'));
    a.sock('m').raw(asA, a.ep('b'));
    // ...or that c already relayed it and b is the second relay.
    const midRoute = Buffer.alloc(300, 0x45);
    writeRoutedHeader(midRoute, PacketType.Data, 16, [a.id('c'), a.id('b')], a.id('m'), a.id('d'));
    midRoute[3] = 1;
    a.sock('m').raw(midRoute, a.ep('b'));
    await waitFor(
      () => a.drops('b', 'wrong-previous-hop') >= wrongHop + 2,
      3000,
      'b to check the previous hop',
    );
    await sleep(200);
    assert.deepEqual(
      { a: relayed('b', 'a'), c: relayed('b', 'c') },
      before,
      'nothing relayed in another’s name',
    );
  });

  it('a destination checks the last relay before decrypting', async () => {
    const wrongHop = a.drops('c', 'wrong-previous-hop');
    // m seals a genuine packet for c but marks it as relayed by b, and sends it straight to c.
    const payload = Buffer.from('claims to come through b');
    const pkt = craft(a, 'm', 'c', innerIp(a.c.get('m').address, a.c.get('c').address, payload), {
      relays: [a.id('b')],
      pos: 1,
    });
    a.sock('m').raw(pkt, a.ep('c'));
    await waitFor(() => a.drops('c', 'wrong-previous-hop') > wrongHop, 3000, 'c to check the last relay');
    assert.equal(a.c.received('c', payload), false);
    // Honest relaying still works: b relays for m to c.
    a.c.net.cut(a.c.get('m').host, a.c.get('c').host);
    try {
      await waitFor(() => a.c.get('m').node.router.route(a.id('c'))?.nodes.length === 3, 10_000, 'm→?→c');
      await a.c.deliver('m', 'c', Buffer.from('honestly relayed'));
    } finally {
      a.c.net.restore(a.c.get('m').host, a.c.get('c').host);
    }
  });
});
