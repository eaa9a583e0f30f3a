import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CONTROL_CHUNK_BYTES,
  SUMMARY_MAX_ENTRIES,
  decodeControl,
  encodeAdvertMessage,
  encodeRequestChunks,
  encodeSummaryChunks,
} from '../../src/routing/control-codec.js';

test('a summary of 250 origins is chunked into ≤1200-byte messages that tile the id space', () => {
  const entries = Array.from({ length: 250 }, (_, i) => ({
    origin: (i + 1) * 1000,
    seq: 1_700_000_000_000 + i,
  }));
  const chunks = encodeSummaryChunks(entries);
  assert.equal(chunks.length, Math.ceil(250 / SUMMARY_MAX_ENTRIES));
  let expectLo = 0;
  const back = [];
  for (const c of chunks) {
    assert.ok(c.byteLength <= CONTROL_CHUNK_BYTES);
    const m = decodeControl(c);
    assert.ok(typeof m !== 'string' && m.kind === 'summary', String(m));
    assert.equal(m.rangeLo, expectLo);
    expectLo = m.rangeHi + 1;
    back.push(...m.entries);
  }
  assert.equal(expectLo, 2 ** 32, 'the last chunk ends at the top of the id space');
  assert.deepEqual(back, entries);
});

test('an empty summary is one message covering everything ("I hold nothing")', () => {
  const [c] = encodeSummaryChunks([]);
  assert.deepEqual(decodeControl(c), { kind: 'summary', rangeLo: 0, rangeHi: 0xffffffff, entries: [] });
});

test('requests and adverts round-trip', () => {
  const origins = Array.from({ length: 700 }, (_, i) => i + 1);
  const chunks = encodeRequestChunks(origins);
  assert.equal(chunks.length, 3);
  const back = chunks.flatMap((c) => {
    const m = decodeControl(c);
    assert.ok(typeof m !== 'string' && m.kind === 'request');
    return m.origins;
  });
  assert.deepEqual(back, origins);
  const m = decodeControl(encodeAdvertMessage(new Uint8Array([1, 2, 3])));
  assert.ok(typeof m !== 'string' && m.kind === 'advert');
  assert.deepEqual([...m.advert], [1, 2, 3]);
});

test('malformed control messages are rejected with a reason', () => {
  assert.equal(decodeControl(new Uint8Array()), 'empty');
  assert.equal(decodeControl(new Uint8Array([9])), 'unknown-kind');
  assert.equal(decodeControl(new Uint8Array([2, 0, 0])), 'truncated');
  const [sum] = encodeSummaryChunks([
    { origin: 5, seq: 1 },
    { origin: 9, seq: 2 },
  ]);
  assert.equal(decodeControl(sum.subarray(0, sum.length - 1)), 'bad-length');
  const unsorted = sum.slice();
  unsorted.set([0, 0, 0, 9], 11);
  unsorted.set([0, 0, 0, 5], 23);
  assert.equal(decodeControl(unsorted), 'bad-order');
  const hugeSeq = sum.slice();
  hugeSeq.fill(0xff, 15, 23);
  assert.equal(decodeControl(hugeSeq), 'bad-seq');
  const [req] = encodeRequestChunks([1, 2]);
  assert.equal(decodeControl(req.subarray(0, 5)), 'bad-length');
  assert.equal(decodeControl(new Uint8Array(2000).fill(1)), 'oversized');
});

test('random bytes never throw', () => {
  let s = 7;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < 5000; i++) {
    const buf = new Uint8Array(Math.floor(rnd() * 64)).map(() => Math.floor(rnd() * 256));
    if (buf.length > 0) buf[0] = 1 + Math.floor(rnd() * 3);
    assert.doesNotThrow(() => decodeControl(buf));
  }
});
