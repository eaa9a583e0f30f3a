// Routing control messages: the payload of an InnerKind.Control message, sealed hop by hop between
// direct neighbours (so `from` is authenticated by the session, and adverts carry their own
// end-to-end signature on top). Big-endian:
//
//   ADVERT   u8 1 | advert bytes (see advert.ts)
//   SUMMARY  u8 2 | u32 rangeLo | u32 rangeHi | u16 count | count × (u32 origin, u64 seq)
//   REQUEST  u8 3 | u16 count | count × u32 origin
//   ANNOUNCE u8 4 | u16 count | count × (u32 origin, u64 seq)
//   DIGEST   u8 5 | u8 bits | u16 count = 2^bits | count × (u16 adverts, u32 hash)
//
// A SUMMARY lists, in strictly increasing origin order, every advert the sender holds whose origin
// lies in [rangeLo, rangeHi]. The range is what lets a summary be chunked (≤ 1200 bytes each) and
// still say "I have nothing else here": an origin the receiver holds inside the range but the
// summary does not list is one the sender lacks. An ANNOUNCE lists adverts the sender accepted
// recently ("I have these; REQUEST what you lack"), with no claim about anything else: that is how
// news that is not urgent spreads (see announcer.ts). A DIGEST condenses a summary: the origin space
// is cut into 2^bits equal buckets (bucket b holds the origins whose top `bits` bits are b), and for
// each it gives how many adverts the sender holds there and the sum of their entryHash(origin, seq);
// the receiver answers a bucket that differs from its own with a SUMMARY of that bucket's range (see
// anti-entropy.ts). Decoding never throws; it returns a reason.
import type { NodeId } from '../identity/node-id.js';
import { ADVERT_MAX_BYTES, readSeq } from './advert.js';
import { mix32 } from './hash.js';

export const ControlKind = { Advert: 1, Summary: 2, Request: 3, Announce: 4, Digest: 5 } as const;

export const CONTROL_CHUNK_BYTES = 1200;
const SUMMARY_HEADER = 11;
const SUMMARY_ENTRY = 12;
const REQUEST_HEADER = 3;
export const SUMMARY_MAX_ENTRIES = Math.floor((CONTROL_CHUNK_BYTES - SUMMARY_HEADER) / SUMMARY_ENTRY); // 99
export const REQUEST_MAX_ORIGINS = Math.floor((CONTROL_CHUNK_BYTES - REQUEST_HEADER) / 4); // 299
const ANNOUNCE_HEADER = 3;
export const ANNOUNCE_MAX_ENTRIES = Math.floor((CONTROL_CHUNK_BYTES - ANNOUNCE_HEADER) / SUMMARY_ENTRY); // 99
const DIGEST_HEADER = 4;
const DIGEST_BUCKET = 6;
/** 128 buckets (772 bytes): one message; beyond ~2000 members a bucket holds more than 16 adverts. */
export const DIGEST_MAX_BITS = 7;
export const CONTROL_MAX_BYTES = 1 + ADVERT_MAX_BYTES;

export interface SummaryEntry {
  origin: NodeId;
  seq: number;
}

/** Per bucket: adverts held (mod 2¹⁶) and the sum of their entryHash (mod 2³²). */
export interface Digest {
  bits: number;
  counts: Uint16Array;
  hashes: Uint32Array;
}

export type ControlMessage =
  | { kind: 'advert'; advert: Uint8Array }
  | { kind: 'summary'; rangeLo: NodeId; rangeHi: NodeId; entries: SummaryEntry[] }
  | { kind: 'request'; origins: NodeId[] }
  | { kind: 'announce'; entries: SummaryEntry[] }
  | ({ kind: 'digest' } & Digest);

export function encodeAdvertMessage(advert: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + advert.byteLength);
  out[0] = ControlKind.Advert;
  out.set(advert, 1);
  return out;
}

/**
 * SUMMARY messages covering [rangeLo, rangeHi] (default: the whole id space) for `entries`, which must
 * be sorted by origin and lie in the range. Chunk i covers up to its last origin; the next chunk
 * starts just after. No entries → one empty chunk ("I hold nothing here").
 */
