// The control plane's one timer runs only the cores that have work due: a tick of the session table
// walks every member, and ticking it for the prober's next probe was O(members) work per wake-up.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NodeId } from '../../src/identity/node-id.js';
import { ControlPlane } from '../../src/node/control-plane.js';
import type { SessionTable } from '../../src/session/session-table.js';
import { EventQueue } from '../sim/event-queue.js';

const SELF = 1 as NodeId;
const OTHERS = [2, 3, 4].map((n) => n as NodeId);

function plane(firstSessionsDueAt: number) {
  const q = new EventQueue();
  const ticks = { sessions: 0, carrier: 0 };
  let sessionsDueAt = firstSessionsDueAt;
  // Only what ControlPlane.run and its constructor use of the table; after a tick, nothing is due.
  const sessions = {
    nextWakeAt: () => sessionsDueAt,
    tick: () => {
      ticks.sessions++;
      sessionsDueAt = Infinity;
      return [];
    },
    repeatsDue: () => [],
    notePathChanged: () => {},
  } as unknown as SessionTable;
  const p = new ControlPlane({
    self: SELF,
    members: [SELF, ...OTHERS].map((id) => ({ id, publicKey: Buffer.alloc(32, id) })),
    clock: q.clock,
    timers: q,
    sessions,
    random: () => 0.5,
    ports: {
      sendProbe: () => true,
      sendControl: () => {},
      sign: () => Buffer.alloc(64),
      verify: () => true,
      wallClock: () => 1_700_000_000_000 + q.clock.now(),
      cpuClock: () => 0,
    },
  });
  p.attachCarrier({ nextWakeAt: () => Infinity, tick: () => void ticks.carrier++ });
  for (const id of OTHERS) p.setEndpoints(id, [`m${id}`]);
  return { q, p, ticks };
}

test('the session table is ticked only when it has work due, not on every wake-up of the prober', () => {
  const { q, p, ticks } = plane(30_000);
  q.runUntil(20_000);
  assert.ok(p.wakeupsBy.prober > 5, `prober woke ${p.wakeupsBy.prober} times`);
  assert.equal(ticks.sessions, 0, 'nothing due in the session table before 30 s');
  assert.equal(p.wakeupsBy.sessions, 0);
  // The carrier (ws fallback, diagnostics) rides on every wake-up.
  assert.equal(ticks.carrier, p.scheduler.wakeups);
  q.runUntil(30_000);
  assert.equal(ticks.sessions, 1, 'due at 30 s: ticked once');
});
