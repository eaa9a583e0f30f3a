// The responder's defences against handshake floods, on real session tables and real Noise messages:
// the replay filter before any Diffie-Hellman, cookies under load (and cookie replies an initiator must
// not believe), budgets per source, per lane, per relay and per member. Each test counts the DHs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { sealCookieReply } from '../../src/session/cookie-reply.js';
import { INIT_BODY_BYTES, INIT_MAC1_OFFSET, INIT_MAC2_OFFSET } from '../../src/session/handshake.js';
import type { HandshakeSource } from '../../src/session/handshake-result.js';
import { cookieReplyKey, mac1Key, writeMac } from '../../src/session/mac.js';
import type { SessionTable } from '../../src/session/session-table.js';
import { A, B, C, from, table, type Member } from './session-fixtures.js';

const HOME = from('192.0.2.1');
const ALWAYS = { perSecond: 0, burst: 0 };
const LOTS = { perSecond: 1e9, burst: 1e9 };
/** Every initiation arrives "under load": mac2 is always required. */
const LOADED = { guard: { underLoad: ALWAYS } };

const dh = (t: SessionTable): number => t.handshakeStats().responderDh;

/** An initiation anyone who knows `to`'s public key can make: random bytes with a valid mac1. */
function junk(to: Member): Buffer {
  const body = randomBytes(INIT_BODY_BYTES);
  writeMac(body, INIT_MAC1_OFFSET, mac1Key(to.keyPair.publicKey));
  return body;
}

/** The i-th of many spoofed sources, all distinct. */
function spoofed(i: number): HandshakeSource {
  return from(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 1024 + (i % 60_000));
}

/** A full handshake from a to b under load (cookie round trip included), from `source`. */
function handshakeUnderLoad(a: SessionTable, b: SessionTable, source: HandshakeSource, now: number): void {
  const first = b.consumeInitiation(A.id, a.createInitiation(B.id, now), source, now);
  assert.ok(!first.ok && first.reason === 'cookie-required' && first.cookieReply);
  assert.ok(a.consumeCookieReply(B.id, first.cookieReply, now).ok);
  const second = b.consumeInitiation(A.id, a.createInitiation(B.id, now, false), source, now);
  assert.ok(second.ok, JSON.stringify(second));
  assert.ok(a.consumeResponse(B.id, second.response, source, now).ok);
}

test('under load, an initiation without mac2 costs no DH: a cookie reply, then the retry with mac2 completes', () => {
  const a = table(A, [B]);
  const b = table(B, [A], LOADED);
  const init = a.createInitiation(B.id, 0);
  const first = b.consumeInitiation(A.id, init, HOME, 0);
  assert.ok(!first.ok);
  assert.equal(first.reason, 'cookie-required');
  assert.ok(first.cookieReply && first.cookieReply.length < init.length, 'smaller than the trigger');
  assert.equal(dh(b), 0);
  assert.equal(b.handshakeStats().cookieRepliesSent, 1);

  assert.deepEqual(a.consumeCookieReply(B.id, first.cookieReply, 1), { ok: true, peer: B.id, retry: true });
  const retry = a.createInitiation(B.id, 1, false);
  assert.notDeepEqual(retry.subarray(INIT_MAC2_OFFSET), Buffer.alloc(16), 'the retry carries mac2');
  const second = b.consumeInitiation(A.id, retry, HOME, 2);
  assert.ok(second.ok, JSON.stringify(second));
  assert.equal(dh(b), 1);
  assert.ok(a.consumeResponse(B.id, second.response, HOME, 3).ok);
  assert.equal(a.stats(B.id, 3)?.handshakeAttempts, 0, 'established');

  // The cookie is the address's: the same member's initiation from elsewhere needs its own.
  const moved = b.consumeInitiation(A.id, a.createInitiation(B.id, 4), from('203.0.113.9'), 4);
  assert.ok(!moved.ok && moved.reason === 'cookie-required');
  assert.equal(dh(b), 1);
});

test('a replayed initiation costs one hash and a lookup: thousands of copies from spoofed sources, no DH', () => {
  const a = table(A, [B]);
  const b = table(B, [A]);
  const init = Buffer.from(a.createInitiation(B.id, 0));
  assert.ok(b.consumeInitiation(A.id, init, HOME, 0).ok);
  const before = dh(b);
  for (let i = 0; i < 5000; i++) {
    // Spread over most of the replay memory (240 s), under load part of the time and not the rest.
    const r = b.consumeInitiation(A.id, init, spoofed(i), i * 40);
    assert.deepEqual(r, { ok: false, reason: 'replayed-initiation' });
  }
  assert.equal(dh(b), before, 'no DH for any replay');
  assert.equal(b.handshakeStats().cookieRepliesSent, 0, 'and no cookie reply either');
});

