import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeId } from '../../src/identity/node-id.js';
import type { RandomSource, SessionParamsInput } from '../../src/session/params.js';
import { SessionTable } from '../../src/session/session-table.js';
import { PathFlags } from '../../src/wire/constants.js';
import { A, B, C, K, receive, send, table as sessionTable, type Member } from './session-fixtures.js';

// Exact timers unless a test asks for jitter.
const EXACT: SessionParamsInput = { rekeyJitter: 0, retryJitter: 0 };

function table(
  me: Member,
  peers: Member[],
  params: SessionParamsInput = EXACT,
  random?: RandomSource,
): SessionTable {
  return sessionTable(me, peers, params, random);
}

/** Almost constant randomness: jitter sees ~`value`, indices still differ. */
function nearly(value: number): RandomSource {
  let k = 0;
  return () => value + (value < 0.5 ? 1 : -1) * 1e-9 * ++k;
}

/** A full handshake initiated by `i`, including the confirming keepalive. */
function handshake(i: SessionTable, iId: NodeId, r: SessionTable, rId: NodeId, now: number): void {
  const res = r.consumeInitiation(iId, i.createInitiation(rId, now), K, now);
  assert.ok(res.ok, JSON.stringify(res));
  assert.ok(i.consumeResponse(rId, res.response, K, now).ok);
  const keepalive = send(i, iId, rId, Buffer.from([0]), now);
  assert.ok(keepalive);
  assert.deepEqual(receive(r, keepalive, now), Buffer.from([0]));
}

test('the responder sends with a new keypair only after data arrived on it', () => {
  const a = table(A, [B]);
  const b = table(B, [A]);
  handshake(a, A.id, b, B.id, 0);
  const old = b.sendKeypair(A.id, 10);
  assert.ok(old);
  const res = b.consumeInitiation(A.id, a.createInitiation(B.id, 10), K, 10);
  assert.ok(res.ok && a.consumeResponse(B.id, res.response, K, 11).ok);
  assert.equal(b.sendKeypair(A.id, 12), old, 'still the old keypair: A has not proven it has the new one');
  const fresh = a.sendKeypair(B.id, 12);
  assert.ok(fresh && fresh !== old);
  const pkt = send(a, A.id, B.id, Buffer.from([1, 9]), 12);
  assert.ok(pkt);
  assert.deepEqual(receive(b, pkt, 13), Buffer.from([1, 9]));
  assert.notEqual(b.sendKeypair(A.id, 13), old, 'confirmed: B moved to the new keypair');
  assert.equal(b.sendKeypair(A.id, 13)?.remoteIndex, fresh.localIndex);
});

test('rekey: the initiator is due after REKEY_AFTER, the responder 30 s later; old packets still open', () => {
  const a = table(A, [B]);
  const b = table(B, [A]);
  handshake(a, A.id, b, B.id, 0);
  // Both keypairs carry traffic: only a keypair in use is renewed (see the next test).
  assert.ok(send(a, A.id, B.id, Buffer.from('a->b'), 1000));
  assert.ok(send(b, B.id, A.id, Buffer.from('b->a'), 1000));
  assert.equal(a.tick(119_999).length, 0);
  assert.equal(a.handshakeDue(B.id, 120_000), true);
  assert.deepEqual(a.tick(120_000), [B.id]);
  assert.equal(b.handshakeDue(A.id, 149_999), false);
  assert.equal(b.handshakeDue(A.id, 150_000), true, 'responder rekeys if the initiator did not');

  const oldA = a.sendKeypair(B.id, 120_000);
  const inFlightAB = send(a, A.id, B.id, Buffer.from('old a->b'), 120_000);
  const inFlightBA = send(b, B.id, A.id, Buffer.from('old b->a'), 120_000);
  assert.ok(inFlightAB && inFlightBA);
  handshake(a, A.id, b, B.id, 120_000);
  assert.notEqual(a.sendKeypair(B.id, 120_001), oldA);
  assert.equal(a.handshakeDue(B.id, 120_001), false);
  assert.equal(b.handshakeDue(A.id, 150_000), false, 'the new keypair reset the responder schedule');
  assert.deepEqual(receive(b, inFlightAB, 120_001), Buffer.from('old a->b'));
  assert.deepEqual(receive(a, inFlightBA, 120_001), Buffer.from('old b->a'));
  const fresh = send(b, B.id, A.id, Buffer.from('new'), 120_001);
  assert.ok(fresh);
  assert.deepEqual(receive(a, fresh, 120_002), Buffer.from('new'));
});

