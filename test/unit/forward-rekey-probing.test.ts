// A completed handshake puts its member on the prober's fast schedule only when the direct link is
// not known to work: a first session (or one after an outage) is measured at once, while a rekey of
// a working link (every 2 min per member, data or not) probes nothing extra.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ForwardHarness, settle } from './forward-harness.js';

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

test('a rekey of a working link does not mark its member active; a handshake over a link not alive does', async () => {
  const h = new ForwardHarness(['a', 'b']);
  await h.link('a', 'b');
  const a = h.site('a');
  const b = h.site('b');
  a.prober.active.length = 0;
  await handshakeThroughDataPlane(h, 'a', 'b'); // a rekey: a's prober calls the link alive
  assert.deepEqual(a.prober.active, [], 'no fast probing after the rekey of a working link');
  h.setLink('a', 'b', false);
  await handshakeThroughDataPlane(h, 'a', 'b');
  assert.deepEqual(a.prober.active, [b.m.id], 'measured at once when the link is not known to work');
});
