// Signed link-state advert: what one node says about its own direct links. Big-endian:
//
//   0  u8   version      ADVERT_VERSION
//   1  u32  origin       NodeId of the node whose links these are (and who signed)
//   5  u64  seq          strictly increasing per origin; originated as max(last + 1, wall-clock ms)
//  13  u32  lifetimeMs   receivers drop the advert this long after receiving it
//  17  u8   flags        ADVERT_FLAG_URGENT; no other bit may be set
//  18  u8   linkCount    at most ADVERT_MAX_LINKS
//  19       links        linkCount × [neighbor u32, rtt u16 (0.1 ms units, clamped), loss u8 (/255), flags u8]
//   .       link MTUs    u16 per link flagged LINK_FLAG_MTU, in link order: the largest datagram the
//                        origin measured crossing that link towards the neighbour (pmtu/)
//   .       endpoints    version 2 only: u8 count (1..ADVERT_MAX_ENDPOINTS) × endpoint (nat/endpoint-bytes.ts)
//   .       signature    64-byte Ed25519 over every byte before it, by the origin's key
//
// Version 2 (issue 12) adds the origin's reflexive endpoints: its address:port as members see it,
// after its NAT. An advert without them is still encoded as version 1, byte for byte as before, so
// a node that is not behind a NAT stays readable by older members. The endpoints are the origin's
// claim, signed like its links: a member uses them only as addresses to try (punch candidates), and
// binds none without an authenticated round trip.
//
// Link MTUs (issue 12, path MTU) ride on a link flag rather than a version: a link whose MTU is not
// known below the network's largest datagram carries none, so an advert without any is byte for byte
// what it was. All members of a deployment run the same version; an older decoder refuses the flag as
// bad-flags rather than misreading the bytes. A value outside [ADVERT_MIN_LINK_MTU, ADVERT_MAX_LINK_MTU]
// is refused (bad-mtu): an origin can only lower paths through its own links, and not below the floor
// every link is assumed to carry.
//
// The urgent flag (byte 17 was the high byte of a u16 link count, always 0: an advert without it is
// byte for byte what it was, and an older decoder refuses one with it as too-many-links) says the
// advert withdraws a link that carried data when it died: paths in use through it are broken, and
// forwarders push it on eagerly (flood-policy.ts advertNews). Only the origin knows that. Inferred
// from a withdrawn link's ACTIVE flag instead, every advert dropping a link that had carried data
// once (a flow long over, a probe set letting the link go) flooded eagerly: in an idle 100-daemon
// lab 2.5 copies of every advert reached every node, 1.8 kB/s per node of the 3.4 kB/s of control.
//
// A node never accepts an advert for an origin that the origin did not sign: the key comes from the
// member list, never from the message. Decoding is strict (exact length, known version and flags, no
// duplicate or self links, members only) and returns a reason instead of throwing.
import type { NodeId } from '../identity/node-id.js';
import { SIGNATURE_BYTES } from '../identity/keys.js';
import { ENDPOINT_MAX_BYTES, endpointBytes, readEndpoint, writeEndpoint } from '../nat/endpoint-bytes.js';
import { MAX_MTU, maxDatagramBytes, MIN_LINK_DATAGRAM } from '../wire/sizes.js';

export const ADVERT_VERSION = 1;
/** Version with the reflexive endpoints section. */
export const ADVERT_VERSION_ENDPOINTS = 2;
/** Reflexive endpoints an advert carries at most; receivers refuse more. */
export const ADVERT_MAX_ENDPOINTS = 4;
export const ADVERT_HEADER_BYTES = 19;
export const ADVERT_LINK_BYTES = 8;
/**
 * 19 + 140·8 + 64 = 1203 bytes (+ 1 + 4·19 = 1280 with endpoints): one advert always fits one
 * 1400-byte packet with room for sealing. Link MTUs add 2 bytes a link: fitLinkMtus (advert-fit.ts)
 * keeps an advert with many of them within ADVERT_MAX_BYTES.
 */
