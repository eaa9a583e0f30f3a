import { test } from 'node:test';
import assert from 'node:assert/strict';
import sodium from 'sodium-native';
import { DataKeypair, OpenError, SEAL_REFUSED, openErrorReason } from '../../src/session/keypair.js';
import { PathFlags } from '../../src/wire/constants.js';

const ADDR = 12; // as if the route listed two relays: addresses start at 4 + 4 * 2
const FLAGS = PathFlags.Relayed; // ... so sealed and opened as relayed
const SRC = 0x0a0b0c0d;
const DST = 0x01020304;

function key(fill: number): Buffer {
  return Buffer.alloc(32, fill);
}

/** Two ends of one session: a sends with key 1 / receives with key 2, b the opposite. */
function pair(opts: { rejectAfterMs?: number; rejectAfterMessages?: number } = {}): {
  a: DataKeypair;
  b: DataKeypair;
} {
  const common = {
    createdAt: 1000,
    rejectAfterMs: opts.rejectAfterMs ?? 180_000,
    rejectAfterMessages: opts.rejectAfterMessages ?? 2 ** 53 - 2 ** 13,
    replayWindowBits: 2048,
  };
  const a = new DataKeypair({
    ...common,
    sendKey: key(1),
    receiveKey: key(2),
    localIndex: 111,
    remoteIndex: 222,
    isInitiator: true,
  });
  const b = new DataKeypair({
    ...common,
    sendKey: key(2),
    receiveKey: key(1),
    localIndex: 222,
    remoteIndex: 111,
    isInitiator: false,
  });
  return { a, b };
}

/** A packet buffer with the route prefix and addresses written, sealed by `kp`. */
function sealed(kp: DataKeypair, payload: Uint8Array, now = 1000): Buffer {
  const buf = Buffer.alloc(ADDR + 20 + payload.byteLength + 16 + 10); // spare room past the end
  buf.writeUInt32BE(SRC, ADDR);
  buf.writeUInt32BE(DST, ADDR + 4);
  const end = kp.seal(buf, ADDR, payload, now, FLAGS);
  assert.equal(end, ADDR + 20 + payload.byteLength + 16);
  return buf.subarray(0, end);
}

test('seal writes receiverIndex and a big-endian counter, and open restores the plaintext in place', () => {
  const { a, b } = pair();
  const payload = Buffer.from('\x01hello overlay');
  for (let i = 0; i < 3; i++) {
    const pkt = sealed(a, payload);
    assert.equal(pkt.readUInt32BE(ADDR + 8), 222, 'receiverIndex is the peer index');
    assert.equal(pkt.readBigUInt64BE(ADDR + 12), BigInt(i), 'counter');
    assert.notDeepEqual(pkt.subarray(ADDR + 20, ADDR + 20 + payload.length), payload, 'encrypted');
    const n = b.open(pkt, ADDR, pkt.length, 1000, FLAGS);
    assert.equal(n, payload.length);
    assert.deepEqual(pkt.subarray(ADDR + 20, ADDR + 20 + n), payload);
  }
  assert.equal(a.sendCounter, 3);
  assert.equal(b.receivedAny, true);
});

test('the AEAD is ChaCha20-Poly1305 IETF, nonce = u32 BE pathFlags + the header counter bytes, AD = [A, A+20)', () => {
  const { a } = pair();
  for (let i = 0; i < 5; i++) sealed(a, Buffer.from([0]));
  const pkt = Buffer.alloc(ADDR + 20 + 3 + 16);
  const end = a.seal(pkt, ADDR, Buffer.from('abc'), 1000, PathFlags.Direct);
  assert.equal(end, pkt.length);
  const nonce = Buffer.concat([Buffer.from([0, 0, 0, 1]), pkt.subarray(ADDR + 12, ADDR + 20)]);
  const plain = Buffer.alloc(3);
  sodium.crypto_aead_chacha20poly1305_ietf_decrypt(
    plain,
    null,
    pkt.subarray(ADDR + 20),
    pkt.subarray(ADDR, ADDR + 20),
    nonce,
    key(1),
  );
  assert.equal(plain.toString(), 'abc');
});

test('plaintext may be a view of another buffer, or sit in place at addrOffset + 20', () => {
  const { a, b } = pair();
  const big = Buffer.from('xxxxPAYLOADyyyy');
  const pkt = sealed(a, big.subarray(4, 11));
  assert.equal(b.open(pkt, ADDR, pkt.length, 1000, FLAGS), 7);
  assert.equal(pkt.subarray(ADDR + 20, ADDR + 27).toString(), 'PAYLOAD');

  const inPlace = Buffer.alloc(ADDR + 20 + 5 + 16);
  inPlace.write('INNER', ADDR + 20);
  const end = a.seal(inPlace, ADDR, inPlace.subarray(ADDR + 20, ADDR + 25), 1000, FLAGS);
  assert.equal(b.open(inPlace, ADDR, end, 1000, FLAGS), 5);
  assert.equal(inPlace.subarray(ADDR + 20, ADDR + 25).toString(), 'INNER');
});

test('tampering with the ciphertext, the tag, or any associated byte fails authentication', () => {
  const positions: Record<string, number> = {
    src: ADDR,
    dst: ADDR + 7,
    receiverIndex: ADDR + 9,
    counter: ADDR + 19,
    ciphertext: ADDR + 21,
    tag: -1,
  };
  for (const [field, pos] of Object.entries(positions)) {
    const { a, b } = pair();
    const pkt = sealed(a, Buffer.from('\x01some packet'));
    const at = pos < 0 ? pkt.length + pos : pos;
    pkt[at] ^= 0x40;
    const r = b.open(pkt, ADDR, pkt.length, 1000, FLAGS);
    assert.equal(r, OpenError.AuthFailed, field);
    assert.equal(openErrorReason(r), 'auth-failed');
    assert.equal(b.receivedAny, false);
  }
});

