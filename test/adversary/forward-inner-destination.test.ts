// Attack 7 (issue 10): a member reaching whatever lies behind another node's TUN. Before, the inner
// destination address was never checked: a packet from a member, with its own inner source address,
// was written to the TUN whatever it was addressed to (another interface of the host, a LAN the host
// routes to). Now only the node's own overlay addresses are accepted; anything else is dropped and
// counted as not-local-destination.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../e2e/cluster.js';
import { adversaryCluster, craft, innerIp, type Adversaries } from './forward-hostile.js';

describe('attack 7: inner destinations behind a node', () => {
  let a: Adversaries;
  before(async () => {
    a = await adversaryCluster(['a', 'c']);
    await a.c.deliver('a', 'c', Buffer.from('warm'));
  });
  after(() => a?.c.close());

  it('a packet from a member to an address that is not the node’s own is dropped, not written to the TUN', async () => {
    const tun = a.c.get('c').tun;
    const drops = a.drops('c', 'not-local-destination');
    const writes = tun.written.length;
    const src = a.c.get('a').address; // a's own address: the source check passes
    for (const dst of ['192.168.50.1', '10.77.0.99', '127.0.0.1', '10.77.0.255']) {
      const pkt = craft(a, 'a', 'c', innerIp(src, dst, Buffer.from(`to ${dst} behind c`)));
      a.sock('a').raw(pkt, a.ep('c'));
    }
    await waitFor(() => a.drops('c', 'not-local-destination') >= drops + 4, 3000, 'c to drop them');
    assert.equal(tun.written.length, writes, 'nothing reached the TUN');
    // The same member, addressing c itself, is delivered.
    await a.c.deliver('a', 'c', Buffer.from('to c itself'));
  });
});