export const ADVERT_MAX_LINKS = 140;
export const ADVERT_MAX_BYTES = 1400;
/** Advert flag: it withdraws a link that carried data when it died (see the top of this file). */
export const ADVERT_FLAG_URGENT = 0x01;
/** Link flag: the origin is sending data over this link (it is measured at the fast rate). */
export const LINK_FLAG_ACTIVE = 0x01;
/** Link flag: the origin chose this neighbour as a flooding relay (see flood-policy.ts). */
export const LINK_FLAG_RELAY = 0x02;
/** Link flag: a u16 link MTU for this link follows the links (see the layout above). */
export const LINK_FLAG_MTU = 0x04;
const KNOWN_FLAGS = LINK_FLAG_ACTIVE | LINK_FLAG_RELAY | LINK_FLAG_MTU;
export const ADVERT_LINK_MTU_BYTES = 2;
/** Link MTUs (datagram bytes) receivers accept: the floor never probed .. a jumbo network's largest. */
export const ADVERT_MIN_LINK_MTU = MIN_LINK_DATAGRAM;
export const ADVERT_MAX_LINK_MTU = maxDatagramBytes(MAX_MTU);
/** Receivers refuse lifetimes outside this range (a year-long advert could never be retracted). */
export const ADVERT_MIN_LIFETIME_MS = 1000;
export const ADVERT_MAX_LIFETIME_MS = 3_600_000;

export interface AdvertLink {
  neighbor: NodeId;
  /** Smoothed round-trip time as measured by the origin, 0.1 ms resolution, at most 6553.5 ms. */
  rttMs: number;
  /** Loss ratio in [0, 1], 1/255 resolution. */
  loss: number;
  /** LINK_FLAG_ACTIVE, LINK_FLAG_RELAY; LINK_FLAG_MTU is the codec's and follows `mtu`. */
  flags: number;
  /** Largest datagram (UDP payload) crossing the link from the origin, when known below the top. */
  mtu?: number;
}

export interface Advert {
  origin: NodeId;
  seq: number;
  lifetimeMs: number;
  links: AdvertLink[];
  /** The origin's reflexive endpoints (version 2), at most ADVERT_MAX_ENDPOINTS. */
  endpoints?: string[];
  /** ADVERT_FLAG_URGENT: it withdraws a link that carried data when it died. */
  urgent?: boolean;
}

/** What the decoder needs to know about the network: injected so tests and the simulator share it. */
export interface AdvertContext {
  isMember(id: NodeId): boolean;
  publicKeyOf(id: NodeId): Uint8Array | undefined;
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}

export function quantizeRtt(rttMs: number): number {
  return Math.min(0xffff, Math.max(0, Math.round(rttMs * 10)));
}

export function quantizeLoss(loss: number): number {
  return Math.min(255, Math.max(0, Math.round(loss * 255)));
}

/**
 * One advertised link as a single number, the form the link-state database keeps: the quantized
 * wire values (mtu · 2³² + rtt in 0.1 ms units · 2¹⁶ + loss · 2⁸ + flags; mtu 0 = not known, at most
 * 14 bits, so the whole stays a safe integer). A 1000-member database holds up to 140 000 links;
 * numbers in a Map are a fraction of the memory of an object per link.
 */
export type PackedLink = number;

const MTU_SHIFT = 0x1_0000_0000;

export function packLink(l: Pick<AdvertLink, 'rttMs' | 'loss' | 'flags' | 'mtu'>): PackedLink {
  return (
    (l.mtu ?? 0) * MTU_SHIFT +
    quantizeRtt(l.rttMs) * 0x10000 +
    quantizeLoss(l.loss) * 0x100 +
    (l.flags & 0xff)
  );
}

export function linkRttMs(p: PackedLink): number {
  return (Math.floor(p / 0x10000) % 0x10000) / 10;
}

/** The link's advertised MTU (datagram bytes), undefined when the origin did not say (full size). */
export function linkMtu(p: PackedLink): number | undefined {
  return Math.floor(p / MTU_SHIFT) || undefined;
}

/** Whether `mtu` is a link MTU receivers accept. */
export function isValidLinkMtu(mtu: number): boolean {
  return Number.isInteger(mtu) && mtu >= ADVERT_MIN_LINK_MTU && mtu <= ADVERT_MAX_LINK_MTU;
}

export function linkLoss(p: PackedLink): number {
  return (Math.floor(p / 0x100) & 0xff) / 255;
}

export function linkFlags(p: PackedLink): number {
  return p & 0xff;
}

/** Header, links and link MTUs: where the endpoints section starts. */
export function linksBytes(links: number, mtus: number): number {
  return ADVERT_HEADER_BYTES + links * ADVERT_LINK_BYTES + mtus * ADVERT_LINK_MTU_BYTES;
}

