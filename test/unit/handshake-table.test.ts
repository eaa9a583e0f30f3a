import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  INIT_BODY_BYTES,
  INIT_MAC1_OFFSET,
  InitiatorHandshake,
  RESPONSE_MAC1_OFFSET,
} from '../../src/session/handshake.js';
import { OpenError } from '../../src/session/keypair.js';
import { mac1Key, writeMac } from '../../src/session/mac.js';
import { SessionTable } from '../../src/session/session-table.js';
import { encodeTai64n } from '../../src/session/timestamp.js';
import { A, B, C, from, K, lastWall, receive, send, table, type Member } from './session-fixtures.js';

test('two tables handshake and exchange data both ways', () => {
  const a = table(A, [A, B, C]);
  const b = table(B, [A, B]);
  const init = a.createInitiation(B.id, 0);
  assert.equal(init.length, INIT_BODY_BYTES);
  const r1 = b.consumeInitiation(A.id, init, from('10.0.0.1'), 1);
  assert.ok(r1.ok, JSON.stringify(r1));
  assert.equal(r1.peer, A.id);
  assert.equal(r1.response.length, 72);
  assert.equal(b.sendKeypair(A.id, 1), undefined, 'responder waits for confirmation');
  assert.equal(send(b, B.id, A.id, Buffer.from('early'), 1), null);

  const r2 = a.consumeResponse(B.id, r1.response, from('10.0.0.2'), 2);
  assert.deepEqual(r2, { ok: true, peer: B.id });
  assert.ok(a.sendKeypair(B.id, 2), 'initiator may send at once');

  // The data plane sends a keepalive right after consumeResponse: it confirms the keypair at B.
  const keepalive = send(a, A.id, B.id, Buffer.from([0]), 3);
  assert.ok(keepalive);
  assert.deepEqual(receive(b, keepalive, 4), Buffer.from([0]));
  assert.ok(b.sendKeypair(A.id, 4));

  for (let i = 0; i < 5; i++) {
    const ab = send(a, A.id, B.id, Buffer.from(`a->b ${i}`), 5);
    const ba = send(b, B.id, A.id, Buffer.from(`b->a ${i}`), 5);
    assert.ok(ab && ba);
    assert.deepEqual(receive(b, ab, 6), Buffer.from(`a->b ${i}`));
    assert.deepEqual(receive(a, ba, 6), Buffer.from(`b->a ${i}`));
  }
  assert.equal(a.stats(B.id, 10)?.established, true);
  assert.equal(a.stats(B.id, 10)?.lastHandshakeAt, 2);
  assert.equal(a.stats(C.id, 10)?.established, false);
  assert.equal(a.stats(0x1234, 10), undefined);
});

test('an initiation signed by a key that is not a member is rejected as unknown-key', () => {
  const b = table(B, [A]);
  const c = table(C, [B]);
  const r = b.consumeInitiation(C.id, c.createInitiation(B.id, 0), K, 0);
  assert.deepEqual(r, { ok: false, reason: 'unknown-key' });
});

test('an initiation whose key belongs to another member than the header src is id-mismatch', () => {
  const a = table(A, [B]);
  const b = table(B, [A, C]);
  const r = b.consumeInitiation(C.id, a.createInitiation(B.id, 0), K, 0);
  assert.deepEqual(r, { ok: false, reason: 'id-mismatch' });
});

test('bad mac1: random bytes, a valid initiation for another responder, a flipped mac bit', () => {
  const a = table(A, [B, C]);
  const b = table(B, [A]);
  const random = Buffer.alloc(INIT_BODY_BYTES);
  for (let i = 0; i < random.length; i++) random[i] = (i * 151 + 7) & 0xff;
  assert.deepEqual(b.consumeInitiation(A.id, random, K, 0), { ok: false, reason: 'bad-mac' });
  const toC = a.createInitiation(C.id, 0);
  assert.deepEqual(b.consumeInitiation(A.id, toC, K, 0), { ok: false, reason: 'bad-mac' });
  const flipped = Buffer.from(a.createInitiation(B.id, 0));
  flipped[INIT_MAC1_OFFSET + 15] ^= 0x80;
  assert.deepEqual(b.consumeInitiation(A.id, flipped, K, 0), { ok: false, reason: 'bad-mac' });
});

test('a correct mac1 over a message Noise cannot read is bad-handshake', () => {
  const b = table(B, [A]);
  const body = Buffer.alloc(INIT_BODY_BYTES, 9);
  writeMac(body, INIT_MAC1_OFFSET, mac1Key(B.keyPair.publicKey));
  assert.deepEqual(b.consumeInitiation(A.id, body, K, 0), { ok: false, reason: 'bad-handshake' });
});

