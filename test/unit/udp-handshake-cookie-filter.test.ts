// The native handshake load step under load (native/handshake-load.c), on a real socket over loopback:
// a stranger's initiation without a valid mac2 goes up to JS only while the strangers' cookie budget
// lasts, beyond it it is dropped in C and counted as 'cookie-filtered'; a valid mac2 (computed in JS
// from a cookie the guard's CookieChecker minted, checked in C against the same secrets, read in place)
// and a member's proven endpoint always pass; the proven-endpoint table is bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CookieChecker } from '../../src/session/cookie-checker.js';
import { openCookieReply } from '../../src/session/cookie-reply.js';
import { INIT_MAC1_OFFSET, INIT_MAC2_OFFSET } from '../../src/session/handshake.js';
import { cookieReplyKey, writeMac } from '../../src/session/mac.js';
import { cookieAddress } from '../../src/transport/cookie-address.js';
import { PROVEN_ENDPOINT_ENTRIES } from '../../src/transport/native-udp-transport.js';
import type { Endpoint } from '../../src/transport/transport.js';
import { PacketType } from '../../src/wire/constants.js';
import { B } from './session-fixtures.js';
import { datagram, forged, receiver, ROTATION_MS, Sender, skip } from './udp-handshake-fixtures.js';

/** Effectively no refill during a test. */
const SLOW = 0.001;
/** Under load from the first initiation on, for the whole test, and no cookie budget for strangers. */
const LOADED = {
  underLoad: { perSecond: SLOW, burst: 0 },
  underLoadHoldMs: 600_000,
  cookiesToStrangers: { perSecond: SLOW, burst: 0 },
};

const initiations = (got: Buffer[]): Buffer[] => got.filter((g) => g[0] === PacketType.HandshakeInit);

/** The cookie `cookies` hands to `from`, as the initiator decrypts it from the cookie reply. */
function cookieFor(cookies: CookieChecker, from: Endpoint, now: number): Buffer {
  const probe = forged();
  const mac1 = probe.subarray(INIT_MAC1_OFFSET, INIT_MAC2_OFFSET);
  const reply = cookies.reply(7, mac1, cookieAddress(from), now);
  const cookie = openCookieReply(reply, cookieReplyKey(B.keyPair.publicKey), mac1);
  assert.ok(cookie);
  return cookie;
}

/** A fresh forged initiation (valid mac1) carrying the mac2 of `cookie`, as an initiator computes it. */
function withMac2(cookie: Buffer): Buffer {
  const body = forged();
  writeMac(body, INIT_MAC2_OFFSET, cookie);
  return body;
}

test(
  "under load, strangers' cookie-less initiations reach JS while the strangers' budget lasts, then are dropped in C",
  { skip },
  async () => {
    // Two initiations before the load meter runs dry, then three for the strangers' budget.
    const { t, got, filtered } = await receiver({
      underLoad: { perSecond: SLOW, burst: 2 },
      underLoadHoldMs: 600_000,
      cookiesToStrangers: { perSecond: SLOW, burst: 3 },
    });
    const s = await Sender.open();
    try {
      const forgeries = Array.from({ length: 12 }, () => datagram(B, forged()));
      await s.sendAll(t.port, forgeries, got);
      assert.deepEqual(initiations(got), forgeries.slice(0, 5), 'the first five, in order, and no others');
      assert.equal(filtered.get('cookie-filtered'), 7);
      for (const reason of ['truncated', 'oversized', 'bad-mac', 'replayed-initiation'])
        assert.equal(filtered.get(reason) ?? 0, 0, reason);
    } finally {
      s.close();
      await t.close();
    }
  },
);