/** The endpoints `advert` carries (the well-formed ones) and the bytes of their section (0: none). */
export function endpointSection(advert: Advert): { endpoints: string[]; bytes: number } {
  const endpoints = (advert.endpoints ?? []).filter((k) => endpointBytes(k) > 0);
  const bytes = endpoints.length === 0 ? 0 : 1 + endpoints.reduce((sum, k) => sum + endpointBytes(k), 0);
  return { endpoints, bytes };
}

/** Encodes and signs. Throws on a programming error (too many links, bad numbers): never on input. */
export function encodeAdvert(advert: Advert, sign: (message: Uint8Array) => Uint8Array): Uint8Array {
  const n = advert.links.length;
  if (n > ADVERT_MAX_LINKS) throw new RangeError(`advert has ${n} links (max ${ADVERT_MAX_LINKS})`);
  if (!Number.isSafeInteger(advert.seq) || advert.seq < 0) throw new RangeError(`bad seq ${advert.seq}`);
  const { endpoints, bytes: section } = endpointSection(advert);
  if (endpoints.length > ADVERT_MAX_ENDPOINTS)
    throw new RangeError(`advert has ${endpoints.length} endpoints`);
  const withMtu = advert.links.filter((l) => l.mtu !== undefined);
  for (const l of withMtu) if (!isValidLinkMtu(l.mtu!)) throw new RangeError(`bad link MTU ${l.mtu}`);
  const body = linksBytes(n, withMtu.length) + section;
  if (body + SIGNATURE_BYTES > ADVERT_MAX_BYTES)
    throw new RangeError(`advert of ${body + SIGNATURE_BYTES} bytes`);
  const out = new Uint8Array(body + SIGNATURE_BYTES);
  const v = new DataView(out.buffer);
  v.setUint8(0, section === 0 ? ADVERT_VERSION : ADVERT_VERSION_ENDPOINTS);
  v.setUint32(1, advert.origin);
  v.setBigUint64(5, BigInt(advert.seq));
  v.setUint32(13, advert.lifetimeMs);
  v.setUint8(17, advert.urgent === true ? ADVERT_FLAG_URGENT : 0);
  v.setUint8(18, n);
  let o = ADVERT_HEADER_BYTES;
  for (const l of advert.links) {
    v.setUint32(o, l.neighbor);
    v.setUint16(o + 4, quantizeRtt(l.rttMs));
    v.setUint8(o + 6, quantizeLoss(l.loss));
    v.setUint8(o + 7, (l.flags & ~LINK_FLAG_MTU) | (l.mtu !== undefined ? LINK_FLAG_MTU : 0));
    o += ADVERT_LINK_BYTES;
  }
  for (const l of withMtu) {
    v.setUint16(o, l.mtu!);
    o += ADVERT_LINK_MTU_BYTES;
  }
  if (section > 0) {
    out[o++] = endpoints.length;
    for (const k of endpoints) o = writeEndpoint(out, o, k);
  }
  const sig = sign(out.subarray(0, body));
  if (sig.byteLength !== SIGNATURE_BYTES) throw new RangeError('signer returned a bad signature length');
  out.set(sig, body);
  return out;
}

/**
 * Origin, seq and lifetime without verifying anything: lets the receiver drop stale copies (the
 * common case when flooding) and implausible seqs before paying for a signature check.
 */
export function peekAdvert(bytes: Uint8Array): { origin: NodeId; seq: number; lifetimeMs: number } | string {
  if (bytes.byteLength > ADVERT_MAX_BYTES) return 'oversized';
  if (bytes.byteLength < ADVERT_HEADER_BYTES + SIGNATURE_BYTES) return 'truncated';
  if (bytes[0] !== ADVERT_VERSION && bytes[0] !== ADVERT_VERSION_ENDPOINTS) return 'bad-version';
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const seq = readSeq(v, 5);
  if (seq === undefined) return 'bad-seq';
  return { origin: v.getUint32(1), seq, lifetimeMs: v.getUint32(13) };
}

/**
 * The u64 at `offset` if it is a safe integer (≤ 2^53 − 1), else undefined. Two u32 reads rather than
 * getBigUint64: a hostile flood makes us read millions of these, and a BigInt each is garbage.
 */
export function readSeq(v: DataView, offset: number): number | undefined {
  const hi = v.getUint32(offset);
  return hi > 0x1f_ffff ? undefined : hi * 0x1_0000_0000 + v.getUint32(offset + 4);
}

