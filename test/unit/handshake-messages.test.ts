import { test } from 'node:test';
import assert from 'node:assert/strict';
import sodium from 'sodium-native';
import { keyPairFromSeed } from '../../src/identity/keys.js';
import {
  INIT_BODY_BYTES,
  INIT_MAC1_OFFSET,
  INIT_MAC2_OFFSET,
  InitiatorHandshake,
  RESPONSE_BODY_BYTES,
  RESPONSE_MAC1_OFFSET,
  ResponderHandshake,
} from '../../src/session/handshake.js';
import { MAC_BYTES, mac1Key, verifyMac, writeMac } from '../../src/session/mac.js';
import { compareTai64n, encodeTai64n, TimestampSource } from '../../src/session/timestamp.js';

const alice = keyPairFromSeed(Buffer.alloc(32, 1));
const bob = keyPairFromSeed(Buffer.alloc(32, 2));

test('mac1 is BLAKE2b-128 over the body, keyed by BLAKE2b-256("overlayd mac1" || receiver key)', () => {
  const body = Buffer.alloc(40, 7);
  writeMac(body, 24, mac1Key(bob.publicKey));
  const key = Buffer.alloc(32);
  sodium.crypto_generichash(key, Buffer.concat([Buffer.from('overlayd mac1'), bob.publicKey]));
  const mac = Buffer.alloc(16);
  sodium.crypto_generichash(mac, body.subarray(0, 24), key);
  assert.deepEqual(body.subarray(24), mac);
  assert.equal(verifyMac(body, 24, mac1Key(bob.publicKey)), true);
  assert.equal(verifyMac(body, 24, mac1Key(alice.publicKey)), false, 'keyed to another receiver');
});

test('mac1 fails if any byte of the body or the mac changes, and on bodies shorter than a mac', () => {
  const key = mac1Key(bob.publicKey);
  const body = Buffer.alloc(60, 3);
  writeMac(body, 44, key);
  for (let i = 0; i < body.length; i++) {
    const copy = Buffer.from(body);
    copy[i] ^= 1;
    assert.equal(verifyMac(copy, 44, key), false, `byte ${i}`);
  }
  assert.equal(verifyMac(Buffer.alloc(MAC_BYTES - 1), 0, key), false);
  assert.equal(verifyMac(body, 45, key), false, 'a mac that would run past the end');
});

test('TAI64N: label 2^62 + 10 + seconds, nanoseconds rounded down to 2^24 ns, ordered by bytes', () => {
  const t = encodeTai64n(1_700_000_000_123);
  assert.equal(t.length, 12);
  assert.equal(t.readBigUInt64BE(0), 0x4000_0000_0000_000an + 1_700_000_000n);
  const nanos = t.readUInt32BE(8);
  assert.equal(nanos % 0x100_0000, 0);
  assert.ok(nanos <= 123_000_000 && nanos > 123_000_000 - 0x100_0000);
  assert.ok(compareTai64n(encodeTai64n(1_700_000_001_000), t) > 0);
  assert.ok(compareTai64n(encodeTai64n(1_699_999_999_999), t) < 0);
  assert.equal(compareTai64n(encodeTai64n(1_700_000_000_120), t), 0, 'same whitening step');
});

test('TimestampSource is strictly increasing even when the wall clock stalls or steps back', () => {
  const times = [
    1_700_000_000_000, 1_700_000_000_000, 1_700_000_000_001, 1_600_000_000_000, 1_700_000_000_999,
  ];
  let i = 0;
  const src = new TimestampSource(() => times[i++]);
  let last = src.next();
  for (let k = 1; k < times.length; k++) {
    const t = src.next();
    assert.ok(compareTai64n(t, last) > 0, `timestamp ${k} increases`);
    assert.ok(t.readUInt32BE(8) < 1_000_000_000, 'nanoseconds stay below one second');
    last = t;
  }
});

