// NAT traversal against a hostile member (issue 12): what a member says about our address, and the
// punch requests it sends, are claims. A member that lies about the source it observed can at most
// add one candidate endpoint to what we publish (never replace a listed one, never bind anything),
// and a member flooding punch requests naming a victim's address gets a bounded number of probes
// sent there, and no binding.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../src/clock.js';
import { encodePunch, PunchType } from '../../src/nat/punch-message.js';
import { writeEndpoint } from '../../src/nat/endpoint-bytes.js';
import type { MemoryTransport } from '../../src/transport/memory-transport.js';
import { InnerKind } from '../../src/wire/constants.js';
import type { RoutedHeader } from '../../src/wire/routed-header.js';
import { sleep, waitFor } from '../e2e/cluster.js';
import { adversaryCluster, craft, PORT, type Adversaries } from './forward-hostile.js';

describe('NAT traversal: a hostile member', () => {
  let a: Adversaries;
  let victim: MemoryTransport;
  const victimEp = { host: '198.51.100.9', port: PORT };
  const victimKey = `${victimEp.host}:${victimEp.port}`;
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

  it('lying about the observed source adds one published candidate at most, and binds nothing', async () => {
    // b answers each of a's probes first with a reply of its own that says "you came from the victim".
    const bControl = a.c.get('b').node.dataPlane.control;
    const honest = bControl.onProbe.bind(bControl);
    let lies = 0;
    bControl.onProbe = (data: Buffer, h: RoutedHeader, pt: number, n: number, from, now) => {
      if (h.src === a.id('a') && h.routeLen === 0) {
        const reply = Buffer.alloc(5 + 7);
        reply[0] = InnerKind.ProbeReply;
        data.copy(reply, 1, pt + 1, pt + 5);
        writeEndpoint(reply, 5, victimKey);
        a.sock('b').raw(craft(a, 'b', 'a', reply), a.ep('a'), a.ep('b'));
        lies++;
      }
      honest(data, h, pt, n, from, now);
    };
    const nodeA = a.c.get('a').node;
    await waitFor(
      () => nodeA.dataPlane.nat.reflexive.published().includes(victimKey),
      5000,
      'the lie to be heard',
    );
    bControl.onProbe = honest;
    assert.ok(lies > 0);
    // One member, one observation: the table holds b's claim once, beside the honest ones.
    const obs = nodeA.dataPlane.nat.reflexive.observations(systemClock.now());
    assert.equal(obs.find((o) => o.key === victimKey)?.observers, 1);
    assert.ok(nodeA.dataPlane.nat.reflexive.published().length <= 4);
    // Nothing was bound to the victim's address, and a's own links are as they were.
    assert.equal(nodeA.peers.boundMember(victimKey, systemClock.now()), undefined);
    await a.c.deliver('c', 'a', Buffer.from('c still reaches a at its listed endpoint'));
    // c, trying a at what a published (as a punch would), sends the victim a bounded number of probes
    // and binds nothing there: only an authenticated reply from that very address could.
    victimGot = 0;
    const nodeC = a.c.get('c').node;
    const probes = nodeC.dataPlane.nat.punches.params.punchProbes;
    nodeC.prober.punch(a.id('a'), [victimKey], probes, systemClock.now());
    await sleep(probes * nodeC.prober.params.punchIntervalMs + 1500);
    assert.ok(victimGot >= 1 && victimGot <= probes, `the victim received ${victimGot} probes`);
    assert.equal(nodeC.peers.boundMember(victimKey, systemClock.now()), undefined);
    assert.ok(!nodeC.prober.endpoints(a.id('a')).some((e) => e.endpointKey === victimKey), 'forgotten');
  });

  it('a flood of punch requests naming a victim is rate-limited: bounded probes, no binding', async () => {
    const nodeA = a.c.get('a').node;
    const punches = nodeA.dataPlane.nat.punches;
    const before = { ...punches.counts };
    victimGot = 0;
    const cKey = a.key('c'); // an address proven to be c's: naming it for b must not even be tried
    for (let i = 0; i < 200; i++) {
      const plaintext = encodePunch({ type: PunchType.Request, nonce: i, endpoints: [victimKey, cKey] });
      a.sock('b').raw(craft(a, 'b', 'a', plaintext), a.ep('a'), a.ep('b'));
    }
    await sleep(nodeA.prober.params.punchIntervalMs * punches.params.punchProbes + 1500);
    const answered = punches.counts.answered - before.answered;
    const limited = punches.counts.rateLimited - before.rateLimited;
    assert.equal(answered + limited, 200);
    assert.ok(answered <= punches.params.incomingBurst, `answered ${answered}`);
    // Each answered request may probe the victim punchProbes times; repeats refresh, not add.
    const bound = answered * punches.params.punchProbes;
    assert.ok(victimGot <= bound, `the victim received ${victimGot} probes (bound ${bound})`);
    assert.equal(nodeA.peers.boundMember(victimKey, systemClock.now()), undefined);
    assert.equal(nodeA.peers.boundMember(cKey, systemClock.now()), a.id('c'), 'c keeps its address');
    assert.ok(!nodeA.prober.endpoints(a.id('b')).some((e) => e.endpointKey === cKey));
    // And a bogus answer (no pending request) is ignored and counted.
    const answer = encodePunch({ type: PunchType.Answer, nonce: 12345, endpoints: [victimKey] });
    a.sock('b').raw(craft(a, 'b', 'a', answer), a.ep('a'), a.ep('b'));
    await waitFor(() => punches.counts.unsolicited > before.unsolicited, 2000, 'the answer to be refused');
  });
});
