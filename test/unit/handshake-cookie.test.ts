// Cookies, piece by piece: the reply's encryption (bound to the initiation's mac1), mac2 (bound to the
// source address by way of the cookie) and the rotating secret.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sodium from 'sodium-native';
import { keyPairFromSeed } from '../../src/identity/keys.js';
import { CookieChecker } from '../../src/session/cookie-checker.js';
import {
  COOKIE_REPLY_BODY_BYTES,
  cookieReplyIndex,
  openCookieReply,
  sealCookieReply,
} from '../../src/session/cookie-reply.js';
import {
  INIT_BODY_BYTES,
  INIT_MAC1_OFFSET,
  INIT_MAC2_OFFSET,
  InitiatorHandshake,
} from '../../src/session/handshake.js';
import { cookieReplyKey, mac1Key } from '../../src/session/mac.js';
import { encodeTai64n } from '../../src/session/timestamp.js';
import { cookieAddress } from '../../src/transport/cookie-address.js';

const alice = keyPairFromSeed(Buffer.alloc(32, 1));
const bob = keyPairFromSeed(Buffer.alloc(32, 2));
const ROTATION = 120_000;
const HOME = cookieAddress({ host: '192.0.2.1', port: 7946 });

/** An initiation from alice to bob carrying mac2 for `cookie` (or none). */
function initiation(cookie?: Buffer): InitiatorHandshake {
  return new InitiatorHandshake(alice, bob.publicKey, 7, encodeTai64n(0), mac1Key(bob.publicKey), cookie);
}

/** The cookie `checker` hands to `address` at `now`, as the initiator would decrypt it. */
function cookieFor(checker: CookieChecker, address: Uint8Array, now: number): Buffer {
  const init = initiation();
  const reply = checker.reply(7, init.mac1, address, now);
  const cookie = openCookieReply(reply, cookieReplyKey(bob.publicKey), init.mac1);
  assert.ok(cookie);
  return cookie;
}

test('a cookie reply is 60 bytes, names the initiation by its index and opens only with its mac1', () => {
  const key = cookieReplyKey(bob.publicKey);
  const mac1 = Buffer.alloc(16, 1);
  const cookie = Buffer.alloc(16, 0xcc);
  const reply = sealCookieReply(0xdeadbeef, cookie, key, mac1);
  assert.equal(reply.length, COOKIE_REPLY_BODY_BYTES);
  assert.equal(COOKIE_REPLY_BODY_BYTES, 60);
  assert.ok(COOKIE_REPLY_BODY_BYTES < INIT_BODY_BYTES, 'smaller than what triggers it');
  assert.equal(cookieReplyIndex(reply), 0xdeadbeef);
  assert.deepEqual(openCookieReply(reply, key, mac1), cookie);
  assert.equal(openCookieReply(reply, key, Buffer.alloc(16, 2)), null, 'for another initiation');
  assert.equal(openCookieReply(reply, cookieReplyKey(alice.publicKey), mac1), null, 'from another responder');
  for (const at of [4, 20, 28, 40, 59]) {
    const bent = Buffer.from(reply);
    bent[at] ^= 1;
    assert.equal(openCookieReply(bent, key, mac1), null, `byte ${at} changed`);
  }
  const again = sealCookieReply(0xdeadbeef, cookie, key, mac1);
  assert.notDeepEqual(again.subarray(4), reply.subarray(4), 'a fresh random nonce each time');
});