test(
  'under load, a mac2 computed in JS from a cookie for the source passes the C check; for another address, or under a retired secret, it does not',
  { skip },
  async () => {
    const { t, got, filtered, cookies } = await receiver(LOADED);
    const s = await Sender.open();
    try {
      const mine = cookieFor(cookies, s.endpoint, 0);
      const otherPort = cookieFor(cookies, { host: s.endpoint.host, port: s.endpoint.port ^ 1 }, 0);
      const otherHost = cookieFor(cookies, { host: '127.0.0.2', port: s.endpoint.port }, 0);
      const good = withMac2(mine);
      const bad = [withMac2(otherPort), withMac2(otherHost), forged()];
      // JS agrees with what C is about to decide, byte for byte.
      const address = cookieAddress(s.endpoint);
      assert.equal(cookies.verifyMac2(good, INIT_MAC2_OFFSET, address, 0), true);
      for (const b of bad) assert.equal(cookies.verifyMac2(b, INIT_MAC2_OFFSET, address, 0), false);
      await s.sendAll(
        t.port,
        [...bad, good].map((b) => datagram(B, b)),
        got,
      );
      assert.deepEqual(initiations(got), [datagram(B, good)], 'only the one with a valid mac2');
      assert.equal(filtered.get('cookie-filtered'), 3);

      // The guard rotates its secrets in place: C follows without being told.
      got.length = 0;
      cookies.tick(ROTATION_MS); // the cookie's secret is now the previous one: still valid
      const stillGood = datagram(B, withMac2(mine));
      await s.sendAll(t.port, [stillGood], got);
      cookies.tick(2 * ROTATION_MS); // and now retired
      const retired = datagram(B, withMac2(mine));
      const fresh = datagram(B, withMac2(cookieFor(cookies, s.endpoint, 2 * ROTATION_MS)));
      await s.sendAll(t.port, [retired, fresh], got);
      assert.deepEqual(initiations(got), [stillGood, fresh]);
      assert.equal(filtered.get('cookie-filtered'), 4, 'the retired cookie');
    } finally {
      s.close();
      await t.close();
    }
  },
);

test(
  "under load, a member's proven endpoint passes without a cookie; strangers and lapsed proofs do not",
  { skip },
  async () => {
    const { t, got, filtered } = await receiver(LOADED);
    const member = await Sender.open();
    const stranger = await Sender.open();
    try {
      assert.equal(t.provenEndpoint(member.endpoint, true), true);
      const fromMember = datagram(B, forged());
      await member.sendAll(t.port, [fromMember], got);
      await stranger.sendAll(t.port, [datagram(B, forged())], got);
      assert.deepEqual(initiations(got), [fromMember]);
      assert.equal(filtered.get('cookie-filtered'), 1, "the stranger's");

      assert.equal(t.provenEndpoint(member.endpoint, false), false);
      await member.sendAll(t.port, [datagram(B, forged())], got);
      assert.deepEqual(initiations(got), [fromMember], 'the proof lapsed: a stranger again');
      assert.equal(filtered.get('cookie-filtered'), 2);
    } finally {
      member.close();
      stranger.close();
      await t.close();
    }
  },
);

test(
  'the proven-endpoint table is bounded: inserts above ¾ full are refused, removals make room',
  { skip },
  async () => {
    const { t } = await receiver(LOADED);
    try {
      const endpoint = (i: number): Endpoint => ({
        host: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`,
        port: 7946,
      });
      const limit = (PROVEN_ENDPOINT_ENTRIES / 4) * 3;
      const added: number[] = [];
      for (let i = 0; i < PROVEN_ENDPOINT_ENTRIES; i++)
        if (t.provenEndpoint(endpoint(i), true)) added.push(i);
      assert.equal(added.length, limit);
      assert.equal(t.provenEndpoint(endpoint(limit - 1), true), true, 'one already held is still held');
      // Remove every third (backward-shift deletion must keep the others findable), then re-add the
      // rest: none may be inserted twice, so exactly the removed count of new ones fits afterwards.
      const removed = added.filter((i) => i % 3 === 0);
      for (const i of removed) assert.equal(t.provenEndpoint(endpoint(i), false), false);
      for (const i of added) if (i % 3 !== 0) assert.equal(t.provenEndpoint(endpoint(i), true), true);
      let fits = 0;
      for (let i = PROVEN_ENDPOINT_ENTRIES; i < PROVEN_ENDPOINT_ENTRIES + removed.length + 10; i++)
        if (t.provenEndpoint(endpoint(i), true)) fits++;
      assert.equal(fits, removed.length);
    } finally {
      await t.close();
    }
  },
);
