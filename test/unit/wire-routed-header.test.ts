import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PacketType, PathFlags } from '../../src/wire/constants.js';
import { parseRoutedHeader, pathFlagsFor, writeRoutedHeader } from '../../src/wire/routed-header.js';

const SRC = 0x0a;
const DST = 0x0d;

function header(relays: number[]): Buffer {
  const buf = Buffer.alloc(64);
  const end = writeRoutedHeader(buf, PacketType.Data, 16, relays, SRC, DST);
  return buf.subarray(0, end + 20);
}

test('routes of distinct relays, neither end among them, parse', () => {
  for (const relays of [[], [2], [2, 3, 4, 5, 6, 7, 8]]) {
    const h = parseRoutedHeader(header(relays), header(relays).length);
    assert.ok(typeof h !== 'string', `${relays}: ${String(h)}`);
    assert.equal(h.routeLen, relays.length);
  }
});

test('a route that repeats a relay, or names src or dst, is a bad route (no bouncing between relays)', () => {
  for (const relays of [[2, 3, 2, 3, 2, 3, 2], [2, 2], [2, 3, 4, 2], [SRC], [2, SRC], [DST], [2, DST, 3]]) {
    const pkt = header(relays);
    assert.equal(parseRoutedHeader(pkt, pkt.length), 'bad-route', String(relays));
  }
});

test('pathFlagsFor: direct for an empty route, relayed otherwise', () => {
  assert.equal(pathFlagsFor(0), PathFlags.Direct);
  for (let n = 1; n <= 7; n++) assert.equal(pathFlagsFor(n), PathFlags.Relayed);
});