test('junk that floods the replay filter cannot flush the initiations that reached DH', () => {
  const small = { guard: { seenInitiations: 100, admittedInitiations: 200 } };
  const a = table(A, [B]);
  const b = table(B, [A], small);
  const admitted = Buffer.from(a.createInitiation(B.id, 0));
  assert.ok(b.consumeInitiation(A.id, admitted, HOME, 0).ok);
  // 1000 distinct mac1-valid initiations at 1000/s: the first ~100 are admitted (bad-handshake after
  // DH), then the rate puts us under load and the rest get cookie replies; all of them enter `seen`.
  for (let i = 0; i < 1000; i++) b.consumeInitiation(A.id, junk(B), spoofed(i), 1 + i);
  const afterFlood = dh(b);
  assert.ok(afterFlood < 150, `DH stopped once under load (${afterFlood})`);
  assert.deepEqual(b.consumeInitiation(A.id, admitted, spoofed(5000), 1500), {
    ok: false,
    reason: 'replayed-initiation',
  });
  assert.equal(dh(b), afterFlood);
});

test('a forged or unsolicited cookie reply is dropped, counted by reason, and changes nothing', () => {
  const a = table(A, [B, C]);
  const b = table(B, [A], LOADED);
  const init = a.createInitiation(B.id, 0);
  const index = init.readUInt32BE(0);
  const r = b.consumeInitiation(A.id, init, HOME, 0);
  assert.ok(!r.ok && r.cookieReply);
  const genuine = r.cookieReply;

  const reason = (body: Buffer, src = B.id): string | undefined => {
    const res = a.consumeCookieReply(src, body, 1);
    return res.ok ? undefined : res.reason;
  };
  assert.equal(reason(randomBytes(60)), 'unsolicited-cookie', 'no initiation of ours has that index');
  // Someone who knows B's public key and saw the cleartext index, but not the initiation's mac1.
  const key = cookieReplyKey(B.keyPair.publicKey);
  assert.equal(reason(sealCookieReply(index, randomBytes(16), key, randomBytes(16))), 'bad-cookie');
  const bent = Buffer.from(genuine);
  bent[30] ^= 1;
  assert.equal(reason(bent), 'bad-cookie');
  assert.equal(reason(genuine, C.id), 'id-mismatch', 'our initiation went to B, not C');
  assert.equal(reason(genuine.subarray(0, 59)), 'truncated');
  assert.equal(reason(Buffer.concat([genuine, Buffer.alloc(1)])), 'oversized');
  assert.equal(a.handshakeStats().cookiesAccepted, 0);

  // Nothing stuck: the genuine reply is still accepted, once.
  assert.deepEqual(a.consumeCookieReply(B.id, genuine, 2), { ok: true, peer: B.id, retry: true });
  assert.equal(reason(genuine), 'unsolicited-cookie', 'a second copy is not taken again');
  assert.equal(a.handshakeStats().cookiesAccepted, 1);
});

test('forged cookie replies leave the initiator without a cookie: its next initiation has no mac2', () => {
  const a = table(A, [B]);
  const init = a.createInitiation(B.id, 0);
  const key = cookieReplyKey(B.keyPair.publicKey);
  for (let i = 0; i < 20; i++) {
    const res = a.consumeCookieReply(
      B.id,
      sealCookieReply(init.readUInt32BE(0), randomBytes(16), key, randomBytes(16)),
      i,
    );
    assert.ok(!res.ok);
  }
  assert.deepEqual(a.createInitiation(B.id, 30).subarray(INIT_MAC2_OFFSET), Buffer.alloc(16));
});

test('a cookie reply asks for an instant retry only with a new cookie, and at most twice per attempt', () => {
  const a = table(A, [B]);
  const b = table(B, [A], LOADED);
  handshakeUnderLoad(a, b, HOME, 0);
  // A holds a cookie for HOME. Seen from another address (a relay, a new NAT port) its mac2 is wrong:
  // the cookie for that address is new, so A retries at once, and completes.
  const elsewhere = from('203.0.113.7');
  const r = b.consumeInitiation(A.id, a.createInitiation(B.id, 10), elsewhere, 10);
  assert.ok(!r.ok && r.reason === 'cookie-required' && r.cookieReply);
  assert.deepEqual(a.consumeCookieReply(B.id, r.cookieReply, 11), { ok: true, peer: B.id, retry: true });
  const retried = b.consumeInitiation(A.id, a.createInitiation(B.id, 11, false), elsewhere, 11);
  assert.ok(retried.ok);
  // A NAT that changes our address every packet: each retry draws yet another cookie. The first two
  // retries of one scheduled attempt go at once, then the retry timer takes over: no loop.
  const same = b.consumeInitiation(A.id, a.createInitiation(B.id, 20), from('203.0.113.8'), 20);
  assert.ok(!same.ok && same.cookieReply);
  assert.equal((a.consumeCookieReply(B.id, same.cookieReply, 20) as { retry: boolean }).retry, true);
  const hop = (n: number): boolean => {
    const res = b.consumeInitiation(
      A.id,
      a.createInitiation(B.id, 30 + n, false),
      from(`203.0.113.${50 + n}`),
      30,
    );
    assert.ok(!res.ok && res.cookieReply);
    const c = a.consumeCookieReply(B.id, res.cookieReply, 30);
    return c.ok && c.retry;
  };
  assert.equal(hop(1), true, 'second instant retry of this attempt');
  assert.equal(hop(2), false, 'capped');
});