test('an idle keypair is not renewed but expires; traffic after its rekey time renews it at the next look', () => {
  const a = table(A, [B]);
  const b = table(B, [A]);
  handshake(a, A.id, b, B.id, 0);
  // Only the confirming keepalive was sealed: nothing to renew at REKEY_AFTER, for either side.
  assert.equal(a.handshakeDue(B.id, 120_000), false);
  assert.deepEqual(a.tick(120_000), []);
  assert.equal(b.handshakeDue(A.id, 150_000), false);
  // The timer still looks every rekeyIdleCheckMs (10 s) until the keypair expires.
  assert.equal(a.nextWakeAt(120_000), 130_000);
  assert.deepEqual(a.tick(130_000), []);
  assert.equal(a.nextWakeAt(130_000), 140_000);
  // Traffic resumes between two looks: the next look renews the keypair, before it expires.
  assert.ok(send(a, A.id, B.id, Buffer.from('ssh'), 134_000));
  assert.equal(a.nextWakeAt(134_000), 140_000);
  assert.deepEqual(a.tick(140_000), [B.id]);

  // Left idle to the end, a session costs nothing more: expired at REJECT_AFTER, then no wake at all.
  const c = table(C, [B]);
  const d = table(B, [C]);
  handshake(c, C.id, d, B.id, 0);
  for (let t = 120_000; t < 180_000; t += 10_000) assert.deepEqual(c.tick(t), [], `t=${t}`);
  assert.deepEqual(c.tick(180_000), []);
  assert.equal(c.sendKeypair(B.id, 180_000), undefined);
  assert.equal(c.nextWakeAt(180_000), Infinity);
  assert.deepEqual(d.tick(180_000), []);
  assert.equal(d.nextWakeAt(180_000), Infinity);
});

test('idle keypairs past their rekey time are all looked at on one 10 s grid: one wake-up, not one each', () => {
  const a = table(A, [B, C]);
  const b = table(B, [A]);
  const c = table(C, [A]);
  handshake(a, A.id, b, B.id, 0);
  handshake(a, A.id, c, C.id, 3_000); // its rekey time is 3 s later
  assert.deepEqual(a.tick(125_000), []);
  assert.equal(a.nextWakeAt(125_000), 130_000);
  assert.deepEqual(a.tick(130_000), []);
  assert.equal(a.nextWakeAt(130_000), 140_000, 'not 133 000: the other session shares the grid');
});

test('after REJECT_AFTER a keypair is zeroed and forgotten, and a handshake becomes due', () => {
  const a = table(A, [B]);
  const b = table(B, [A]);
  handshake(a, A.id, b, B.id, 0);
  const kp = a.sendKeypair(B.id, 0);
  assert.ok(kp);
  const late = send(b, B.id, A.id, Buffer.from([1]), 179_999);
  assert.ok(late);
  assert.equal(a.sendKeypair(B.id, 180_000), undefined);
  assert.equal(send(a, A.id, B.id, Buffer.from([1]), 180_000), null);
  assert.equal(a.handshakeDue(B.id, 180_000), true, 'seal refusal counts as wanting to send');
  a.tick(180_000);
  assert.equal(kp.isDestroyed, true);
  assert.equal(a.receiveKeypair(kp.localIndex), undefined);
  assert.equal(typeof receive(a, late, 180_000), 'number');
});

test('retries back off 250 ms, 500 ms, 1 s, 2 s, 4 s, then every 8 s, within ±20 % jitter', () => {
  const base = [250, 500, 1000, 2000, 4000, 8000, 8000, 8000];
  for (const [r, factor] of [
    [0, 0.8],
    [0.5, 1],
    [0.999999, 1.2],
  ]) {
    const a = table(A, [B], {}, nearly(r));
    a.noteWantToSend(B.id, 0);
    let now = 0;
    const times: number[] = [];
    for (let i = 0; i <= base.length; i++) {
      while (!a.handshakeDue(B.id, now)) now += 1;
      times.push(now);
      a.createInitiation(B.id, now);
    }
    assert.equal(times[0], 0, 'the first attempt is immediate');
    base.forEach((d, i) => {
      const gap = times[i + 1] - times[i];
      assert.ok(Math.abs(gap - d * factor) <= 2, `gap ${i} = ${gap}, expected ~${d * factor}`);
    });
    assert.equal(a.stats(B.id, now)?.handshakeAttempts, base.length + 1);
  }
});

