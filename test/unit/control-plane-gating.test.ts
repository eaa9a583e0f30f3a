// ControlPlane.run: the prober's and the session table's ticks walk their tables, so each runs only
// when that core has work due, not on every wake-up another core (here a busy carrier) asks for; work
// that comes forward (data wanting a session) still runs at once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sign, verify } from '../../src/identity/keys.js';
import { ControlPlane } from '../../src/node/control-plane.js';
import { EventQueue } from '../sim/event-queue.js';
import { A, B, C, table } from './session-fixtures.js';

function plane(q: EventQueue) {
  const sessions = table(A, [B, C]);
  const handshakes: Array<{ peer: number; at: number }> = [];
  const cp = new ControlPlane({
    self: A.id,
    members: [A, B, C].map((m) => ({ id: m.id, publicKey: m.keyPair.publicKey })),
    clock: q.clock,
    timers: q,
    sessions,
    random: () => 0.5,
    ports: {
      sendProbe: () => false,
      sendControl: () => {},
      sendHandshake: (peer, now) => {
        handshakes.push({ peer, at: now });
        sessions.createInitiation(peer, now);
      },
      sign: (m) => sign(m, A.keyPair.secretKey),
      verify,
      wallClock: () => 1_700_000_000_000 + q.now,
    },
  });
  const ticks = { prober: 0, sessions: 0, carrier: 0 };
  const proberTick = cp.prober.tick.bind(cp.prober);
  cp.prober.tick = (now) => (ticks.prober++, proberTick(now));
  const sessionsTick = sessions.tick.bind(sessions);
  sessions.tick = (now) => (ticks.sessions++, sessionsTick(now));
  // A carrier with work every 10 ms (say, a path probe schedule): the timer fires ~100 times a second.
  cp.attachCarrier({ nextWakeAt: (now) => Math.floor(now / 10) * 10 + 10, tick: () => ticks.carrier++ });
  return { cp, ticks, handshakes };
}

test('a busy carrier does not make the prober and the session table walk their tables each wake-up', () => {
  const q = new EventQueue();
  const { cp, ticks } = plane(q);
  q.runUntil(10_000);
  cp.stop();
  assert.ok(ticks.carrier >= 990, `the carrier woke the node ${ticks.carrier} times`);
  // Two members, dead (sendProbe refuses: no session), probed at most a few times a second.
  assert.ok(
    ticks.prober < ticks.carrier / 10,
    `prober ticked ${ticks.prober} times in ${ticks.carrier} wake-ups`,
  );
  // Nothing due in an idle session table: only the once-a-second sweep.
  assert.ok(ticks.sessions <= 11, `session table ticked ${ticks.sessions} times`);
});

test('data wanting a session still starts the handshake in the same instant', () => {
  const q = new EventQueue();
  const { cp, handshakes } = plane(q);
  q.runUntil(5_003);
  cp.sessionPort.noteWantToSend(B.id, q.now);
  q.runUntil(5_003);
  cp.stop();
  assert.deepEqual(handshakes, [{ peer: B.id, at: 5_003 }]);
});
