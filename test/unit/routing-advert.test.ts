import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ADVERT_FLAG_URGENT,
  ADVERT_MAX_BYTES,
  ADVERT_MAX_LINKS,
  decodeAdvert,
  encodeAdvert,
  peekAdvert,
  type Advert,
} from '../../src/routing/advert.js';
import { contextFor, makeMembers } from './routing-fixtures.js';

const members = makeMembers(4);
const [A, B, C, D] = members;
const ctx = contextFor(members);

function advertOf(origin = A.id, links = [B.id, C.id]): Advert {
  return {
    origin,
    seq: 1_700_000_000_123,
    lifetimeMs: 120_000,
    links: links.map((n, i) => ({ neighbor: n, rttMs: 12.34 + i, loss: 0.1, flags: 0 })),
  };
}

test('an advert round-trips with RTT at 0.1 ms and loss at 1/255 resolution', () => {
  const bytes = encodeAdvert(advertOf(), A.sign);
  assert.equal(bytes.byteLength, 19 + 2 * 8 + 64);
  const got = decodeAdvert(bytes, ctx);
  assert.ok(typeof got !== 'string', String(got));
  assert.equal(got.origin, A.id);
  assert.equal(got.seq, 1_700_000_000_123);
  assert.equal(got.lifetimeMs, 120_000);
  assert.deepEqual(
    got.links.map((l) => l.neighbor),
    [B.id, C.id],
  );
  assert.equal(got.links[0].rttMs, 12.3);
  assert.ok(Math.abs(got.links[0].loss - 0.1) < 1 / 255);
  assert.deepEqual(peekAdvert(bytes), { origin: A.id, seq: 1_700_000_000_123, lifetimeMs: 120_000 });
});

test('a forged signature is rejected', () => {
  const bytes = encodeAdvert(advertOf(), A.sign);
  bytes[bytes.length - 1] ^= 1;
  assert.equal(decodeAdvert(bytes, ctx), 'bad-signature');
});

test('an advert for origin A signed by B is rejected: only A speaks for A', () => {
  const bytes = encodeAdvert(advertOf(A.id), B.sign);
  assert.equal(decodeAdvert(bytes, ctx), 'bad-signature');
});

test('any altered byte in a signed advert is rejected', () => {
  const good = encodeAdvert(advertOf(), A.sign);
  for (const i of [9, 14, 20, 27]) {
    const bad = good.slice();
    bad[i] ^= 0x40;
    assert.equal(decodeAdvert(bad, ctx), 'bad-signature', `byte ${i}`);
  }
});

test('oversized adverts are rejected before parsing', () => {
  const big = new Uint8Array(ADVERT_MAX_BYTES + 1);
  big[0] = 1;
  assert.equal(decodeAdvert(big, ctx), 'oversized');
  assert.equal(peekAdvert(big), 'oversized');
});

test('truncated adverts and trailing bytes are rejected', () => {
  const bytes = encodeAdvert(advertOf(), A.sign);
  assert.equal(decodeAdvert(bytes.subarray(0, bytes.length - 1), ctx), 'truncated');
  assert.equal(decodeAdvert(bytes.subarray(0, 10), ctx), 'truncated');
  const longer = new Uint8Array(bytes.length + 1);
  longer.set(bytes);
  assert.equal(decodeAdvert(longer, ctx), 'bad-length');
});

test('duplicate neighbours, self links and non-member neighbours are rejected', () => {
  assert.equal(decodeAdvert(encodeAdvert(advertOf(A.id, [B.id, B.id]), A.sign), ctx), 'duplicate-link');
  assert.equal(decodeAdvert(encodeAdvert(advertOf(A.id, [B.id, A.id]), A.sign), ctx), 'self-link');
  assert.equal(
    decodeAdvert(encodeAdvert(advertOf(A.id, [B.id, 0xdeadbeef]), A.sign), ctx),
    'non-member-link',
  );
});

test('an origin that is not a member is rejected', () => {
  const [stranger] = makeMembers(1, 99);
  const bytes = encodeAdvert(advertOf(stranger.id, [A.id]), stranger.sign);
  assert.equal(decodeAdvert(bytes, ctx), 'not-member');
});

test('unknown versions, unknown flags and absurd lifetimes are rejected', () => {
  const bytes = encodeAdvert(advertOf(), A.sign);
  const v2 = bytes.slice();
  v2[0] = 3;
  assert.equal(decodeAdvert(v2, ctx), 'bad-version');
  const flags = advertOf();
  flags.links[0].flags = 0x80;
  assert.equal(decodeAdvert(encodeAdvert(flags, A.sign), ctx), 'bad-flags');
  assert.equal(decodeAdvert(encodeAdvert({ ...advertOf(), lifetimeMs: 0 }, A.sign), ctx), 'bad-lifetime');
});