test('a lost initiation and a lost response still leave a handshake within 1 s, whatever the jitter', () => {
  // What a flood does to the responder's socket: every datagram may be dropped. Initiation 1 and the
  // response to initiation 2 are lost; the third try must still land within a second.
  for (const r of [0, 0.5, 0.999999]) {
    const a = table(A, [B], {}, nearly(r));
    const b = table(B, [A], {});
    a.noteWantToSend(B.id, 0);
    let now = 0;
    let tries = 0;
    let done: number | undefined;
    while (done === undefined && now <= 5000) {
      if (a.handshakeDue(B.id, now)) {
        const init = a.createInitiation(B.id, now);
        tries++;
        if (tries >= 2) {
          const res = b.consumeInitiation(A.id, init, K, now);
          assert.ok(res.ok);
          if (tries >= 3 && a.consumeResponse(B.id, res.response, K, now).ok) done = now;
        }
      }
      now += 1;
    }
    assert.ok(done !== undefined && done < 1000, `random ${r}: session after ${done} ms`);
  }
});

test('a retry is sent twice, 30 ms apart: the copy completes the same try when the first is lost, and is a replay when both arrive', () => {
  const a = table(A, [B]);
  const b = table(B, [A]);
  a.noteWantToSend(B.id, 0);
  assert.deepEqual(a.tick(0), [B.id]);
  a.createInitiation(B.id, 0); // lost; a first try has no copy
  for (let now = 1; now < 250; now++) {
    assert.deepEqual(a.tick(now), []);
    assert.deepEqual(a.repeatsDue(), [], `no copy of the first try (${now} ms)`);
  }
  assert.deepEqual(a.tick(250), [B.id]);
  const retry = a.createInitiation(B.id, 250); // lost too
  assert.equal(a.nextWakeAt(250), 280, 'the copy is what the table wakes for next');
  a.tick(279);
  assert.deepEqual(a.repeatsDue(), []);
  assert.deepEqual(a.tick(280), []);
  const copies = a.repeatsDue();
  assert.equal(copies.length, 1);
  assert.equal(copies[0]!.peer, B.id);
  assert.ok(copies[0]!.body.equals(retry), 'the copy is the same try, byte for byte');
  a.tick(281);
  assert.deepEqual(a.repeatsDue(), [], 'one copy only');

  const res = b.consumeInitiation(A.id, copies[0]!.body, K, 281);
  assert.ok(res.ok, JSON.stringify(res));
  assert.ok(a.consumeResponse(B.id, res.response, K, 282).ok, 'the copy’s response completes the try');
  assert.deepEqual(b.consumeInitiation(A.id, retry, K, 283), { ok: false, reason: 'replayed-initiation' });

  // Answered before its copy was due: no copy.
  const c = table(A, [B]);
  c.noteWantToSend(B.id, 0);
  c.tick(0);
  c.createInitiation(B.id, 0);
  c.tick(250);
  const again = table(B, [A]).consumeInitiation(A.id, c.createInitiation(B.id, 250), K, 251);
  assert.ok(again.ok && c.consumeResponse(B.id, again.response, K, 252).ok);
  c.tick(280);
  assert.deepEqual(c.repeatsDue(), []);
});

test('with retryRepeatMs 0 a retry is sent once', () => {
  const a = table(A, [B], { ...EXACT, retryRepeatMs: 0 });
  a.noteWantToSend(B.id, 0);
  a.tick(0);
  a.createInitiation(B.id, 0);
  a.tick(250);
  a.createInitiation(B.id, 250);
  for (let now = 251; now < 750; now++) {
    a.tick(now);
    assert.deepEqual(a.repeatsDue(), []);
  }
});

test('retries stay bounded: at most 19 initiations in the 90 s a peer is wanted without answering', () => {
  // The shortest jitter everywhere (×0.8): 6 tries in the first 6.2 s, then one every 6.4 s.
  const a = table(A, [B], {}, nearly(0));
  a.noteWantToSend(B.id, 0);
  let sent = 0;
  for (let now = 0; now <= 90_000; now += 1) {
    if (!a.handshakeDue(B.id, now)) continue;
    a.createInitiation(B.id, now);
    sent++;
  }
  assert.ok(sent <= 19, `${sent} initiations`);
});