test('the initiator forgets a cookie after cookieLifetimeMs', () => {
  const a = table(A, [B]);
  const b = table(B, [A], LOADED);
  handshakeUnderLoad(a, b, HOME, 0);
  assert.notDeepEqual(a.createInitiation(B.id, 109_000).subarray(INIT_MAC2_OFFSET), Buffer.alloc(16));
  assert.deepEqual(a.createInitiation(B.id, 110_000).subarray(INIT_MAC2_OFFSET), Buffer.alloc(16));
});

test('cookie replies are budgeted per destination IP and per lane; members’ proven addresses keep theirs', () => {
  const guard = {
    underLoad: ALWAYS,
    cookiesPerDestination: { perSecond: 0.001, burst: 3 },
    cookiesToStrangers: { perSecond: 0.001, burst: 50 },
  };
  const a = table(A, [B]);
  const b = table(B, [A], { guard });
  const home = { ...HOME, proven: true }; // the data plane has proven it to be A's
  handshakeUnderLoad(a, b, home, 0);
  const outcomes = new Map<string, number>();
  const count = (reason: string): void => void outcomes.set(reason, (outcomes.get(reason) ?? 0) + 1);
  // One victim IP, many ports: we are no reflector.
  for (let port = 1; port <= 10; port++) {
    const r = b.consumeInitiation(A.id, junk(B), from('198.51.100.7', port), 1);
    if (!r.ok) count(r.reason);
  }
  assert.deepEqual(Object.fromEntries(outcomes), { 'cookie-required': 3, 'cookie-rate-limited': 7 });
  outcomes.clear();
  for (let i = 0; i < 200; i++) {
    const r = b.consumeInitiation(A.id, junk(B), spoofed(i), 2);
    if (!r.ok) {
      count(r.reason);
      if (r.cookieReply) assert.ok(r.cookieReply.length < INIT_BODY_BYTES);
    }
  }
  assert.deepEqual(Object.fromEntries(outcomes), { 'cookie-required': 47, 'cookie-rate-limited': 153 });
  assert.equal(dh(b), 1, 'only the member’s handshake ran Noise');
  // The strangers' lane is spent; the member's proven address still gets a cookie: A restarted (so it
  // has none) completes the cookie round trip from home. From an unproven address it would not.
  handshakeUnderLoad(table(A, [B]), b, home, 3);
  const elsewhere = b.consumeInitiation(
    A.id,
    table(A, [B]).createInitiation(B.id, 4),
    from('203.0.113.1'),
    4,
  );
  assert.deepEqual(elsewhere, { ok: false, reason: 'cookie-rate-limited' });
  assert.equal(dh(b), 2);
});

test('relayed initiations have their own budget per (relay, member), per relay and in all', () => {
  const guard = {
    underLoad: LOTS,
    relayedPerPair: { perSecond: 0.001, burst: 3 },
    relayedPerRelay: { perSecond: 0.001, burst: 5 },
    relayedGlobal: { perSecond: 0.001, burst: 8 },
  };
  const a = table(A, [B]);
  const c = table(C, [B]);
  const b = table(B, [A, C], { guard });
  const via = (relay: number, host: string): HandshakeSource => ({ ...from(host), relay });
  const hostile = via(0x1111, '192.0.2.11');
  const verdicts = (src: Member, n: number, source: HandshakeSource): string[] =>
    Array.from({ length: n }, () => {
      const r = b.consumeInitiation(src.id, junk(B), source, 0);
      return r.ok ? 'ok' : r.reason;
    });
  // A hostile relay claiming A: three reach Noise (and fail it), then its (relay, A) budget is spent.
  assert.deepEqual(verdicts(A, 4, hostile), [
    'bad-handshake',
    'bad-handshake',
    'bad-handshake',
    'relay-rate-limited',
  ]);
  // Claiming C as well, it is stopped at its per-relay budget (5).
  assert.deepEqual(verdicts(C, 3, hostile), ['bad-handshake', 'bad-handshake', 'relay-rate-limited']);
  // C through another relay still gets through, and direct handshakes have a budget of their own.
  assert.ok(b.consumeInitiation(C.id, c.createInitiation(B.id, 0), via(0x2222, '192.0.2.12'), 0).ok);
  assert.ok(b.consumeInitiation(A.id, a.createInitiation(B.id, 0), HOME, 0).ok);
  // The global relayed budget (8) bounds many relays together: 6 spent, 2 left.
  const many = [0x3333, 0x4444, 0x5555].map((r) =>
    b.consumeInitiation(C.id, junk(B), via(r, '192.0.2.13'), 0),
  );
  assert.deepEqual(
    many.map((r) => (r.ok ? 'ok' : r.reason)),
    ['bad-handshake', 'bad-handshake', 'relay-rate-limited'],
  );
});