test("the urgent flag is the origin's, signed: round-trips, and an advert without it is unchanged", () => {
  const plain = encodeAdvert(advertOf(), A.sign);
  assert.equal(plain[17], 0, 'byte 17 was the high byte of a u16 link count: 0 as before');
  assert.equal(plain[18], 2);
  const flagged = encodeAdvert({ ...advertOf(), urgent: true }, A.sign);
  assert.equal(flagged[17], ADVERT_FLAG_URGENT);
  const got = decodeAdvert(flagged, ctx);
  assert.ok(typeof got !== 'string' && got.urgent === true);
  const none = decodeAdvert(plain, ctx);
  assert.ok(typeof none !== 'string' && none.urgent === undefined);
  // A relay cannot set or clear it: the signature covers it.
  const forged = plain.slice();
  forged[17] = ADVERT_FLAG_URGENT;
  assert.equal(decodeAdvert(forged, ctx), 'bad-signature');
  // Unknown advert flags are refused before the signature is checked (no key work for them).
  const unknown = plain.slice();
  unknown[17] = 0x80;
  let verified = 0;
  const counting = {
    ...ctx,
    verify: (...a: Parameters<typeof ctx.verify>) => (verified++, ctx.verify(...a)),
  };
  assert.equal(decodeAdvert(unknown, counting), 'bad-advert-flags');
  assert.equal(verified, 0);
});

test('the encoder refuses more than 140 links, and 140 fit one packet', () => {
  const many = (n: number): Advert => ({
    ...advertOf(),
    links: Array.from({ length: n }, (_, i) => ({ neighbor: i + 1, rttMs: 1, loss: 0, flags: 0 })),
  });
  assert.throws(() => encodeAdvert(many(ADVERT_MAX_LINKS + 1), A.sign), RangeError);
  assert.ok(encodeAdvert(many(ADVERT_MAX_LINKS), A.sign).byteLength <= 1400);
});

test('random bytes never throw, and always yield a reason', () => {
  let s = 12345;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < 3000; i++) {
    const len = Math.floor(rnd() * 200);
    const buf = new Uint8Array(len).map(() => Math.floor(rnd() * 256));
    if (len > 0 && rnd() < 0.5) buf[0] = 1; // get past the version check often
    const r = decodeAdvert(buf, ctx);
    assert.equal(typeof r, 'string');
  }
  // A valid header with garbage after it.
  const good = encodeAdvert(advertOf(A.id, [B.id, C.id, D.id]), A.sign);
  for (let i = 0; i < 500; i++) {
    const bad = good.slice();
    bad[19 + Math.floor(rnd() * (bad.length - 19))] = Math.floor(rnd() * 256);
    const r = decodeAdvert(bad, ctx);
    assert.ok(typeof r === 'string' || r.origin === A.id);
  }
});

test('reflexive endpoints: version 2 round-trips them; without any the advert is version 1 as before', () => {
  const plain = encodeAdvert(advertOf(), A.sign);
  assert.equal(plain[0], 1);
  const withEps = encodeAdvert(
    { ...advertOf(), endpoints: ['198.51.100.7:40001', '[2001:db8::1]:7946'] },
    A.sign,
  );
  assert.equal(withEps[0], 2);
  assert.equal(withEps.byteLength, plain.byteLength + 1 + 7 + 19);
  const got = decodeAdvert(withEps, ctx);
  assert.ok(typeof got !== 'string', String(got));
  assert.deepEqual(got.endpoints, ['198.51.100.7:40001', '[2001:db8::1]:7946']);
  assert.equal(got.links.length, 2);
});

test('reflexive endpoints: more than 4, repeats and a truncated section are refused; encoder caps', () => {
  const five = Array.from({ length: 5 }, (_, i) => `198.51.100.${i + 1}:1`);
  assert.throws(() => encodeAdvert({ ...advertOf(), endpoints: five }, A.sign), RangeError);
  // Hand-made: a count of 5 signed by the origin is still refused by the receiver.
  const four = encodeAdvert({ ...advertOf(), endpoints: five.slice(0, 4) }, A.sign);
  const body = four.slice(0, four.byteLength - 64);
  const countAt = 19 + 2 * 8;
  const bumped = new Uint8Array([
    ...body.subarray(0, countAt),
    5,
    ...body.subarray(countAt + 1),
    4,
    1,
    2,
    3,
    4,
    0,
    1,
  ]);
  const resigned = new Uint8Array([...bumped, ...A.sign(bumped)]);
  assert.equal(decodeAdvert(resigned, ctx), 'bad-endpoints');
  const dup = encodeAdvert({ ...advertOf(), endpoints: ['198.51.100.1:1', '198.51.100.2:1'] }, A.sign).slice(
    0,
    -64,
  );
  dup.set(dup.subarray(countAt + 1, countAt + 8), countAt + 8); // second endpoint = first
  assert.equal(decodeAdvert(new Uint8Array([...dup, ...A.sign(dup)]), ctx), 'bad-endpoints');
  const cut = four.slice(0, countAt + 4);
  assert.equal(decodeAdvert(new Uint8Array([...cut, ...A.sign(cut)]), ctx), 'bad-endpoints');
});
