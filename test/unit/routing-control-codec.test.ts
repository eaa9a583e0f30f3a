import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CONTROL_CHUNK_BYTES,
  DIGEST_MAX_BITS,
  SUMMARY_MAX_ENTRIES,
  bucketOf,
  bucketRange,
  decodeControl,
  encodeAdvertMessage,
  encodeDigest,
  encodeRequestChunks,
  encodeSummaryChunks,
  peekSummary,
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

test('a digest round-trips; a bad bucket count, size or length is refused by name', () => {
  const counts = Uint16Array.from({ length: 128 }, (_, b) => b % 17);
  const hashes = Uint32Array.from({ length: 128 }, (_, b) => (b * 0x9e3779b9) >>> 0);
  const msg = encodeDigest({ bits: DIGEST_MAX_BITS, counts, hashes });
  assert.ok(msg.byteLength <= CONTROL_CHUNK_BYTES, `${msg.byteLength} bytes`);
  assert.deepEqual(decodeControl(msg), { kind: 'digest', bits: 7, counts, hashes });
  const empty = encodeDigest({ bits: 0, counts: new Uint16Array(1), hashes: new Uint32Array(1) });
  assert.deepEqual(decodeControl(empty), {
    kind: 'digest',
    bits: 0,
    counts: new Uint16Array(1),
    hashes: new Uint32Array(1),
  });
  const tooMany = Uint8Array.from(msg);
  tooMany[1] = DIGEST_MAX_BITS + 1;
  assert.equal(decodeControl(tooMany), 'bad-digest');
  const wrongCount = Uint8Array.from(msg);
  wrongCount[3] = 0x7f; // 127 buckets for 7 bits
  assert.equal(decodeControl(wrongCount), 'bad-digest');
  assert.equal(decodeControl(msg.subarray(0, msg.byteLength - 1)), 'bad-length');
  assert.equal(decodeControl(msg.subarray(0, 3)), 'truncated');
});

test('digest buckets tile the id space: every origin lies in its bucket’s range', () => {
  for (const bits of [0, 1, 4, DIGEST_MAX_BITS]) {
    assert.deepEqual(bucketRange(bits, 0).lo, 0);
    assert.deepEqual(bucketRange(bits, 2 ** bits - 1).hi, 0xffffffff);
    for (const origin of [0, 1, 0x7fffffff, 0x80000000, 0xdeadbeef, 0xffffffff]) {
      const { lo, hi } = bucketRange(bits, bucketOf(bits, origin));
      assert.ok(lo <= origin && origin <= hi, `bits ${bits}: ${origin} in [${lo}, ${hi}]`);
    }
    for (let b = 1; b < 2 ** bits; b++)
      assert.equal(bucketRange(bits, b).lo, bucketRange(bits, b - 1).hi + 1);
  }
});

test('a summary of one range says nothing outside it', () => {
  const lo = 0x40000000;
  const hi = 0x5fffffff;
  const entries = Array.from({ length: 150 }, (_, i) => ({ origin: lo + 1000 * i, seq: i + 1 }));
  const chunks = encodeSummaryChunks(entries, lo, hi).map((c) => decodeControl(c));
  assert.equal(chunks.length, 2);
  const first = chunks[0];
  const last = chunks[1];
  assert.ok(typeof first !== 'string' && first.kind === 'summary');
  assert.ok(typeof last !== 'string' && last.kind === 'summary');
  assert.equal(first.rangeLo, lo);
  assert.equal(last.rangeLo, first.rangeHi + 1);
  assert.equal(last.rangeHi, hi);
  assert.equal(first.entries.length + last.entries.length, 150);
});

test('a summary’s range and count are read from its header alone; anything else is not a summary', () => {
  const [chunk] = encodeSummaryChunks([{ origin: 7, seq: 2 ** 53 - 1 }], 5, 9);
  assert.deepEqual(peekSummary(chunk), { rangeLo: 5, rangeHi: 9, count: 1 });
  assert.equal(peekSummary(chunk.subarray(0, chunk.length - 1)), undefined, 'length must match the count');
  assert.equal(peekSummary(encodeRequestChunks([1])[0]), undefined);
  // The largest safe seq decodes; one above it is refused by name.
  const m = decodeControl(chunk);
  assert.ok(typeof m !== 'string' && m.kind === 'summary');
  assert.equal(m.entries[0].seq, Number.MAX_SAFE_INTEGER);
  const bad = chunk.slice();
  new DataView(bad.buffer).setUint32(11 + 4, 0x20_0000); // seq = 2^53
  assert.equal(decodeControl(bad), 'bad-seq');
});