test('truncated and oversized handshake bodies are rejected by length first', () => {
  const a = table(A, [B]);
  const b = table(B, [A]);
  const init = a.createInitiation(B.id, 0);
  assert.deepEqual(b.consumeInitiation(A.id, init.subarray(0, INIT_BODY_BYTES - 1), K, 0), {
    ok: false,
    reason: 'truncated',
  });
  assert.deepEqual(b.consumeInitiation(A.id, Buffer.concat([init, Buffer.alloc(1)]), K, 0), {
    ok: false,
    reason: 'oversized',
  });
  assert.deepEqual(b.consumeInitiation(A.id, Buffer.alloc(0), K, 0), { ok: false, reason: 'truncated' });
  const r = b.consumeInitiation(A.id, init, K, 0);
  assert.ok(r.ok);
  assert.deepEqual(a.consumeResponse(B.id, r.response.subarray(0, 71), K, 0), {
    ok: false,
    reason: 'truncated',
  });
  assert.deepEqual(a.consumeResponse(B.id, Buffer.concat([r.response, Buffer.alloc(1)]), K, 0), {
    ok: false,
    reason: 'oversized',
  });
  assert.ok(a.consumeResponse(B.id, r.response, K, 0).ok, 'the real response still works');
});

test('a replayed initiation is dropped before DH; an older, unseen one by its timestamp after DH', () => {
  const a = table(A, [B]);
  const b = table(B, [A]);
  const older = Buffer.from(a.createInitiation(B.id, 0));
  const newer = Buffer.from(a.createInitiation(B.id, 1));
  assert.ok(b.consumeInitiation(A.id, newer, K, 2).ok);
  const dh = b.handshakeStats().responderDh;
  assert.deepEqual(b.consumeInitiation(A.id, newer, K, 3), { ok: false, reason: 'replayed-initiation' });
  assert.equal(b.handshakeStats().responderDh, dh, 'the same bytes again cost no DH');
  assert.deepEqual(b.consumeInitiation(A.id, older, K, 3), { ok: false, reason: 'replayed-handshake' });
  assert.equal(b.handshakeStats().responderDh, dh + 1, 'never seen: only the timestamp tells');
});

test('two initiations in the same wall-clock instant are both accepted (timestamps stay increasing)', () => {
  const frozen = (): number => 1_700_000_000_000;
  const mk = (me: Member, peer: Member): SessionTable =>
    new SessionTable({
      localKeyPair: me.keyPair,
      localId: me.id,
      peers: [{ id: peer.id, publicKey: peer.keyPair.publicKey }],
      wallClock: frozen,
    });
  const a = mk(A, B);
  const b = mk(B, A);
  assert.ok(b.consumeInitiation(A.id, a.createInitiation(B.id, 0), K, 0).ok);
  assert.ok(b.consumeInitiation(A.id, a.createInitiation(B.id, 1), K, 1).ok);
});

test('a response is consumed once; a replay, an unknown index or a stale initiation is unknown-index', () => {
  const a = table(A, [B]);
  const b = table(B, [A]);
  const stale = a.createInitiation(B.id, 0);
  const staleResp = b.consumeInitiation(A.id, stale, K, 0);
  const init = a.createInitiation(B.id, 1); // abandons the first
  const r = b.consumeInitiation(A.id, init, K, 1);
  assert.ok(r.ok && staleResp.ok);
  assert.deepEqual(a.consumeResponse(B.id, staleResp.response, K, 2), {
    ok: false,
    reason: 'unknown-index',
  });
  assert.ok(a.consumeResponse(B.id, r.response, K, 2).ok);
  assert.deepEqual(a.consumeResponse(B.id, r.response, K, 3), { ok: false, reason: 'unknown-index' });
  const unknown = Buffer.from(r.response);
  unknown.writeUInt32BE(0xdeadbeef, 4);
  assert.deepEqual(a.consumeResponse(B.id, unknown, K, 3), { ok: false, reason: 'unknown-index' });
});

test('a response from the wrong member or with a bad mac is rejected, and the handshake survives', () => {
  const a = table(A, [B, C]);
  const b = table(B, [A]);
  const r = b.consumeInitiation(A.id, a.createInitiation(B.id, 0), K, 0);
  assert.ok(r.ok);
  assert.deepEqual(a.consumeResponse(C.id, r.response, K, 1), { ok: false, reason: 'id-mismatch' });
  const badMac = Buffer.from(r.response);
  badMac[71] ^= 1;
  assert.deepEqual(a.consumeResponse(B.id, badMac, K, 1), { ok: false, reason: 'bad-mac' });
  const forged = Buffer.from(r.response);
  forged[20] ^= 1;
  writeMac(forged, RESPONSE_MAC1_OFFSET, mac1Key(A.keyPair.publicKey));
  assert.deepEqual(a.consumeResponse(B.id, forged, K, 1), { ok: false, reason: 'bad-handshake' });
  assert.ok(a.consumeResponse(B.id, r.response, K, 1).ok);
});

