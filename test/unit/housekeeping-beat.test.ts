// The housekeeping beat (clock.ts, control-plane.ts): timer work that can wait a second lands on one
// beat a second, so an idle node wakes for all of it at once instead of once for each item. That the
// fast probes of a link carrying data keep their exact 50 ms is in probe-prober.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { beat } from '../../src/clock.js';
import { Simulator } from '../sim/simulator.js';

test('a beat is the first instant phase + k·period at or after t', () => {
  const b = beat(1000, 250);
  assert.equal(b.at(250), 250);
  assert.equal(b.at(251), 1250);
  assert.equal(b.at(-10), 250);
  assert.equal(b.at(1250), 1250);
  assert.equal(b.at(b.at(3333.3)), 4250, 'a time on a beat stays there');
  assert.equal(b.at(0.1 + 0.2 + 1249.7), 1250, 'rounding does not push a beat a period later');
});

/** Timer wake-ups per node per second over [fromMs, toMs] of an idle simulated overlay. */
function idleWakeups(beatMs: number, fromMs: number, toMs: number): { perNode: number; sim: Simulator } {
  const sim = new Simulator({ nodes: 12, seed: 3, beatMs, startSpreadMs: 500 });
  sim.start();
  sim.run(fromMs);
  const before = sim.nodes.map((n) => n.plane!.scheduler.wakeups);
  sim.run(toMs - fromMs);
  const woke = sim.nodes.reduce((sum, n, i) => sum + n.plane!.scheduler.wakeups - before[i]!, 0);
  return { perNode: woke / sim.nodes.length / ((toMs - fromMs) / 1000), sim };
}

test('an idle node wakes for its timer work on the beat, far fewer times than once per item', () => {
  const exact = idleWakeups(0, 60_000, 180_000);
  const beaten = idleWakeups(1000, 60_000, 180_000);
  assert.ok(exact.perNode > 1.5, `without the beat an idle node woke ${exact.perNode.toFixed(2)} times/s`);
  assert.ok(
    beaten.perNode < 0.6 * exact.perNode,
    `with the beat ${beaten.perNode.toFixed(2)} wake-ups/s, without ${exact.perNode.toFixed(2)}`,
  );
  // The beat delays, it does not starve: every node still routes to every other.
  for (const n of beaten.sim.nodes)
    for (const m of beaten.sim.nodes)
      if (n !== m) assert.ok(n.router!.route(m.id), 'a route to every member');
});
