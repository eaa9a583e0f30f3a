// Attack 5 (issue 10): a hostile relay strips the route from what it relays, so that each end receives
// the other's packets "directly" from the relay's address. Before PathFlags, the route was outside the
// AEAD: the packets authenticated, each end learned the relay's address as the other's endpoint, both
// would advertise an a–c link that does not exist, and the relay could then drop data at will.
// Now a stripped packet fails authentication, teaches nothing, and end-to-end liveness moves the
// traffic to the honest relay.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sleep, waitFor } from '../e2e/cluster.js';
import { adversaryCluster, header, stripRoute, type Adversaries } from './forward-hostile.js';

describe('attack 5: a relay strips routes to fake a direct link', () => {
  let a: Adversaries;
  before(async () => {
    a = await adversaryCluster(['a', 'b', 'c', 'd']);
    a.c.net.cut(a.c.get('a').host, a.c.get('c').host);
    await waitFor(() => a.c.get('a').node.router.route(a.id('c'))?.nodes.length === 3, 10_000, 'a→?→c');
    await waitFor(() => a.c.get('c').node.router.route(a.id('a'))?.nodes.length === 3, 10_000, 'c→?→a');
    await a.c.deliver('a', 'c', Buffer.from('warm ac'));
    await a.c.deliver('c', 'a', Buffer.from('warm ca'));
  });
  after(() => a?.c.close());

  it('stripped packets fail authentication at both ends, teach no endpoint, and traffic moves to the other relay', async () => {
    const relayOf = (from: string, to: string): string =>
      a.c.get(from).node.router.route(a.id(to))!.nodes[1] === a.id('b') ? 'b' : 'd';
    const x = relayOf('a', 'c');
    const y = x === 'b' ? 'd' : 'b';
    // Each end's route is its own choice: the receivers of stripped packets are c, and a too when c's
    // route to a also goes through x.
    const victims = relayOf('c', 'a') === x ? ['c', 'a'] : ['c'];
    // x strips the route of everything it relays between a and c and sends it on from its own address.
    a.sock(x).inbound = (data) => {
      const h = header(data);
      if (!h || h.routeLen === 0 || (h.dst !== a.id('a') && h.dst !== a.id('c'))) return 'pass';
      a.sock(x).raw(stripRoute(data, h), h.dst === a.id('a') ? a.ep('a') : a.ep('c'));
      return 'consumed';
    };
    const authBefore = new Map(victims.map((v) => [v, a.drops(v, 'auth-failed')]));
    const traffic = setInterval(() => {
      a.c.send('a', 'c', Buffer.alloc(400, 0x61));
      a.c.send('c', 'a', Buffer.alloc(400, 0x63));
    }, 50);
    try {
      await waitFor(
        () => victims.every((v) => a.drops(v, 'auth-failed') >= authBefore.get(v)! + 3),
        5000,
        `${victims.join(' and ')} to reject stripped packets`,
      );
      // No end took x's address for the other's, nor unbound it from x.
      const xKey = a.key(x);
      for (const me of victims) {
        const other = me === 'a' ? 'c' : 'a';
        const node = a.c.get(me).node;
        assert.deepEqual(
          node.prober.endpoints(a.id(other)).filter((e) => e.endpointKey === xKey),
          [],
          `${me} learned ${x}'s address as ${other}'s`,
        );
        assert.equal(
          node.peers.boundMember(xKey, performance.now()),
          a.id(x),
          `${xKey} still ${x}'s at ${me}`,
        );
      }
      // The path through x carries nothing any more: end-to-end liveness moves the senders to y.
      for (const me of victims) {
        const other = me === 'a' ? 'c' : 'a';
        await waitFor(() => relayOf(other, me) === y, 5000, `${other}→${y}→${me}`);
      }
    } finally {
      clearInterval(traffic);
    }
    await a.c.deliver('a', 'c', Buffer.from('honest, around the hostile relay'));
    await a.c.deliver('c', 'a', Buffer.from('and back'));
    await sleep(200);
    assert.ok((a.c.get('a').node.counters.pathFailures.get(a.id('c')) ?? 0) >= 1);
  });
});
