// Structure-aware mutation. Every input starts from a valid message made by the project's own encoders
// (a Seed), whose fields the target describes (offset, width, what they mean). Each mutant applies one
// to three operations:
//
//   flip      1–4 random bits                       byte      1–3 bytes set to 0, 1, 0x7f, 0x80, 0xff…
//   field     one field set to an extreme for its role (ids from the dictionary, seqs near 2^53, …)
//   count     a count field set to 0, 1, n±1 or its maximum, with the records added or removed to match
//   truncate  at a field boundary or anywhere          extend    random bytes, a repeated tail, or to MTU
//   insert    / delete 1–16 bytes in the middle        splice    this seed's head + another seed's tail
//
// A mutant never equals its seed (one more bit is flipped if the operations cancelled out), so
// "accepted" always means "accepted with something changed".
import type { FuzzRng } from './rng.js';

export type FieldRole =
  | 'type' // a message kind or version byte
  | 'count' // number of records that follow (see `record`)
  | 'length' // a byte length
  | 'id' // a NodeId: members, ourselves, non-members, 0
  | 'index' // a session receiver/sender index
  | 'seq' // an advert sequence number (u64)
  | 'counter' // a Data packet counter (u64)
  | 'ttl'
  | 'position' // routePos
  | 'value'; // anything else

export interface Field {
  name: string;
  offset: number;
  size: 1 | 2 | 4 | 8;
  role: FieldRole;
  /** For counts: where the records start and how long each is. */
  record?: { start: number; size: number };
}

export interface Seed {
  /** What the encoder made, for reports ("data keepalive", "summary 99 entries"). */
  label: string;
  bytes: Buffer;
  fields: readonly Field[];
}

/** Values worth trying in fields, per target. */
export interface Dictionary {
  /** NodeIds: members, our own, some non-members. 0 and 0xffffffff are always tried. */
  ids: readonly number[];
  /** Sequence numbers and counters (beyond the u64 extremes always tried), e.g. near the wall clock. */
  u64: readonly bigint[];
  /** Session indices in use. */
  indices?: readonly number[];
  /** The longest input worth making (the transport's limit); extensions go to it and one past it. */
  maxBytes: number;
}

export interface Mutant {
  bytes: Buffer;
  /** The operations applied, e.g. ["field:count=65535", "truncate:37"], for reports. */
  ops: string[];
}

const INTERESTING_BYTES = [0, 1, 0x7f, 0x80, 0xfe, 0xff];
const EXTREMES: Record<1 | 2 | 4, number[]> = {
  1: [0, 1, 0x7f, 0x80, 0xff],
  2: [0, 1, 0x7fff, 0x8000, 0xffff],
  4: [0, 1, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff],
};
const U64_EXTREMES = [0n, 1n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n];

/** What an operation may draw on besides the bytes: the seed's fields, splice partners, values, choices. */
interface Context {
  seed: Seed;
  corpus: readonly Seed[];
  dict: Dictionary;
  rng: FuzzRng;
}

type Op = (buf: Buffer, m: Context) => [Buffer, string];

const OPS: Array<[Op, number]> = [
  [flip, 3],
  [setBytes, 2],
  [setField, 4],
  [setCount, 2],
  [truncate, 2],
  [extend, 2],
  [insertOrDelete, 1],
  [splice, 1],
];
const OP_WEIGHT = OPS.reduce((s, [, w]) => s + w, 0);

/** One mutant of `seed`; `corpus` supplies splice partners. */
export function mutate(seed: Seed, corpus: readonly Seed[], dict: Dictionary, rng: FuzzRng): Mutant {
  const m: Context = { seed, corpus, dict, rng };
  let buf: Buffer = Buffer.from(seed.bytes);
  const ops: string[] = [];
  const n = 1 + (rng.chance(0.5) ? 0 : rng.int(3));
  for (let i = 0; i < n; i++) {
    const [next, name] = pickOp(rng)(buf, m);
    buf = next;
    ops.push(name);
  }
  if (buf.equals(seed.bytes)) {
    const [next, name] = flip(buf, m);
    buf = next;
    ops.push(name);
  }
  return { bytes: buf, ops };
}

