// Link MTUs in signed adverts (issue 12, path MTU): a u16 per link flagged LINK_FLAG_MTU, after the
// links. Round trip, the packed form the database keeps, refusal of values out of range (signed by the
// origin all the same), and the encoder leaving MTUs off rather than overflowing one packet.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ADVERT_MAX_BYTES,
  ADVERT_MAX_LINK_MTU,
  ADVERT_MAX_LINKS,
  ADVERT_MIN_LINK_MTU,
  LINK_FLAG_ACTIVE,
  LINK_FLAG_MTU,
  decodeAdvert,
  encodeAdvert,
  linkFlags,
  linkLoss,
  linkMtu,
  linkRttMs,
  packLink,
  type Advert,
} from '../../src/routing/advert.js';
import { fitLinkMtus } from '../../src/routing/advert-fit.js';
import { MAX_MTU, MIN_LINK_DATAGRAM, maxDatagramBytes } from '../../src/wire/sizes.js';
import { contextFor, makeMembers } from './routing-fixtures.js';

const members = makeMembers(4);
const [A, B, C, D] = members;
const ctx = contextFor(members);

function advertOf(mtus: Array<number | undefined>): Advert {
  return {
    origin: A.id,
    seq: 1_700_000_000_123,
    lifetimeMs: 120_000,
    links: [B.id, C.id, D.id].slice(0, mtus.length).map((neighbor, i) => {
      const mtu = mtus[i];
      return {
        neighbor,
        rttMs: 10 + i,
        loss: 0,
        flags: LINK_FLAG_ACTIVE,
        ...(mtu === undefined ? {} : { mtu }),
      };
    }),
  };
}

/** `bytes` (an advert by A) with the u16 at `at` replaced, re-signed by A: only the value is wrong. */
function resignedWith(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const body = bytes.slice(0, bytes.byteLength - 64);
  new DataView(body.buffer).setUint16(at, value);
  return new Uint8Array([...body, ...A.sign(body)]);
}

test('link MTUs round-trip, 2 bytes each and only for links that have one', () => {
  const plain = encodeAdvert(advertOf([undefined, undefined]), A.sign);
  const bytes = encodeAdvert(advertOf([1300, undefined, 9000]), A.sign);
  assert.equal(bytes.byteLength, 19 + 3 * 8 + 2 * 2 + 64);
  assert.equal(plain.byteLength, 19 + 2 * 8 + 64, 'no MTU: the advert is what it was');
  assert.equal(bytes[19 + 7] & LINK_FLAG_MTU, LINK_FLAG_MTU);
  assert.equal(bytes[19 + 8 + 7] & LINK_FLAG_MTU, 0);
  const got = decodeAdvert(bytes, ctx);
  assert.ok(typeof got !== 'string', String(got));
  assert.deepEqual(
    got.links.map((l) => [l.neighbor, l.mtu, l.flags]),
    [
      [B.id, 1300, LINK_FLAG_ACTIVE],
      [C.id, undefined, LINK_FLAG_ACTIVE],
      [D.id, 9000, LINK_FLAG_ACTIVE],
    ],
  );
  // With endpoints too (version 2): the MTUs sit before the endpoints section.
  const v2 = decodeAdvert(encodeAdvert({ ...advertOf([1232]), endpoints: ['198.51.100.7:1'] }, A.sign), ctx);
  assert.ok(typeof v2 !== 'string', String(v2));
  assert.equal(v2.links[0].mtu, 1232);
  assert.deepEqual(v2.endpoints, ['198.51.100.7:1']);
});

test('the packed link keeps the MTU apart from RTT, loss and flags', () => {
  const p = packLink({ rttMs: 6553.5, loss: 1, flags: 0xff, mtu: ADVERT_MAX_LINK_MTU });
  assert.ok(Number.isSafeInteger(p));
  assert.equal(linkMtu(p), ADVERT_MAX_LINK_MTU);
  assert.equal(linkRttMs(p), 6553.5);
  assert.equal(linkLoss(p), 1);
  assert.equal(linkFlags(p), 0xff);
  assert.equal(linkMtu(packLink({ rttMs: 12, loss: 0, flags: 1 })), undefined);
});

test('an out-of-range link MTU is refused even when signed by its origin; the bounds are accepted', () => {
  assert.equal(ADVERT_MIN_LINK_MTU, MIN_LINK_DATAGRAM);
  assert.equal(ADVERT_MAX_LINK_MTU, maxDatagramBytes(MAX_MTU));
  const bytes = encodeAdvert(advertOf([1300, undefined]), A.sign);
  const at = 19 + 2 * 8;
  for (const bad of [0, 1, ADVERT_MIN_LINK_MTU - 1, ADVERT_MAX_LINK_MTU + 1, 0xffff])
    assert.equal(decodeAdvert(resignedWith(bytes, at, bad), ctx), 'bad-mtu', `mtu ${bad}`);
  for (const ok of [ADVERT_MIN_LINK_MTU, ADVERT_MAX_LINK_MTU]) {
    const got = decodeAdvert(resignedWith(bytes, at, ok), ctx);
    assert.ok(typeof got !== 'string', String(got));
    assert.equal(got.links[0].mtu, ok);
  }
  for (const bad of [ADVERT_MIN_LINK_MTU - 1, ADVERT_MAX_LINK_MTU + 1, 1300.5])
    assert.throws(() => encodeAdvert(advertOf([bad]), A.sign), RangeError);
});

test('a flagged link whose MTU is missing is truncated, not read past the end', () => {
  const bytes = encodeAdvert(advertOf([undefined, undefined]), A.sign);
  const body = bytes.slice(0, bytes.byteLength - 64);
  body[19 + 7] |= LINK_FLAG_MTU;
  body[19 + 8 + 7] |= LINK_FLAG_MTU;
  const resigned = new Uint8Array([...body, ...A.sign(body)]);
  assert.equal(decodeAdvert(resigned, ctx), 'truncated');
  // One flag: the two bytes it claims are the start of the signature; the rest no longer adds up.
  body[19 + 8 + 7] &= ~LINK_FLAG_MTU;
  assert.equal(decodeAdvert(new Uint8Array([...body, ...A.sign(body)]), ctx), 'truncated');
});

test('an advert too big with every link MTU leaves off the largest MTUs until it fits one packet', () => {
  const links = Array.from({ length: ADVERT_MAX_LINKS }, (_, i) => ({
    neighbor: i + 1,
    rttMs: 1,
    loss: 0,
    flags: 0,
    mtu: 1300 + i,
  }));
  const eps = ['198.51.100.1:1', '198.51.100.2:1', '198.51.100.3:1', '198.51.100.4:1'];
  const advert: Advert = { origin: A.id, seq: 1, lifetimeMs: 120_000, links, endpoints: eps };
  assert.throws(() => encodeAdvert(advert, A.sign), RangeError);
  const fitted = fitLinkMtus(advert);
  const bytes = encodeAdvert(fitted, A.sign);
  assert.ok(bytes.byteLength <= ADVERT_MAX_BYTES && bytes.byteLength > ADVERT_MAX_BYTES - 2);
  const kept = fitted.links.filter((l) => l.mtu !== undefined).map((l) => l.mtu!);
  assert.ok(kept.length > 0 && kept.length < ADVERT_MAX_LINKS);
  assert.equal(Math.max(...kept), 1300 + kept.length - 1, 'the smallest MTUs are the ones kept');
  const small = advertOf([1300]);
  assert.equal(fitLinkMtus(small), small, 'an advert that fits is left as it is');
});