test('a packet sealed as relayed does not open as direct, nor the other way round (route stripped or added)', () => {
  const { a, b } = pair();
  const relayed = sealed(a, Buffer.from('\x01via a relay'));
  assert.equal(b.open(relayed, ADDR, relayed.length, 1000, PathFlags.Direct), OpenError.AuthFailed);
  const direct = Buffer.alloc(ADDR + 20 + 7 + 16);
  const end = a.seal(direct, ADDR, Buffer.from('\x01direct'), 1000, PathFlags.Direct);
  assert.equal(b.open(direct, ADDR, end, 1000, PathFlags.Relayed), OpenError.AuthFailed);
  assert.equal(b.receivedAny, false, 'neither moved anything');
  const again = sealed(a, Buffer.from('\x01honest'));
  assert.equal(b.open(again, ADDR, again.length, 1000, FLAGS), 7, 'the session still works');
});

test('a duplicate is rejected as replayed; reordering within the window is accepted', () => {
  const { a, b } = pair();
  const pkts = Array.from({ length: 50 }, (_, i) => sealed(a, Buffer.from([1, i])));
  const copies = pkts.map((p) => Buffer.from(p));
  for (const i of [3, 0, 49, 1, 2, 10, 4])
    assert.equal(b.open(pkts[i], ADDR, pkts[i].length, 1000, FLAGS), 2, `packet ${i}`);
  const r = b.open(copies[10], ADDR, copies[10].length, 1000, FLAGS);
  assert.equal(r, OpenError.Replayed);
  assert.equal(openErrorReason(r), 'replayed');
});

test('a forged packet that fails authentication does not move the replay window', () => {
  const { a, b } = pair();
  const real = sealed(a, Buffer.from([1]));
  const forged = Buffer.from(real);
  forged.writeUInt32BE(0x10_0000, ADDR + 12); // counter 2^52: far ahead
  assert.equal(b.open(forged, ADDR, forged.length, 1000, FLAGS), OpenError.AuthFailed);
  assert.equal(b.open(real, ADDR, real.length, 1000, FLAGS), 1);
});

test('counters of 2^53 and above are refused before decryption', () => {
  const { a, b } = pair();
  const pkt = sealed(a, Buffer.from([1]));
  pkt.writeUInt32BE(0x20_0000, ADDR + 12);
  assert.equal(b.open(pkt, ADDR, pkt.length, 1000, FLAGS), OpenError.Replayed);
});

test('packets too short to hold a tag are truncated; a bad length never throws', () => {
  const { a, b } = pair();
  const pkt = sealed(a, Buffer.alloc(0));
  assert.equal(pkt.length, ADDR + 36);
  assert.equal(b.open(Buffer.from(pkt), ADDR, pkt.length - 1, 1000, FLAGS), OpenError.Truncated);
  assert.equal(b.open(pkt, ADDR, pkt.length + 100, 1000, FLAGS), OpenError.Truncated);
  assert.equal(b.open(pkt, -4, pkt.length, 1000, FLAGS), OpenError.Truncated);
  assert.equal(b.open(pkt, ADDR, pkt.length, 1000, FLAGS), 0, 'an empty plaintext is fine');
});

test('after REJECT_AFTER the keypair neither seals nor opens', () => {
  const { a, b } = pair({ rejectAfterMs: 5000 });
  const early = sealed(a, Buffer.from([1]), 5999);
  const buf = Buffer.alloc(64);
  assert.equal(a.canSend(5999), true);
  assert.equal(a.seal(buf, ADDR, Buffer.from([1]), 6000, FLAGS), SEAL_REFUSED);
  assert.equal(a.canSend(6000), false);
  const r = b.open(early, ADDR, early.length, 6000, FLAGS);
  assert.equal(r, OpenError.Expired);
  assert.equal(openErrorReason(r), 'expired');
});

test('the send counter stops at rejectAfterMessages', () => {
  const { a } = pair({ rejectAfterMessages: 3 });
  for (let i = 0; i < 3; i++) sealed(a, Buffer.from([i]));
  assert.equal(a.seal(Buffer.alloc(64), ADDR, Buffer.from([9]), 1000, FLAGS), SEAL_REFUSED);
});

test('destroy zeroes the keys: the keypair then refuses to seal or open', () => {
  const { a, b } = pair();
  const pkt = sealed(a, Buffer.from([1]));
  b.destroy();
  a.destroy();
  assert.equal(b.open(pkt, ADDR, pkt.length, 1000, FLAGS), OpenError.Expired);
  assert.equal(a.seal(Buffer.alloc(64), ADDR, Buffer.from([1]), 1000, FLAGS), SEAL_REFUSED);
  assert.equal(a.isDestroyed, true);
});

test('sealing into a buffer that is too small is a caller bug and throws RangeError', () => {
  const { a } = pair();
  assert.throws(() => a.seal(Buffer.alloc(ADDR + 20 + 16), ADDR, Buffer.from([1]), 1000, FLAGS), RangeError);
});

test('destroy overwrites the key buffers the keypair was given', () => {
  const sendKey = key(7);
  const receiveKey = key(8);
  const kp = new DataKeypair({
    sendKey,
    receiveKey,
    localIndex: 1,
    remoteIndex: 2,
    createdAt: 0,
    isInitiator: true,
    rejectAfterMs: 1000,
    rejectAfterMessages: 10,
    replayWindowBits: 64,
  });
  kp.destroy();
  assert.deepEqual(sendKey, Buffer.alloc(32));
  assert.deepEqual(receiveKey, Buffer.alloc(32));
});