test('the cookie is BLAKE2b-128 of the source address under the secret; mac2 made with it verifies for that address only', () => {
  const checker = new CookieChecker(ROTATION, cookieReplyKey(bob.publicKey));
  const cookie = cookieFor(checker, HOME, 0);
  assert.equal(cookie.length, 16);
  const init = initiation(cookie);
  assert.equal(checker.verifyMac2(init.body, INIT_MAC2_OFFSET, HOME, 1), true);
  assert.equal(
    checker.verifyMac2(init.body, INIT_MAC2_OFFSET, cookieAddress({ host: '192.0.2.1', port: 7947 }), 1),
    false,
    'other port',
  );
  assert.equal(
    checker.verifyMac2(init.body, INIT_MAC2_OFFSET, cookieAddress({ host: '192.0.2.2', port: 7946 }), 1),
    false,
    'other IP',
  );
  assert.equal(checker.verifyMac2(initiation().body, INIT_MAC2_OFFSET, HOME, 1), false, 'zero mac2');
  const bent = Buffer.from(init.body);
  bent[INIT_MAC1_OFFSET - 1] ^= 1;
  assert.equal(checker.verifyMac2(bent, INIT_MAC2_OFFSET, HOME, 1), false, 'mac2 covers the body');
  assert.equal(checker.verifyMac2(init.body.subarray(0, 140), INIT_MAC2_OFFSET, HOME, 1), false, 'cut');
  // Another responder's secret knows nothing of it: cookies are not forgeable without the secret.
  const other = new CookieChecker(ROTATION, cookieReplyKey(bob.publicKey));
  assert.equal(other.verifyMac2(init.body, INIT_MAC2_OFFSET, HOME, 1), false);
  // The same address gets the same cookie until the secret rotates.
  assert.deepEqual(cookieFor(checker, HOME, 5000), cookie);
  const expected = Buffer.alloc(16);
  sodium.crypto_generichash(expected, init.body.subarray(0, INIT_MAC2_OFFSET), cookie);
  assert.deepEqual(init.body.subarray(INIT_MAC2_OFFSET), expected);
});

test('secret rotation: a cookie stays valid at least one period after it was made, and dies within two', () => {
  // Minted at every point of the secret's first period, checked just before and after its guarantee.
  for (const mintedAt of [0, 1, 60_000, ROTATION - 1]) {
    const checker = new CookieChecker(ROTATION, cookieReplyKey(bob.publicKey));
    checker.verifyMac2(Buffer.alloc(INIT_BODY_BYTES), INIT_MAC2_OFFSET, HOME, 0); // secret born at 0
    const init = initiation(cookieFor(checker, HOME, mintedAt));
    for (const t of [mintedAt, mintedAt + ROTATION - 1]) {
      assert.equal(
        checker.verifyMac2(init.body, INIT_MAC2_OFFSET, HOME, t),
        true,
        `minted ${mintedAt}, at ${t}`,
      );
    }
    assert.equal(
      checker.verifyMac2(init.body, INIT_MAC2_OFFSET, HOME, 2 * ROTATION),
      false,
      `minted ${mintedAt}: gone two periods after its secret was born`,
    );
  }
});

test('after a rotation new cookies differ, the old one is still accepted as previous, then not', () => {
  const checker = new CookieChecker(ROTATION, cookieReplyKey(bob.publicKey));
  const first = cookieFor(checker, HOME, 0);
  const second = cookieFor(checker, HOME, ROTATION + 10);
  assert.notDeepEqual(first, second, 'a new secret');
  const old = initiation(first);
  const fresh = initiation(second);
  assert.equal(checker.verifyMac2(old.body, INIT_MAC2_OFFSET, HOME, ROTATION + 20), true, 'previous secret');
  assert.equal(checker.verifyMac2(fresh.body, INIT_MAC2_OFFSET, HOME, ROTATION + 20), true);
  // The next rotation drops the first secret for good.
  assert.equal(checker.verifyMac2(old.body, INIT_MAC2_OFFSET, HOME, 2 * ROTATION + 20), false);
  assert.equal(checker.verifyMac2(fresh.body, INIT_MAC2_OFFSET, HOME, 2 * ROTATION + 20), true);
  // A long idle spell: at the next use both secrets are too old to accept anything.
  assert.equal(checker.verifyMac2(fresh.body, INIT_MAC2_OFFSET, HOME, 10 * ROTATION), false);
});

test('cookie addresses: family, via, port, then the address as IPv6 (IPv4 mapped); one per endpoint', () => {
  const hex = (host: string, port: number, via?: 'ws'): string =>
    Buffer.from(cookieAddress(via ? { host, port, via } : { host, port })).toString('hex');
  assert.equal(hex('192.0.2.1', 7946), '04001f0a' + '00000000000000000000ffff' + 'c0000201');
  assert.equal(hex('::ffff:192.0.2.1', 7946), hex('192.0.2.1', 7946), 'an IPv4-mapped literal is IPv4');
  assert.equal(hex('2001:db8::7', 443), '060001bb' + '20010db8000000000000000000000007');
  assert.equal(hex('192.0.2.1', 7946, 'ws'), '04011f0a' + '00000000000000000000ffff' + 'c0000201');
  assert.notEqual(hex('node-a', 1), hex('node-b', 1), 'names (test transports) still differ');
});