test('rate limiting: a source IP gets its burst, then rate-limited until tokens refill; others are unaffected', () => {
  const rateLimit = { perKeyBurst: 3, perKeyPerSecond: 1, globalBurst: 100, globalPerSecond: 1 };
  const a = table(A, [B]);
  const b = table(B, [A], { rateLimit });
  const inits = Array.from({ length: 8 }, (_, i) => Buffer.from(a.createInitiation(B.id, i)));
  for (let i = 0; i < 3; i++)
    assert.ok(b.consumeInitiation(A.id, inits[i], from('192.0.2.1', 1000 + i), 0).ok, `init ${i}`);
  assert.deepEqual(b.consumeInitiation(A.id, inits[3], from('192.0.2.1', 2000), 0), {
    ok: false,
    reason: 'rate-limited',
  });
  assert.ok(b.consumeInitiation(A.id, inits[4], from('192.0.2.2'), 0).ok, 'another IP has its own bucket');
  assert.ok(b.consumeInitiation(A.id, inits[5], from('192.0.2.1'), 1000).ok, 'one token refilled after 1 s');
});

test('the global budget is per lane: strangers who spend theirs leave members’ proven addresses theirs', () => {
  const rateLimit = { perKeyBurst: 100, globalBurst: 4, globalPerSecond: 0.001 };
  const a = table(A, [B]);
  const b = table(B, [A], { rateLimit });
  // A member's key at unproven addresses stands for anyone with valid initiations: they spend 'others'.
  for (let i = 0; i < 4; i++)
    assert.ok(b.consumeInitiation(A.id, a.createInitiation(B.id, 1), from(`198.51.100.${i}`), 1).ok);
  assert.deepEqual(b.consumeInitiation(A.id, a.createInitiation(B.id, 1), from('198.51.100.9'), 1), {
    ok: false,
    reason: 'rate-limited',
  });
  const home = { ...from('192.0.2.1'), proven: true };
  assert.ok(b.consumeInitiation(A.id, a.createInitiation(B.id, 1), home, 1).ok, 'home has its own lane');
});

test('the rate limiter runs after mac1: garbage does not use up a source budget', () => {
  const rateLimit = { perKeyBurst: 1, perKeyPerSecond: 1 };
  const a = table(A, [B]);
  const b = table(B, [A], { rateLimit });
  for (let i = 0; i < 10; i++)
    b.consumeInitiation(A.id, Buffer.alloc(INIT_BODY_BYTES, i), from('192.0.2.1'), 0);
  assert.ok(b.consumeInitiation(A.id, a.createInitiation(B.id, 0), from('192.0.2.1'), 0).ok);
});

test('open rejects unknown indices and packets whose src is not the keypair owner', () => {
  const a = table(A, [B]);
  const b = table(B, [A, C]);
  const r = b.consumeInitiation(A.id, a.createInitiation(B.id, 0), K, 0);
  assert.ok(r.ok && a.consumeResponse(B.id, r.response, K, 0).ok);
  const pkt = send(a, A.id, B.id, Buffer.from([1, 2, 3]), 1);
  assert.ok(pkt);
  const wrongSrc = Buffer.from(pkt);
  wrongSrc.writeUInt32BE(C.id, 4);
  assert.equal(receive(b, wrongSrc, 1), OpenError.WrongSource);
  const wrongIndex = Buffer.from(pkt);
  wrongIndex.writeUInt32BE((wrongIndex.readUInt32BE(12) + 1) >>> 0, 12);
  assert.equal(receive(b, wrongIndex, 1), OpenError.UnknownIndex);
  assert.equal(receive(b, pkt.subarray(0, 39), 1), OpenError.Truncated);
  assert.equal(receive(b, Buffer.from(pkt.subarray(0, 40)), 1), OpenError.AuthFailed, 'a cut ciphertext');
  assert.deepEqual(receive(b, pkt, 1), Buffer.from([1, 2, 3]));
});

test('an InitiatorHandshake built outside a table completes against a SessionTable responder', () => {
  const b = table(B, [A]);
  const hs = new InitiatorHandshake(
    A.keyPair,
    B.keyPair.publicKey,
    77,
    encodeTai64n(lastWall() + 1e9),
    mac1Key(B.keyPair.publicKey),
  );
  const r = b.consumeInitiation(A.id, hs.body, K, 0);
  assert.ok(r.ok);
  assert.ok(hs.readResponse(r.response));
});

test('rewriting a cleartext index (and recomputing mac1) breaks the handshake: indices are bound', () => {
  const a = table(A, [B]);
  const b = table(B, [A]);
  const init = Buffer.from(a.createInitiation(B.id, 0));
  const badInit = Buffer.from(init);
  badInit.writeUInt32BE((badInit.readUInt32BE(0) ^ 1) >>> 0, 0);
  writeMac(badInit, INIT_MAC1_OFFSET, mac1Key(B.keyPair.publicKey));
  assert.deepEqual(b.consumeInitiation(A.id, badInit, K, 0), { ok: false, reason: 'bad-handshake' });
  const r = b.consumeInitiation(A.id, init, K, 0);
  assert.ok(r.ok);
  const badResp = Buffer.from(r.response);
  badResp.writeUInt32BE((badResp.readUInt32BE(0) ^ 1) >>> 0, 0);
  writeMac(badResp, RESPONSE_MAC1_OFFSET, mac1Key(A.keyPair.publicKey));
  assert.deepEqual(a.consumeResponse(B.id, badResp, K, 1), { ok: false, reason: 'bad-handshake' });
  assert.ok(a.consumeResponse(B.id, r.response, K, 1).ok);
});