test('with real randomness every retry gap stays within ±20 % and the gaps are not all equal', () => {
  const gaps: number[] = [];
  for (let run = 0; run < 20; run++) {
    const a = table(A, [B], {});
    a.noteWantToSend(B.id, 0);
    a.createInitiation(B.id, 0);
    let now = 0;
    while (!a.handshakeDue(B.id, now)) now += 1;
    assert.ok(now >= 200 && now <= 301, `first retry at ${now}`);
    gaps.push(now);
  }
  assert.ok(new Set(gaps).size > 1);
});

test('a completed handshake resets the backoff; retries stop once nobody wants to send', () => {
  const a = table(A, [B]);
  const b = table(B, [A]);
  a.noteWantToSend(B.id, 0);
  a.createInitiation(B.id, 0); // lost
  a.createInitiation(B.id, 1000); // lost
  assert.equal(a.stats(B.id, 1000)?.handshakeAttempts, 2);
  handshake(a, A.id, b, B.id, 3000);
  assert.equal(a.stats(B.id, 3000)?.handshakeAttempts, 0);

  const lonely = table(A, [C]);
  assert.equal(lonely.handshakeDue(C.id, 0), false, 'no traffic, no handshake');
  lonely.noteWantToSend(C.id, 0);
  assert.equal(lonely.handshakeDue(C.id, 0), true);
  lonely.createInitiation(C.id, 0);
  assert.equal(lonely.handshakeDue(C.id, 50_000), true);
  assert.equal(lonely.handshakeDue(C.id, 90_001), false, 'want expired after 90 s');
  lonely.noteWantToSend(C.id, 200_000);
  assert.equal(lonely.handshakeDue(C.id, 200_000), true, 'new traffic retries at once');
});

test('a new path to a peer without a session lifts the backoff; with a session it changes nothing', () => {
  const a = table(A, [B]);
  const b = table(B, [A]);
  a.noteWantToSend(B.id, 0);
  for (const t of [0, 250, 750, 1750, 3750, 7750]) a.createInitiation(B.id, t); // all lost: no path yet
  assert.equal(a.handshakeDue(B.id, 8000), false, 'backing off: next try ~15.75 s');
  a.notePathChanged(B.id, 8000);
  assert.equal(a.handshakeDue(B.id, 8000), true, 'routing found a path: try it now');
  handshake(a, A.id, b, B.id, 8000);
  a.notePathChanged(B.id, 9000);
  assert.equal(a.handshakeDue(B.id, 9000), false, 'an established session is not disturbed');
});

test('a pending confirmation holds back our own initiation for confirmTimeout', () => {
  const a = table(A, [B]);
  const b = table(B, [A]);
  assert.ok(b.consumeInitiation(A.id, a.createInitiation(B.id, 0), K, 0).ok);
  b.noteWantToSend(A.id, 0);
  assert.equal(b.handshakeDue(A.id, 4_999), false);
  assert.equal(b.handshakeDue(A.id, 5_000), true);
});

test('simultaneous initiations converge: both keypairs open, each side sends, in either arrival order', () => {
  for (const order of ['responses-last', 'interleaved']) {
    const a = table(A, [B]);
    const b = table(B, [A]);
    const ia = a.createInitiation(B.id, 0);
    const ib = b.createInitiation(A.id, 0);
    const ra = b.consumeInitiation(A.id, ia, K, 1);
    assert.ok(ra.ok);
    if (order === 'interleaved') assert.ok(a.consumeResponse(B.id, ra.response, K, 1).ok);
    const rb = a.consumeInitiation(B.id, ib, K, 1);
    assert.ok(rb.ok);
    if (order !== 'interleaved') assert.ok(a.consumeResponse(B.id, ra.response, K, 2).ok);
    assert.ok(b.consumeResponse(A.id, rb.response, K, 2).ok);
    for (let i = 0; i < 3; i++) {
      const ab = send(a, A.id, B.id, Buffer.from([1, i]), 3 + i);
      const ba = send(b, B.id, A.id, Buffer.from([2, i]), 3 + i);
      assert.ok(ab && ba, order);
      assert.deepEqual(receive(b, ab, 3 + i), Buffer.from([1, i]), order);
      assert.deepEqual(receive(a, ba, 3 + i), Buffer.from([2, i]), order);
    }
    assert.equal(a.handshakeDue(B.id, 10), false);
    assert.equal(b.handshakeDue(A.id, 10), false);
  }
});

