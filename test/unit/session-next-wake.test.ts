// SessionTable.nextWakeAt: the daemon sleeps until it, so it must never be later than the next time
// tick() has work (a handshake due, a keypair to expire), and an idle table must not ask for wake-ups.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SessionTable } from '../../src/session/session-table.js';
import { A, B, C, K, receive, send, table } from './session-fixtures.js';

const PARAMS = { rekeyAfterMs: 2000, rejectAfterMs: 3000, responderRekeyExtraMs: 500 };

test('an idle table with no traffic never needs to wake', () => {
  const a = table(A, [B, C], PARAMS);
  assert.equal(a.nextWakeAt(0), Infinity);
  assert.deepEqual(a.tick(0), []);
  assert.equal(a.nextWakeAt(0), Infinity);
});

test('data wanting a session wakes the table at once, then at the retry time', () => {
  const a = table(A, [B], PARAMS, () => 0.5);
  a.nextWakeAt(0);
  a.noteWantToSend(B.id, 100);
  assert.equal(a.nextWakeAt(100), 100, 'the handshake is due now');
  assert.deepEqual(a.tick(100), [B.id]);
  a.createInitiation(B.id, 100);
  assert.equal(a.nextWakeAt(100), 350, 'first retry after 250 ms (jitter ±20 % at random 0.5 = none)');
  assert.deepEqual(a.tick(349), []);
  assert.deepEqual(a.tick(350), [B.id]);
});

/** Drives a, b through handshakes, data and silence; checks the wake time against tick() each 10 ms. */
function neverLate(a: SessionTable, b: SessionTable): number {
  let checked = 0;
  let promised = a.nextWakeAt(0);
  for (let t = 0; t <= 12_000; t += 10) {
    if (t < 4000 && t % 500 === 0) {
      const pkt = send(a, A.id, B.id, Buffer.from('x'), t);
      if (pkt) receive(b, pkt, t);
      promised = Math.min(promised, a.nextWakeAt(t));
    }
    const due = a.tick(t);
    if (due.length > 0) {
      assert.ok(t >= promised, `tick at ${t} had work but nextWakeAt promised ${promised}`);
      checked++;
      for (const peer of due) {
        const init = a.createInitiation(peer, t);
        const res = b.consumeInitiation(A.id, init, K, t);
        if (res.ok) a.consumeResponse(B.id, res.response, K, t);
      }
    }
    promised = a.nextWakeAt(t);
  }
  return checked;
}

test('nextWakeAt is never later than the next tick with work (handshake, rekey, expiry)', () => {
  const a = table(A, [B], PARAMS);
  const b = table(B, [A], PARAMS);
  assert.ok(neverLate(a, b) >= 2, 'the run went through a handshake and a rekey');
});
