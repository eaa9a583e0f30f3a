// Attack 9 (issue 10) and endpoint rebinding: a member sends its own authenticated packets from a
// spoofed underlay source. Before, one such packet made the receiver probe the spoofed address for
// 120 s (a reflector aimed at any victim), and an address proven to be one member's could be rebound
// to another by a single packet. Now a new source address is only a candidate — three probes backing
// off, forgotten within seconds without a reply, two per member at most — and a live binding is never
// moved (counted instead).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MemoryTransport } from '../../src/transport/memory-transport.js';
import { sleep, waitFor } from '../e2e/cluster.js';
import { adversaryCluster, header, PORT, type Adversaries } from './forward-hostile.js';

describe('attack 9: spoofed direct packets from a member', () => {
  let a: Adversaries;
  let victim: MemoryTransport;
  const victimEp = { host: '198.51.100.7', port: PORT };
  let victimGot = 0;

  before(async () => {
    a = await adversaryCluster(['a', 'b', 'c']);
    victim = a.c.net.attach(victimEp.host, victimEp.port);
    victim.onBatch((batch) => (victimGot += batch.count));
    await a.c.deliver('b', 'a', Buffer.from('warm ba'));
    await a.c.deliver('c', 'a', Buffer.from('warm ca'));
  });
  after(async () => {
    await victim?.close();
    await a?.c.close();
  });

  /** b sends its next direct data packet to a from `spoofed` instead of its own address. */
  const spoofNext = (spoofed: { host: string; port: number }): void => {
    const b = a.sock('b');
    b.outbound = (data, to) => {
      const h = header(data);
      if (!h || h.routeLen !== 0 || h.dst !== a.id('a') || data.length < 200) return 'pass';
      b.outbound = undefined;
      b.raw(data, to, spoofed);
      return 'consumed';
    };
    a.c.send('b', 'a', Buffer.alloc(300, 0x62));
  };

  it('one spoofed packet costs the victim at most three probes, and the address is forgotten', async () => {
    const spoofedKey = `${victimEp.host}:${victimEp.port}`;
    const learned = () =>
      a.c
        .get('a')
        .node.prober.endpoints(a.id('b'))
        .some((e) => e.endpointKey === spoofedKey);
    victimGot = 0;
    spoofNext(victimEp);
    await waitFor(learned, 2000, 'a to take the spoofed address as a candidate');
    await sleep(6000);
    assert.equal(learned(), false, 'forgotten: no authenticated reply came from it');
    assert.ok(victimGot <= 3, `the victim received ${victimGot} probes`);
    assert.ok(victimGot >= 1, 'the candidate was probed');
    await a.c.deliver('b', 'a', Buffer.from('b still reaches a'));
  });

  it('spoofing many addresses keeps at most two candidates per member', async () => {
    let max = 0;
    for (let i = 0; i < 20; i++) {
      spoofNext({ host: `198.51.100.${100 + i}`, port: PORT });
      await sleep(30);
      max = Math.max(
        max,
        a.c
          .get('a')
          .node.prober.endpoints(a.id('b'))
          .filter((e) => !e.configured).length,
      );
    }
    assert.ok(max <= 2, `${max} learned or candidate endpoints for b at once`);
  });

  it('an address proven to be c’s is not rebound to b by b’s spoofed packets (counted)', async () => {
    const cKey = a.key('c');
    const node = a.c.get('a').node;
    await waitFor(() => node.peers.boundMember(cKey, performance.now()) === a.id('c'), 3000, 'c bound');
    const conflicts = node.counters.endpointConflicts;
    for (let i = 0; i < 3; i++) {
      spoofNext(a.ep('c'));
      await sleep(50);
    }
    await waitFor(() => node.counters.endpointConflicts >= conflicts + 3, 3000, 'conflicts counted');
    assert.equal(node.peers.boundMember(cKey, performance.now()), a.id('c'));
    assert.equal(
      node.prober.endpoints(a.id('b')).some((e) => e.endpointKey === cKey),
      false,
      'not even a candidate for b',
    );
    await a.c.deliver('c', 'a', Buffer.from('c unaffected'));
  });
});
