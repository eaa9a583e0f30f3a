// A completed handshake is reported to the prober (sessionUp), which decides whether the member's
// link needs measuring at once: a first session (or one after an outage) does, a rekey of a working
// link (every 2 min per member, data or not), a session with a member outside a bounded probe set
// or with the explorer on trial does not.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ForwardHarness, settle } from './forward-harness.js';
import { ProbeHarness } from './probe-harness.js';

async function handshakeThroughDataPlane(h: ForwardHarness, from: string, to: string): Promise<void> {
  const a = h.site(from);
  const b = h.site(to);
  const before = a.counters.handshakesCompleted;
  a.dp.control.sendHandshake(b.m.id, h.clock.now());
  for (let i = 0; i < 10 && a.counters.handshakesCompleted === before; i++) {
    a.transport.flush();
    b.transport.flush();
    await settle();
  }
  assert.equal(a.counters.handshakesCompleted, before + 1, 'the handshake completed');
}

test('the data plane reports each completed handshake to the prober', async () => {
  const h = new ForwardHarness(['a', 'b']);
  await h.link('a', 'b');
  const a = h.site('a');
  const b = h.site('b');
  a.prober.sessionsUp.length = 0;
  await handshakeThroughDataPlane(h, 'a', 'b');
  assert.deepEqual(a.prober.sessionsUp, [b.m.id]);
  assert.deepEqual(a.prober.active, [], 'the data plane marks nothing active itself');
});

test('a rekey of a working link probes nothing extra; a session over a link not alive is probed fast', () => {
  const h = new ProbeHarness({ confirmProbes: 0 });
  h.rtt.set('a', 20);
  h.prober.setEndpoints(1, ['a']);
  h.runUntil(30_000);
  h.prober.sessionUp(1, h.now);
  assert.equal(h.prober.stats().activationsBy.handshake, 0, 'working link: nothing new');
  h.rtt.delete('a');
  h.runUntil(60_000);
  assert.equal(h.prober.link(1)?.alive, false);
  h.prober.sessionUp(1, h.now);
  assert.equal(h.prober.stats().activationsBy.handshake, 1, 'link in doubt: measured at once');
});

test('a session with a member outside a bounded probe set does not pull it into the set', () => {
  const h = new ProbeHarness({ maxProbedMembers: 4, randomProbedMembers: 1 });
  for (let m = 1; m <= 30; m++) {
    h.rtt.set(`m${m}`, 10 + m);
    h.prober.setEndpoints(m, [`m${m}`]);
  }
  h.runUntil(60_000);
  const probed = h.prober.probedMembers();
  const outsider = [...Array(30).keys()].map((i) => i + 1).find((m) => !probed.includes(m)) as number;
  h.prober.drainChanges();
  h.prober.sessionUp(outsider, h.now); // a relayed session's rekey
  h.runUntil(61_000);
  assert.equal(h.prober.stats().activationsBy.handshake, 0);
  assert.ok(!h.prober.probedMembers().includes(outsider), 'still outside the set');
  assert.ok(!h.prober.drainChanges().includes(outsider), 'no link appeared for routing to advertise');
  assert.equal(h.prober.wantsDirectLink(outsider, h.now), false, 'left to relays: nat/ punches none');
  assert.equal(h.prober.wantsDirectLink(probed[0]!, h.now), true);
});

test('the session an exploration trial opens does not make the trial visible to routing', () => {
  const h = new ProbeHarness({ maxProbedMembers: 4, randomProbedMembers: 1 });
  for (let m = 1; m <= 30; m++) {
    h.rtt.set(`m${m}`, 10 + m);
    h.prober.setEndpoints(m, [`m${m}`]);
  }
  // Probed but hidden from routing: the explorer on trial (every 30 s, for 5 s).
  const trial = (): number | undefined =>
    h.prober.probedMembers().find((m) => h.prober.link(m) === undefined);
  let explorer: number | undefined;
  for (let t = 1000; explorer === undefined && t < 120_000; t += 100) {
    h.runUntil(t);
    explorer = trial();
  }
  assert.ok(explorer !== undefined, 'an explorer went on trial');
  h.prober.sessionUp(explorer, h.now); // its probes needed a session: the handshake just completed
  assert.equal(h.prober.stats().activationsBy.handshake, 0);
  // What routing reads (Router.ownLinkChanged): no view of the trial's link, so nothing to advertise
  // now and nothing to withdraw when an active window would have ended.
  for (const end = h.now + 2000; h.now < end;) {
    h.runUntil(h.now + 100);
    assert.equal(h.prober.link(explorer), undefined, 'still on trial, still hidden from routing');
  }
});