function pickOp(rng: FuzzRng): Op {
  let r = rng.int(OP_WEIGHT);
  for (const [op, w] of OPS) {
    if (r < w) return op;
    r -= w;
  }
  return flip;
}

function flip(buf: Buffer, m: Context): [Buffer, string] {
  const { rng } = m;
  if (buf.length === 0) return [Buffer.from([rng.int(256)]), 'flip:empty'];
  const bits: number[] = [];
  for (let k = rng.range(1, 4); k > 0; k--) {
    const bit = rng.int(buf.length * 8);
    buf[bit >> 3] ^= 1 << (bit & 7);
    bits.push(bit);
  }
  return [buf, `flip:${bits.join(',')}`];
}

function setBytes(buf: Buffer, m: Context): [Buffer, string] {
  const { rng } = m;
  if (buf.length === 0) return [buf, 'byte:empty'];
  const at: number[] = [];
  for (let k = rng.range(1, 3); k > 0; k--) {
    const i = rng.int(buf.length);
    buf[i] = rng.chance(0.8) ? rng.pick(INTERESTING_BYTES) : rng.int(256);
    at.push(i);
  }
  return [buf, `byte:${at.join(',')}`];
}

function setField(buf: Buffer, m: Context): [Buffer, string] {
  const { seed, dict, rng } = m;
  const fields = seed.fields.filter((f) => f.offset + f.size <= buf.length);
  if (fields.length === 0) return setBytes(buf, m);
  const f = rng.pick(fields);
  if (f.size === 8) {
    const old = buf.readBigUInt64BE(f.offset);
    const v = pickU64(old, dict, rng);
    buf.writeBigUInt64BE(v, f.offset);
    return [buf, `field:${f.name}=${v}`];
  }
  const old = readUint(buf, f.offset, f.size);
  const v = pickValue(f, old, dict, rng) % 2 ** (8 * f.size);
  writeUint(buf, f.offset, f.size, v);
  return [buf, `field:${f.name}=${v}`];
}

function pickU64(old: bigint, dict: Dictionary, rng: FuzzRng): bigint {
  const r = rng.int(4);
  if (r === 0) return rng.pick(U64_EXTREMES);
  if (r === 1 && dict.u64.length > 0) return rng.pick(dict.u64);
  if (r === 2) return BigInt.asUintN(64, old + BigInt(rng.pick([-1, 1, -64, 64, 8192, -8192])));
  return BigInt.asUintN(64, (BigInt(rng.u32()) << 32n) | BigInt(rng.u32()));
}

function pickValue(f: Field, old: number, dict: Dictionary, rng: FuzzRng): number {
  const size = f.size as 1 | 2 | 4;
  const max = 2 ** (8 * size) - 1;
  const near = [old + 1, old - 1 < 0 ? max : old - 1];
  switch (f.role) {
    case 'id':
      return rng.chance(0.7) && dict.ids.length > 0
        ? rng.pick(dict.ids)
        : rng.pick([0, max, rng.u32() % (max + 1)]);
    case 'index':
      return rng.chance(0.5) && dict.indices?.length ? rng.pick(dict.indices) : rng.pick([...near, 0, max]);
    case 'type':
      return rng.pick([0, 1, 2, 3, 4, 5, 6, 7, 0x80, max]);
    case 'ttl':
    case 'position':
    case 'count':
      return rng.pick([0, 1, 2, 6, 7, 8, 99, 100, 140, 141, 299, 300, ...near, max, max - 1]);
    default:
      return rng.chance(0.6) ? rng.pick([...EXTREMES[size], ...near]) : rng.u32() % (max + 1);
  }
}