export function encodeSummaryChunks(
  entries: readonly SummaryEntry[],
  rangeLo: NodeId = 0,
  rangeHi: NodeId = 0xffffffff,
): Uint8Array[] {
  const out: Uint8Array[] = [];
  let lo = rangeLo;
  for (let i = 0; i < entries.length || out.length === 0; i += SUMMARY_MAX_ENTRIES) {
    const part = entries.slice(i, i + SUMMARY_MAX_ENTRIES);
    const last = i + SUMMARY_MAX_ENTRIES >= entries.length;
    const hi = last ? rangeHi : part[part.length - 1].origin;
    const buf = new Uint8Array(SUMMARY_HEADER + part.length * SUMMARY_ENTRY);
    const v = new DataView(buf.buffer);
    v.setUint8(0, ControlKind.Summary);
    v.setUint32(1, lo);
    v.setUint32(5, hi);
    v.setUint16(9, part.length);
    let o = SUMMARY_HEADER;
    for (const e of part) {
      v.setUint32(o, e.origin);
      v.setBigUint64(o + 4, BigInt(e.seq));
      o += SUMMARY_ENTRY;
    }
    out.push(buf);
    lo = hi + 1;
    if (last) break;
  }
  return out;
}

export function encodeRequestChunks(origins: readonly NodeId[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < origins.length; i += REQUEST_MAX_ORIGINS) {
    const part = origins.slice(i, i + REQUEST_MAX_ORIGINS);
    const buf = new Uint8Array(REQUEST_HEADER + part.length * 4);
    const v = new DataView(buf.buffer);
    v.setUint8(0, ControlKind.Request);
    v.setUint16(1, part.length);
    part.forEach((id, k) => v.setUint32(REQUEST_HEADER + 4 * k, id));
    out.push(buf);
  }
  return out;
}

export function encodeAnnounceChunks(entries: readonly SummaryEntry[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < entries.length; i += ANNOUNCE_MAX_ENTRIES) {
    const part = entries.slice(i, i + ANNOUNCE_MAX_ENTRIES);
    const buf = new Uint8Array(ANNOUNCE_HEADER + part.length * SUMMARY_ENTRY);
    const v = new DataView(buf.buffer);
    v.setUint8(0, ControlKind.Announce);
    v.setUint16(1, part.length);
    part.forEach((e, k) => {
      v.setUint32(ANNOUNCE_HEADER + SUMMARY_ENTRY * k, e.origin);
      v.setBigUint64(ANNOUNCE_HEADER + SUMMARY_ENTRY * k + 4, BigInt(e.seq));
    });
    out.push(buf);
  }
  return out;
}

export function encodeDigest(d: Digest): Uint8Array {
  const n = 2 ** d.bits;
  const buf = new Uint8Array(DIGEST_HEADER + n * DIGEST_BUCKET);
  const v = new DataView(buf.buffer);
  v.setUint8(0, ControlKind.Digest);
  v.setUint8(1, d.bits);
  v.setUint16(2, n);
  for (let b = 0; b < n; b++) {
    v.setUint16(DIGEST_HEADER + DIGEST_BUCKET * b, d.counts[b]);
    v.setUint32(DIGEST_HEADER + DIGEST_BUCKET * b + 2, d.hashes[b]);
  }
  return buf;
}

/** Origins [lo, hi] of bucket `b` when the id space is cut into 2^bits buckets. */
export function bucketRange(bits: number, b: number): { lo: NodeId; hi: NodeId } {
  const width = 2 ** (32 - bits);
  return { lo: b * width, hi: (b + 1) * width - 1 };
}

/** The bucket of `origin` among 2^bits. */
export function bucketOf(bits: number, origin: NodeId): number {
  return Math.floor(origin / 2 ** (32 - bits));
}

/**
 * What a DIGEST sums for one advert. Any change of origin or seq changes it (a 32-bit mix of both);
 * sums are order-free, so both ends get the same figure from the same set however they hold it.
 */
export function entryHash(origin: NodeId, seq: number): number {
  return mix32(origin ^ mix32((seq % 0x1_0000_0000) ^ mix32(Math.floor(seq / 0x1_0000_0000) + 0x9e3779b9)));
}

/**
 * The range and entry count of a SUMMARY, read from its header alone (undefined if `bytes` is no
 * well-formed one: decodeControl then says why). Lets a receiver refuse a summary it has no budget to
 * examine before decoding its entries.
 */