test('superseded keypairs are capped: the oldest is zeroed once two newer ones exist', () => {
  const a = table(A, [B]);
  const b = table(B, [A]);
  handshake(a, A.id, b, B.id, 0);
  const first = a.sendKeypair(B.id, 0);
  assert.ok(first);
  handshake(a, A.id, b, B.id, 1);
  handshake(a, A.id, b, B.id, 2);
  assert.equal(first.isDestroyed, false, 'current + 2 previous are kept');
  handshake(a, A.id, b, B.id, 3);
  assert.equal(first.isDestroyed, true);
  assert.equal(a.receiveKeypair(first.localIndex), undefined);
});

test('an unanswered initiation is forgotten after pendingTimeout', () => {
  const a = table(A, [B], { ...EXACT, pendingTimeoutMs: 1000 });
  const b = table(B, [A]);
  const res = b.consumeInitiation(A.id, a.createInitiation(B.id, 0), K, 0);
  assert.ok(res.ok);
  a.tick(1000);
  assert.deepEqual(a.consumeResponse(B.id, res.response, K, 1000), { ok: false, reason: 'unknown-index' });
});

test('setPeers drops removed members (keys zeroed, indices freed) and adds new ones', () => {
  const a = table(A, [B, C]);
  const b = table(B, [A]);
  handshake(a, A.id, b, B.id, 0);
  const kp = a.sendKeypair(B.id, 0);
  assert.ok(kp);
  a.setPeers([{ id: C.id, publicKey: C.keyPair.publicKey }]);
  assert.equal(kp.isDestroyed, true);
  assert.equal(a.receiveKeypair(kp.localIndex), undefined);
  assert.equal(a.stats(B.id, 0), undefined);
  assert.deepEqual(a.peers(), [C.id]);
  assert.throws(() => a.createInitiation(B.id, 0), RangeError);
  a.setPeers([A, B, C].map((m) => ({ id: m.id, publicKey: m.keyPair.publicKey })));
  assert.deepEqual(a.peers().sort(), [B.id, C.id].sort(), 'our own entry is skipped');
  handshake(a, A.id, b, B.id, 1);
});

test('close zeroes every keypair', () => {
  const a = table(A, [B]);
  const b = table(B, [A]);
  handshake(a, A.id, b, B.id, 0);
  const kp = a.sendKeypair(B.id, 0);
  a.close();
  assert.equal(kp?.isDestroyed, true);
  assert.deepEqual(a.peers(), []);
});

test('the low-level receive path (receiveKeypair, keypair.open, confirmReceived) confirms too', () => {
  const a = table(A, [B]);
  const b = table(B, [A]);
  const res = b.consumeInitiation(A.id, a.createInitiation(B.id, 0), K, 0);
  assert.ok(res.ok && a.consumeResponse(B.id, res.response, K, 0).ok);
  const pkt = send(a, A.id, B.id, Buffer.from([0]), 1);
  assert.ok(pkt);
  const found = b.receiveKeypair(pkt.readUInt32BE(12));
  assert.ok(found);
  assert.equal(found.peer, A.id);
  assert.equal(b.sendKeypair(A.id, 1), undefined);
  assert.equal(found.keypair.open(pkt, 4, pkt.length, 1, PathFlags.Direct), 1);
  b.confirmReceived(found.peer, found.keypair);
  assert.equal(b.sendKeypair(A.id, 1), found.keypair);
});

test('a retry waits 1.5 round trips of the route, so a slow path completes on its first try, not its second', () => {
  // Path round trip 300 ms: the 250 ms step would replace the first try before its response is back,
  // and that response would be stale (a Diffie-Hellman wasted on each side).
  const a = table(A, [B]);
  const b = table(B, [A]);
  a.noteWantToSend(B.id, 0);
  const first = a.createInitiation(B.id, 0, true, 300);
  assert.equal(a.handshakeDue(B.id, 250), false, 'no retry at the 250 ms step');
  assert.equal(a.handshakeDue(B.id, 449), false);
  const res = b.consumeInitiation(A.id, first, K, 150);
  assert.ok(res.ok);
  assert.ok(a.consumeResponse(B.id, res.response, K, 300).ok, 'the first try completes');
  // Without a round trip (no route yet) the steps are as before; a floor never exceeds the last step.
  const c = table(A, [B]);
  c.noteWantToSend(B.id, 0);
  c.createInitiation(B.id, 0);
  assert.equal(c.handshakeDue(B.id, 250), true);
  const d = table(A, [B]);
  d.noteWantToSend(B.id, 0);
  d.createInitiation(B.id, 0, true, 60_000);
  assert.equal(d.handshakeDue(B.id, 8000), true, 'capped at the last retry step (8 s)');
});