export function decodeAdvert(bytes: Uint8Array, ctx: AdvertContext): Advert | string {
  const head = peekAdvert(bytes);
  if (typeof head === 'string') return head;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lifetimeMs = head.lifetimeMs;
  const advertFlags = v.getUint8(17);
  if ((advertFlags & ~ADVERT_FLAG_URGENT) !== 0) return 'bad-advert-flags';
  const n = v.getUint8(18);
  if (n > ADVERT_MAX_LINKS) return 'too-many-links';
  const linksEnd = ADVERT_HEADER_BYTES + n * ADVERT_LINK_BYTES;
  if (linksEnd > bytes.byteLength - SIGNATURE_BYTES) return 'truncated';
  let mtus = 0;
  for (let o = ADVERT_HEADER_BYTES + 7; o < linksEnd; o += ADVERT_LINK_BYTES)
    if ((bytes[o] & LINK_FLAG_MTU) !== 0) mtus++;
  const mtusEnd = linksEnd + mtus * ADVERT_LINK_MTU_BYTES;
  if (mtusEnd > bytes.byteLength - SIGNATURE_BYTES) return 'truncated';
  const section = readEndpointSection(bytes, mtusEnd, bytes.byteLength - SIGNATURE_BYTES);
  if (typeof section === 'string') return section;
  const body = section.end;
  if (bytes.byteLength !== body + SIGNATURE_BYTES)
    return bytes.byteLength < body + SIGNATURE_BYTES ? 'truncated' : 'bad-length';
  if (!ctx.isMember(head.origin)) return 'not-member';
  const key = ctx.publicKeyOf(head.origin);
  if (!key) return 'not-member';
  // Cheap structural checks first, then the signature, then the semantics it vouches for.
  if (!ctx.verify(bytes.subarray(body), bytes.subarray(0, body), key)) return 'bad-signature';
  if (lifetimeMs < ADVERT_MIN_LIFETIME_MS || lifetimeMs > ADVERT_MAX_LIFETIME_MS) return 'bad-lifetime';
  const links: AdvertLink[] = [];
  const seen = new Set<NodeId>();
  let m = linksEnd;
  for (let o = ADVERT_HEADER_BYTES; o < linksEnd; o += ADVERT_LINK_BYTES) {
    const neighbor = v.getUint32(o);
    const flags = v.getUint8(o + 7);
    if (neighbor === head.origin) return 'self-link';
    if (seen.has(neighbor)) return 'duplicate-link';
    if (!ctx.isMember(neighbor)) return 'non-member-link';
    if ((flags & ~KNOWN_FLAGS) !== 0) return 'bad-flags';
    seen.add(neighbor);
    const link: AdvertLink = {
      neighbor,
      rttMs: v.getUint16(o + 4) / 10,
      loss: v.getUint8(o + 6) / 255,
      flags,
    };
    if ((flags & LINK_FLAG_MTU) !== 0) {
      const mtu = v.getUint16(m);
      m += ADVERT_LINK_MTU_BYTES;
      if (!isValidLinkMtu(mtu)) return 'bad-mtu';
      link.mtu = mtu;
      link.flags = flags & ~LINK_FLAG_MTU;
    }
    links.push(link);
  }
  const advert: Advert = { origin: head.origin, seq: head.seq, lifetimeMs, links };
  if (section.endpoints.length > 0) advert.endpoints = section.endpoints;
  if ((advertFlags & ADVERT_FLAG_URGENT) !== 0) advert.urgent = true;
  return advert;
}

/**
 * The endpoints section of a version-2 advert, which starts at `start` and must end by `limit` (where
 * the signature begins); for version 1, none and `end` = start. Bounds checked, capped, no repeats.
 */
function readEndpointSection(
  bytes: Uint8Array,
  start: number,
  limit: number,
): { endpoints: string[]; end: number } | string {
  if (bytes[0] === ADVERT_VERSION) return { endpoints: [], end: start };
  if (start >= limit) return 'truncated';
  const count = bytes[start];
  if (count === 0 || count > ADVERT_MAX_ENDPOINTS) return 'bad-endpoints';
  const endpoints: string[] = [];
  let o = start + 1;
  for (let i = 0; i < count; i++) {
    const e = readEndpoint(bytes, o, Math.min(limit, o + ENDPOINT_MAX_BYTES));
    if (!e) return 'bad-endpoints';
    if (endpoints.includes(e.key)) return 'bad-endpoints';
    endpoints.push(e.key);
    o = e.next;
  }
  return { endpoints, end: o };
}