test('a member re-handshaking hundreds of times a second is throttled after DH, from any address', () => {
  const b = table(B, [A, C], { guard: { underLoad: LOTS, perMember: { perSecond: 1, burst: 5 } } });
  const a = table(A, [B]);
  const c = table(C, [B]);
  const results = Array.from({ length: 500 }, (_, i) => {
    const r = b.consumeInitiation(A.id, a.createInitiation(B.id, i), spoofed(i), i);
    return r.ok ? 'ok' : r.reason;
  });
  // 500 in 0.5 s, each from another address: the burst of 5 plus 1/s, the rest throttled and counted.
  assert.equal(results.filter((r) => r === 'ok').length, 5);
  assert.equal(results.filter((r) => r === 'member-rate-limited').length, 495);
  assert.ok(
    b.consumeInitiation(C.id, c.createInitiation(B.id, 500), from('192.0.2.3'), 500).ok,
    'C unaffected',
  );
  assert.ok(b.consumeInitiation(A.id, a.createInitiation(B.id, 1500), HOME, 1500).ok, 'A again after 1 s');
});

test('the initiator reports how long its handshake took: lost attempts and the cookie round trip included', () => {
  const a = table(A, [B]);
  const b = table(B, [A], LOADED);
  a.createInitiation(B.id, 0); // lost
  const init = a.createInitiation(B.id, 1000);
  const first = b.consumeInitiation(A.id, init, HOME, 1010);
  assert.ok(!first.ok && first.cookieReply);
  assert.ok(a.consumeCookieReply(B.id, first.cookieReply, 1020).ok);
  const second = b.consumeInitiation(A.id, a.createInitiation(B.id, 1020, false), HOME, 1030);
  assert.ok(second.ok);
  assert.ok(a.consumeResponse(B.id, second.response, HOME, 1040).ok);
  assert.equal(a.stats(B.id, 1040)?.lastHandshakeTookMs, 1040);
});

test('load is metered per lane: a flood of spoofed strangers costs a restarted member no cookie round trip from its proven address; a flood from proven addresses does', () => {
  // Default threshold (100 initiations/s, burst 100): the guard's own meters decide.
  const b = table(B, [A]);
  const home = { ...HOME, proven: true };
  for (let i = 0; i < 1000; i++) b.consumeInitiation(A.id, junk(B), spoofed(i), i / 10);
  const stranger = b.consumeInitiation(
    A.id,
    table(A, [B]).createInitiation(B.id, 100),
    from('203.0.113.1'),
    100,
  );
  assert.ok(!stranger.ok && stranger.reason === 'cookie-required', 'the strangers’ lane is under load');
  assert.ok(b.underLoad(100));

  // A restarted A (no cookie) from its proven address: one round trip, one DH. (The flood's first
  // hundred, within the burst, ran theirs.)
  const before = dh(b);
  const a = table(A, [B]);
  const first = b.consumeInitiation(A.id, a.createInitiation(B.id, 100), home, 100);
  assert.ok(first.ok, JSON.stringify(first));
  assert.ok(a.consumeResponse(B.id, first.response, home, 101).ok);
  assert.equal(dh(b), before + 1);

  // Spoofing members' proven addresses loads their lane: cookies are asked there too, and no DH runs.
  for (let i = 0; i < 200; i++)
    b.consumeInitiation(A.id, junk(B), { ...spoofed(i), proven: true }, 200 + i / 10);
  const flooded = dh(b);
  const again = b.consumeInitiation(A.id, table(A, [B]).createInitiation(B.id, 220), home, 220);
  assert.ok(!again.ok && again.reason === 'cookie-required', JSON.stringify(again));
  assert.equal(dh(b), flooded);
});
