// Routing control travels one hop (issue 10: control messages only from current direct neighbours).
// A member that reaches another only through a relay — here a, whose underlay path to c is cut — can
// still seal a control message for c and send it along its route; c's data plane drops it before
// the router sees it (relayed-control), and control between direct neighbours keeps flowing.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { encodeAnnounceChunks } from '../../src/routing/control-codec.js';
import { InnerKind } from '../../src/wire/constants.js';
import { systemClock } from '../../src/clock.js';
import { Cluster, waitFor } from './cluster.js';

let c: Cluster;
before(async () => {
  c = await Cluster.create(['a', 'b', 'c']);
  await c.deliver('a', 'c', Buffer.from('warm ac'));
});
after(async () => c?.close());

it('a control message relayed to its destination is dropped as relayed-control', async () => {
  const a = c.get('a').node;
  const cc = c.get('c').node;
  c.net.cut(c.get('a').host, c.get('c').host);
  await waitFor(() => a.router.route(cc.self.id)?.nodes.length === 3, 10_000, 'a→b→c');
  const drops = (): number => cc.counters.drops.get('relayed-control') ?? 0;
  const refused = (): number => cc.router.stats().rejected['not-neighbor'] ?? 0;
  const refusedBefore = refused();
  // A claim as the freeze attack makes it (attack 1), sealed by a for c and sent along a's route.
  const [announce] = encodeAnnounceChunks([
    { origin: c.get('b').node.self.id, seq: Number.MAX_SAFE_INTEGER },
  ]);
  const plaintext = Buffer.concat([Buffer.from([InnerKind.Control]), announce]);
  assert.ok(
    a.dataPlane.outbound.sendSealed(cc.self.id, plaintext, systemClock.now(), false) > 0,
    'sent, relayed via b',
  );
  await waitFor(() => drops() === 1, 3000, 'c to drop the relayed control message');
  // Honest control is all direct (DataPlane.sendControl), so none of it was lost, and a still reaches c.
  await c.deliver('a', 'c', Buffer.from('still routed via b'));
  assert.equal(drops(), 1);
  assert.equal(refused(), refusedBefore, 'no direct control refused meanwhile');
  c.net.restore(c.get('a').host, c.get('c').host);
});
