// Attack 6, operator side (issue 10): `overlayd ping` / `trace` accepted a ProbeReply from any member
// for any (sequential) id, so a relay on the path could drop the probes and answer them itself: the
// operator saw a healthy path that delivered nothing. Now only the pinged member's own (sealed) reply
// counts, and ids are crypto-random. The test gives the relay the id outright — the strongest case.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PacketType } from '../../src/wire/constants.js';
import { waitFor } from '../e2e/cluster.js';
import { adversaryCluster, craft, header, innerProbeReply, type Adversaries } from './forward-hostile.js';

describe('attack 6: forged ping replies', () => {
  let a: Adversaries;
  before(async () => {
    a = await adversaryCluster(['a', 'b', 'c']);
    a.c.net.cut(a.c.get('a').host, a.c.get('c').host);
    await waitFor(() => a.c.get('a').node.router.route(a.id('c'))?.nodes.length === 3, 10_000, 'a→b→c');
    await a.c.deliver('a', 'c', Buffer.from('warm'));
  });
  after(() => a?.c.close());

  it('a relay that drops the probe and answers in the destination’s name is not believed', async () => {
    const pinger = a.c.get('a').node.dataPlane.pinger;
    const waiting = (pinger as unknown as { waiting: Map<number, unknown> }).waiting;
    // b drops what it relays to c, and answers every ping it sees go by with its own sealed reply.
    a.sock('b').inbound = (data) => {
      const h = header(data);
      if (!h || h.type !== PacketType.Data || h.dst !== a.id('c')) return 'pass';
      for (const id of waiting.keys()) a.sock('b').raw(craft(a, 'b', 'a', innerProbeReply(id)), a.ep('a'));
      return 'consumed';
    };
    try {
      assert.equal(await pinger.ping(a.id('c'), [a.id('b')], 1000), null, 'c never answered');
    } finally {
      a.sock('b').inbound = undefined;
    }
    const rtt = await pinger.ping(a.id('c'), [a.id('b')], 2000);
    assert.ok(rtt !== null && rtt >= 0, 'c’s own reply is accepted');
  });
});
