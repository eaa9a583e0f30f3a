import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INIT_MAC1_OFFSET, RESPONSE_MAC1_OFFSET } from '../../src/session/handshake.js';
import { mac1Key, writeMac } from '../../src/session/mac.js';
import { SessionTable } from '../../src/session/session-table.js';
import { A, B, from, K, type Member } from './session-fixtures.js';

// Deterministic, so a failure reproduces.
function prng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s % n;
  };
}

function table(me: Member, peer: Member): SessionTable {
  return new SessionTable({
    localKeyPair: me.keyPair,
    localId: me.id,
    peers: [{ id: peer.id, publicKey: peer.keyPair.publicKey }],
    // No rate limit and never under load: every new body with a valid mac1 should reach Noise.
    params: {
      rateLimit: { perKeyBurst: 1e9, globalBurst: 1e9 },
      guard: { underLoad: { perSecond: 1e9, burst: 1e9 } },
    },
  });
}

test('1000 random and mutated bodies never throw, and the real session keeps working', () => {
  const rand = prng(0xc0ffee);
  const a = table(A, B);
  const b = table(B, A);
  const init = Buffer.from(a.createInitiation(B.id, 0));
  const first = b.consumeInitiation(A.id, init, K, 0);
  assert.ok(first.ok);
  const response = Buffer.from(first.response);
  const reasons = new Map<string, number>();
  const count = (r: { ok: boolean; reason?: string }): void => {
    const k = r.ok ? 'ok' : String(r.reason);
    reasons.set(k, (reasons.get(k) ?? 0) + 1);
  };

  for (let i = 0; i < 1000; i++) {
    const kind = rand(4);
    let body: Buffer;
    if (kind === 0) {
      body = Buffer.alloc(rand(200));
      for (let j = 0; j < body.length; j++) body[j] = rand(256);
    } else {
      // A real message with a few bytes before mac1 changed, re-MACed half the time so it gets past mac1.
      // Kind 3 rewrites an index (the cleartext fields a relay could touch).
      const original = kind === 1 ? init : response;
      body = Buffer.from(original);
      if (kind === 3) body.writeUInt32BE(rand(0xffffffff), rand(2) * 4);
      else for (let k = 0; k <= rand(4); k++) body[rand(body.length - 16)] ^= 1 + rand(255);
      if (body.subarray(0, -16).equals(original.subarray(0, -16))) body[0] ^= 1;
      if (rand(2) === 0) {
        const [at, key] = kind === 1 ? [INIT_MAC1_OFFSET, B] : [RESPONSE_MAC1_OFFSET, A];
        writeMac(body, at, mac1Key(key.keyPair.publicKey));
      }
    }
    assert.doesNotThrow(() => count(b.consumeInitiation(A.id, body, from(`198.51.100.${rand(8)}`), i)));
    assert.doesNotThrow(() => count(a.consumeResponse(B.id, body, from(`198.51.100.${rand(8)}`), i)));
    const pkt = Buffer.alloc(Math.max(body.length, 1));
    body.copy(pkt);
    assert.doesNotThrow(() => b.open(pkt, rand(40), rand(pkt.length + 5), i, rand(2)));
  }
  assert.equal(reasons.get('ok') ?? 0, 0, 'nothing forged was accepted');
  assert.ok(
    (reasons.get('bad-handshake') ?? 0) > 100,
    `Noise was exercised: ${JSON.stringify([...reasons])}`,
  );

  // The pending initiation survived the forged responses.
  assert.ok(a.consumeResponse(B.id, response, K, 2000).ok);
  assert.ok(a.sendKeypair(B.id, 2000));
});