export function peekSummary(
  bytes: Uint8Array,
): { rangeLo: NodeId; rangeHi: NodeId; count: number } | undefined {
  if (bytes[0] !== ControlKind.Summary || bytes.byteLength < SUMMARY_HEADER) return undefined;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = v.getUint16(9);
  if (bytes.byteLength !== SUMMARY_HEADER + count * SUMMARY_ENTRY) return undefined;
  return { rangeLo: v.getUint32(1), rangeHi: v.getUint32(5), count };
}

/** Parses a control message. The advert variant is a view into `bytes` (valid while `bytes` is). */
export function decodeControl(bytes: Uint8Array): ControlMessage | string {
  if (bytes.byteLength === 0) return 'empty';
  if (bytes.byteLength > CONTROL_MAX_BYTES) return 'oversized';
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (bytes[0]) {
    case ControlKind.Advert:
      return { kind: 'advert', advert: bytes.subarray(1) };
    case ControlKind.Summary: {
      if (bytes.byteLength > CONTROL_CHUNK_BYTES) return 'oversized';
      if (bytes.byteLength < SUMMARY_HEADER) return 'truncated';
      const rangeLo = v.getUint32(1);
      const rangeHi = v.getUint32(5);
      const count = v.getUint16(9);
      if (bytes.byteLength !== SUMMARY_HEADER + count * SUMMARY_ENTRY) return 'bad-length';
      if (rangeLo > rangeHi) return 'bad-range';
      const entries: SummaryEntry[] = [];
      let prev = -1;
      for (let o = SUMMARY_HEADER; o < bytes.byteLength; o += SUMMARY_ENTRY) {
        const origin = v.getUint32(o);
        const seq = readSeq(v, o + 4);
        if (origin <= prev || origin < rangeLo || origin > rangeHi) return 'bad-order';
        if (seq === undefined) return 'bad-seq';
        entries.push({ origin, seq });
        prev = origin;
      }
      return { kind: 'summary', rangeLo, rangeHi, entries };
    }
    case ControlKind.Request: {
      if (bytes.byteLength > CONTROL_CHUNK_BYTES) return 'oversized';
      if (bytes.byteLength < REQUEST_HEADER) return 'truncated';
      const count = v.getUint16(1);
      if (bytes.byteLength !== REQUEST_HEADER + count * 4) return 'bad-length';
      const origins: NodeId[] = [];
      for (let k = 0; k < count; k++) origins.push(v.getUint32(REQUEST_HEADER + 4 * k));
      return { kind: 'request', origins };
    }
    case ControlKind.Announce: {
      if (bytes.byteLength > CONTROL_CHUNK_BYTES) return 'oversized';
      if (bytes.byteLength < ANNOUNCE_HEADER) return 'truncated';
      const count = v.getUint16(1);
      if (bytes.byteLength !== ANNOUNCE_HEADER + count * SUMMARY_ENTRY) return 'bad-length';
      const entries: SummaryEntry[] = [];
      for (let o = ANNOUNCE_HEADER; o < bytes.byteLength; o += SUMMARY_ENTRY) {
        const seq = readSeq(v, o + 4);
        if (seq === undefined) return 'bad-seq';
        entries.push({ origin: v.getUint32(o), seq });
      }
      return { kind: 'announce', entries };
    }
    case ControlKind.Digest: {
      if (bytes.byteLength > CONTROL_CHUNK_BYTES) return 'oversized';
      if (bytes.byteLength < DIGEST_HEADER) return 'truncated';
      const bits = v.getUint8(1);
      const count = v.getUint16(2);
      if (bits > DIGEST_MAX_BITS || count !== 2 ** bits) return 'bad-digest';
      if (bytes.byteLength !== DIGEST_HEADER + count * DIGEST_BUCKET) return 'bad-length';
      const counts = new Uint16Array(count);
      const hashes = new Uint32Array(count);
      for (let b = 0; b < count; b++) {
        counts[b] = v.getUint16(DIGEST_HEADER + DIGEST_BUCKET * b);
        hashes[b] = v.getUint32(DIGEST_HEADER + DIGEST_BUCKET * b + 2);
      }
      return { kind: 'digest', bits, counts, hashes };
    }
    default:
      return 'unknown-kind';
  }
}
