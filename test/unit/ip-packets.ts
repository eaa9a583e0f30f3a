// TCP and UDP packets over IPv4 and IPv6 for the offload and data-plane tests, with checksums computed
// here the plain RFC 1071 way (big-endian 16-bit words, one at a time): an independent reference for
// the native code, which sums in memory order 8 bytes at a time.
import { isIPv4 } from 'node:net';
import { ipv4ToNumber, ipv6ToBytes } from '../../src/forward/ip-packet.js';

export const TCP = 6;
export const UDP = 17;
export const TCP_FIN = 0x01;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_CWR = 0x80;

export interface PacketSpec {
  src: string;
  dst: string;
  proto: typeof TCP | typeof UDP;
  payload: Uint8Array;
  sport?: number;
  dport?: number;
  seq?: number;
  ack?: number;
  flags?: number;
  /** TCP options (a multiple of 4 bytes). */
  options?: Uint8Array;
  window?: number;
  ttl?: number;
  tos?: number;
  id?: number;
  flowLabel?: number;
}

/** One's-complement sum of big-endian 16-bit words, folded (not inverted). */
export function refSum(...parts: Uint8Array[]): number {
  let sum = 0;
  for (const b of parts) {
    for (let i = 0; i < b.length; i += 2) sum += (b[i]! << 8) | (b[i + 1] ?? 0);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** The pseudo header of an IP packet's transport part. */
export function pseudoHeader(ip: Uint8Array, proto: number, transportLength: number): Buffer {
  const v4 = ip[0]! >> 4 === 4;
  const addrs = Buffer.from(ip.subarray(v4 ? 12 : 8, v4 ? 20 : 40));
  const tail = Buffer.alloc(4);
  tail[1] = proto;
  tail.writeUInt16BE(transportLength, 2);
  return Buffer.concat([addrs, tail]);
}

/** Offset of the transport header (no IPv4 options, no IPv6 extension headers here). */
export function l4Offset(ip: Uint8Array): number {
  return ip[0]! >> 4 === 4 ? (ip[0]! & 15) * 4 : 40;
}

export function ipProto(ip: Uint8Array): number {
  return ip[0]! >> 4 === 4 ? ip[9]! : ip[6]!;
}

/** True if the IPv4 header checksum and the TCP/UDP checksum of `ip` are both right. */
export function checksumsValid(ip: Uint8Array): boolean {
  const l4 = l4Offset(ip);
  if (ip[0]! >> 4 === 4 && refSum(ip.subarray(0, l4)) !== 0xffff) return false;
  return refSum(pseudoHeader(ip, ipProto(ip), ip.length - l4), ip.subarray(l4)) === 0xffff;
}

export function transportHeaderLength(ip: Uint8Array): number {
  const l4 = l4Offset(ip);
  return ipProto(ip) === TCP ? (ip[l4 + 12]! >> 4) * 4 : 8;
}

/** The transport payload of a packet. */
export function payloadOf(ip: Uint8Array): Buffer {
  return Buffer.from(ip.subarray(l4Offset(ip) + transportHeaderLength(ip)));
}

/** A complete packet with valid checksums. */
export function packet(s: PacketSpec): Buffer {
  const v4 = isIPv4(s.src);
  const options = s.options ?? new Uint8Array(0);
  const l4 = v4 ? 20 : 40;
  const thl = s.proto === TCP ? 20 + options.length : 8;
  const p = Buffer.alloc(l4 + thl + s.payload.length);
  if (v4) {
    p[0] = 0x45;
    p[1] = s.tos ?? 0;
    p.writeUInt16BE(p.length, 2);
    p.writeUInt16BE(s.id ?? 0x1234, 4);
    p[6] = 0x40; // DF
    p[8] = s.ttl ?? 64;
    p[9] = s.proto;
    p.writeUInt32BE(ipv4ToNumber(s.src), 12);
    p.writeUInt32BE(ipv4ToNumber(s.dst), 16);
    p.writeUInt16BE(~refSum(p.subarray(0, 20)) & 0xffff, 10);
  } else {
    p.writeUInt32BE((6 << 28) | ((s.tos ?? 0) << 20) | (s.flowLabel ?? 0), 0);
    p.writeUInt16BE(p.length - 40, 4);
    p[6] = s.proto;
    p[7] = s.ttl ?? 64;
    ipv6ToBytes(s.src).copy(p, 8);
    ipv6ToBytes(s.dst).copy(p, 24);
  }
  p.writeUInt16BE(s.sport ?? 40000, l4);
  p.writeUInt16BE(s.dport ?? 5201, l4 + 2);
  if (s.proto === TCP) {
    p.writeUInt32BE((s.seq ?? 1000) >>> 0, l4 + 4);
    p.writeUInt32BE((s.ack ?? 7) >>> 0, l4 + 8);
    p[l4 + 12] = (thl / 4) << 4;
    p[l4 + 13] = s.flags ?? TCP_ACK;
    p.writeUInt16BE(s.window ?? 512, l4 + 14);
    p.set(options, l4 + 20);
  } else {
    p.writeUInt16BE(thl + s.payload.length, l4 + 4);
  }
  p.set(s.payload, l4 + thl);
  const field = l4 + (s.proto === TCP ? 16 : 6);
  const c = ~refSum(pseudoHeader(p, s.proto, p.length - l4), p.subarray(l4)) & 0xffff;
  p.writeUInt16BE(s.proto === UDP && c === 0 ? 0xffff : c, field);
  return p;
}

/** TCP timestamp option (NOP, NOP, kind 8) with the given values. */
export function timestamps(tsval: number, tsecr: number): Buffer {
  const o = Buffer.alloc(12);
  o[0] = 1;
  o[1] = 1;
  o[2] = 8;
  o[3] = 10;
  o.writeUInt32BE(tsval, 4);
  o.writeUInt32BE(tsecr, 8);
  return o;
}

export interface VnetHeader {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}

export const GSO_NONE = 0;
export const GSO_TCPV4 = 1;
export const GSO_TCPV6 = 4;
export const GSO_UDP_L4 = 5;
export const NEEDS_CSUM = 1;

export function encodeVnet(h: VnetHeader): Buffer {
  const b = Buffer.alloc(10);
  b[0] = h.flags;
  b[1] = h.gsoType;
  b.writeUInt16LE(h.hdrLen, 2);
  b.writeUInt16LE(h.gsoSize, 4);
  b.writeUInt16LE(h.csumStart, 6);
  b.writeUInt16LE(h.csumOffset, 8);
  return b;
}

export function decodeVnet(b: Uint8Array): VnetHeader {
  const v = Buffer.from(b.subarray(0, 10));
  return {
    flags: v[0]!,
    gsoType: v[1]!,
    hdrLen: v.readUInt16LE(2),
    gsoSize: v.readUInt16LE(4),
    csumStart: v.readUInt16LE(6),
    csumOffset: v.readUInt16LE(8),
  };
}

/**
 * A super-packet as a TUN with TSO/USO hands it over: one header, the whole payload, lengths covering
 * all of it, and the transport checksum holding only the pseudo-header sum (CHECKSUM_PARTIAL).
 */
export function superPacket(s: PacketSpec, gsoSize: number): { packet: Buffer; vnet: Buffer } {
  const p = packet(s);
  const l4 = l4Offset(p);
  const field = l4 + (s.proto === TCP ? 16 : 6);
  p.writeUInt16BE(refSum(pseudoHeader(p, s.proto, p.length - l4)), field);
  const v4 = p[0]! >> 4 === 4;
  const vnet = encodeVnet({
    flags: NEEDS_CSUM,
    gsoType: s.proto === UDP ? GSO_UDP_L4 : v4 ? GSO_TCPV4 : GSO_TCPV6,
    hdrLen: l4 + transportHeaderLength(p),
    gsoSize,
    csumStart: l4,
    csumOffset: s.proto === TCP ? 16 : 6,
  });
  return { packet: p, vnet };
}

/** Deterministic payload bytes (distinct per position, so misplaced slices show). */
export function payloadBytes(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 17 + (i >> 8)) & 0xff;
  return b;
}

/** Buffers laid end to end in one buffer, with each one's offset and length (a batch's layout). */
export function packed(list: Uint8Array[]): { buffer: Buffer; offsets: Uint32Array; lengths: Uint32Array } {
  const buffer = Buffer.concat(list);
  const offsets = new Uint32Array(list.length);
  const lengths = new Uint32Array(list.length);
  let at = 0;
  list.forEach((p, i) => {
    offsets[i] = at;
    lengths[i] = p.length;
    at += p.length;
  });
  return { buffer, offsets, lengths };
}