test('Noise IK messages have the documented sizes and both sides derive crossed keys', () => {
  const ts = encodeTai64n(Date.now());
  const init = new InitiatorHandshake(alice, bob.publicKey, 0xaabbccdd, ts, mac1Key(bob.publicKey));
  assert.equal(init.body.length, INIT_BODY_BYTES);
  assert.equal(INIT_BODY_BYTES, 144);
  assert.equal(init.body.readUInt32BE(0), 0xaabbccdd);
  assert.equal(verifyMac(init.body, INIT_MAC1_OFFSET, mac1Key(bob.publicKey)), true);
  assert.deepEqual(init.mac1, init.body.subarray(INIT_MAC1_OFFSET, INIT_MAC2_OFFSET));
  assert.deepEqual(init.body.subarray(INIT_MAC2_OFFSET), Buffer.alloc(16), 'no cookie: mac2 is zeros');
  assert.equal(init.mac2Cookie, undefined);

  const resp = ResponderHandshake.read(bob, init.body);
  assert.ok(resp);
  assert.equal(resp.senderIndex, 0xaabbccdd);
  assert.deepEqual(resp.remoteStatic, alice.publicKey);
  assert.deepEqual(resp.timestamp, ts);
  const made = resp.respond(0x11223344, mac1Key(alice.publicKey));
  assert.ok(made);
  assert.equal(made.body.length, RESPONSE_BODY_BYTES);
  assert.equal(RESPONSE_BODY_BYTES, 72);
  assert.equal(verifyMac(made.body, RESPONSE_MAC1_OFFSET, mac1Key(alice.publicKey)), true);
  assert.equal(made.body.readUInt32BE(0), 0x11223344);
  assert.equal(made.body.readUInt32BE(4), 0xaabbccdd);

  const done = init.readResponse(made.body);
  assert.ok(done);
  assert.equal(done.senderIndex, 0x11223344);
  assert.deepEqual(done.keys.send, made.keys.receive);
  assert.deepEqual(done.keys.receive, made.keys.send);
  assert.notDeepEqual(done.keys.send, done.keys.receive);
});

test('reading a message does not modify the caller buffer (noise-handshake zeroes what it reads)', () => {
  const init = new InitiatorHandshake(alice, bob.publicKey, 1, encodeTai64n(0), mac1Key(bob.publicKey));
  const before = Buffer.from(init.body);
  const resp = ResponderHandshake.read(bob, init.body);
  const made = resp?.respond(2, mac1Key(alice.publicKey));
  assert.ok(made);
  assert.deepEqual(init.body, before);
  const respBefore = Buffer.from(made.body);
  assert.ok(init.readResponse(made.body));
  assert.deepEqual(made.body, respBefore);
});

test('a forged response does not spoil the pending handshake: the real one still completes', () => {
  const init = new InitiatorHandshake(alice, bob.publicKey, 1, encodeTai64n(0), mac1Key(bob.publicKey));
  const made = ResponderHandshake.read(bob, init.body)?.respond(2, mac1Key(alice.publicKey));
  assert.ok(made);
  const forged = Buffer.from(made.body);
  forged[40] ^= 1; // inside the encrypted empty payload
  assert.equal(init.readResponse(forged), null);
  const smallOrder = Buffer.from(made.body);
  smallOrder.fill(0, 8, 40); // ephemeral = identity point: libsodium throws
  assert.equal(init.readResponse(smallOrder), null);
  const done = init.readResponse(made.body);
  assert.ok(done);
  assert.deepEqual(done.keys.send, made.keys.receive);
  assert.equal(init.readResponse(made.body), null, 'a handshake completes once');
});

test('an initiation for another responder, or with a small-order ephemeral, is not readable', () => {
  const carol = keyPairFromSeed(Buffer.alloc(32, 3));
  const toCarol = new InitiatorHandshake(
    alice,
    carol.publicKey,
    1,
    encodeTai64n(0),
    mac1Key(carol.publicKey),
  );
  assert.equal(ResponderHandshake.read(bob, toCarol.body), null);
  const toBob = new InitiatorHandshake(alice, bob.publicKey, 1, encodeTai64n(0), mac1Key(bob.publicKey));
  const bad = Buffer.from(toBob.body);
  bad.fill(0, 4, 36);
  assert.equal(ResponderHandshake.read(bob, bad), null);
  assert.equal(ResponderHandshake.read(bob, toBob.body.subarray(0, 127)), null);
});

test('with a cookie, mac2 is BLAKE2b-128 keyed by the cookie over the body up to mac2', () => {
  const cookie = Buffer.alloc(16, 0x5c);
  const init = new InitiatorHandshake(
    alice,
    bob.publicKey,
    9,
    encodeTai64n(0),
    mac1Key(bob.publicKey),
    cookie,
  );
  assert.deepEqual(init.mac2Cookie, cookie);
  const mac2 = Buffer.alloc(16);
  sodium.crypto_generichash(mac2, init.body.subarray(0, INIT_MAC2_OFFSET), cookie);
  assert.deepEqual(init.body.subarray(INIT_MAC2_OFFSET), mac2);
  assert.equal(verifyMac(init.body, INIT_MAC1_OFFSET, mac1Key(bob.publicKey)), true, 'mac1 unchanged');
  assert.ok(ResponderHandshake.read(bob, init.body), 'Noise does not read mac2');
});
