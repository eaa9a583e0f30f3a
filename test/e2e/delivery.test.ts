// Whole nodes in one process: every pair talks, sealed, and a cut link is routed around via a relay.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Cluster, waitFor } from './cluster.js';

describe('three nodes over a memory underlay', () => {
  let c: Cluster;
  before(async () => {
    c = await Cluster.create(['a', 'b', 'c']);
  });
  after(async () => {
    await c?.close();
  });

  it('delivers a packet between every pair of members', async () => {
    for (const from of ['a', 'b', 'c']) {
      for (const to of ['a', 'b', 'c']) {
        if (from === to) continue;
        await c.deliver(from, to, Buffer.from(`hello ${from}->${to}`));
      }
    }
  });

  it('never puts the payload on the wire in clear', async () => {
    c.net.record = true;
    const marker = Buffer.from('PLAINTEXT-MARKER-0123456789');
    await c.deliver('a', 'c', marker);
    c.net.record = false;
    assert.ok(c.net.wire.length > 0);
    for (const rec of c.net.wire) assert.equal(rec.data.indexOf(marker), -1, 'marker seen on the wire');
  });

  it('routes around a cut link through the third member', async () => {
    const b = c.get('b').node;
    const relayedBefore = b.counters.peer(c.get('a').node.self.id).relayedPackets;
    c.net.cut(c.get('a').host, c.get('c').host);
    await waitFor(
      () => c.get('a').node.router.route(c.get('c').node.self.id)?.nodes.length === 3,
      5000,
      'a→b→c',
    );
    await c.deliver('a', 'c', Buffer.from('via b'));
    await c.deliver('c', 'a', Buffer.from('back via b'));
    assert.ok(
      b.counters.peer(c.get('a').node.self.id).relayedPackets > relayedBefore,
      'b relayed a’s packets',
    );
    c.net.restore(c.get('a').host, c.get('c').host);
  });
});