/** Sets a count and resizes its records to match: extreme counts with consistent lengths. */
function setCount(buf: Buffer, m: Context): [Buffer, string] {
  const { seed, dict, rng } = m;
  const counts = seed.fields.filter((f) => f.role === 'count' && f.record && f.offset + f.size <= buf.length);
  if (counts.length === 0) return setField(buf, m);
  const f = rng.pick(counts);
  const rec = f.record as { start: number; size: number };
  const old = readUint(buf, f.offset, f.size);
  const max = 2 ** (8 * f.size) - 1;
  // What fits the transport, one more, the type's maximum, and the small cases.
  const fit = Math.floor((dict.maxBytes - rec.start) / rec.size);
  const n = Math.min(max, rng.pick([0, 1, old + 1, Math.max(0, old - 1), fit, fit + 1, max]));
  writeUint(buf, f.offset, f.size, n);
  const end = rec.start + old * rec.size;
  const records = buf.subarray(rec.start, Math.min(end, buf.length));
  const grown = Buffer.alloc(Math.min(rec.start + n * rec.size, dict.maxBytes + rec.size));
  buf.copy(grown, 0, 0, Math.min(rec.start, buf.length));
  for (let o = rec.start; o < grown.length; o += rec.size) {
    // Repeat the seed's own records (duplicates are interesting), else random ones.
    if (records.length >= rec.size && rng.chance(0.7)) {
      const k = rng.int(Math.floor(records.length / rec.size));
      records.copy(grown, o, k * rec.size, (k + 1) * rec.size);
    } else rng.fill(grown.subarray(o, o + rec.size));
  }
  const tail = buf.subarray(Math.min(end, buf.length));
  return [Buffer.concat([grown, tail]), `count:${f.name}=${n}`];
}

function truncate(buf: Buffer, m: Context): [Buffer, string] {
  const { seed, rng } = m;
  const cuts = seed.fields.flatMap((f) => [f.offset, f.offset + f.size]).filter((o) => o < buf.length);
  const at =
    rng.chance(0.5) && cuts.length > 0
      ? rng.pick(cuts)
      : rng.pick([0, buf.length - 1, rng.int(buf.length + 1)]);
  const len = Math.max(0, Math.min(at, buf.length));
  return [buf.subarray(0, len), `truncate:${len}`];
}

function extend(buf: Buffer, m: Context): [Buffer, string] {
  const { dict, rng } = m;
  const r = rng.int(3);
  if (r === 0) {
    const extra = rng.fill(Buffer.alloc(rng.range(1, 64)));
    return [Buffer.concat([buf, extra]), `extend:+${extra.length}`];
  }
  if (r === 1 && buf.length > 0) {
    const from = rng.int(buf.length);
    const tail = buf.subarray(from, Math.min(buf.length, from + rng.range(1, 128)));
    return [Buffer.concat([buf, tail]), `extend:repeat+${tail.length}`];
  }
  const target = Math.max(buf.length + 1, dict.maxBytes + (rng.chance(0.5) ? 0 : 1));
  const out = Buffer.alloc(target, rng.chance(0.5) ? 0 : rng.int(256));
  buf.copy(out);
  return [out, `extend:to${target}`];
}

function insertOrDelete(buf: Buffer, m: Context): [Buffer, string] {
  const { rng } = m;
  const at = rng.int(buf.length + 1);
  const n = rng.range(1, 16);
  if (rng.chance(0.5) && buf.length > 0) {
    const end = Math.min(buf.length, at + n);
    return [Buffer.concat([buf.subarray(0, at), buf.subarray(end)]), `delete:${at}+${end - at}`];
  }
  const ins = rng.fill(Buffer.alloc(n));
  return [Buffer.concat([buf.subarray(0, at), ins, buf.subarray(at)]), `insert:${at}+${n}`];
}

function splice(buf: Buffer, m: Context): [Buffer, string] {
  const { corpus, rng } = m;
  const other = rng.pick(corpus);
  const a = rng.int(buf.length + 1);
  const b = rng.int(other.bytes.length + 1);
  return [Buffer.concat([buf.subarray(0, a), other.bytes.subarray(b)]), `splice:${a}|${other.label}@${b}`];
}

function readUint(buf: Buffer, offset: number, size: 1 | 2 | 4 | 8): number {
  return size === 1 ? buf[offset] : size === 2 ? buf.readUInt16BE(offset) : buf.readUInt32BE(offset);
}

function writeUint(buf: Buffer, offset: number, size: 1 | 2 | 4 | 8, v: number): void {
  if (size === 1) buf[offset] = v;
  else if (size === 2) buf.writeUInt16BE(v, offset);
  else buf.writeUInt32BE(v >>> 0, offset);
}
