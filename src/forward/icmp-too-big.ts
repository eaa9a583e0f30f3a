// ICMP "fragmentation needed" (IPv4, RFC 792 / RFC 1191: type 3 code 4 with the next-hop MTU) and ICMPv6
// "packet too big" (RFC 4443: type 2 with the MTU) for a packet read from the TUN that its path can't
// carry. Written back to the TUN, they tell the sending host's stack the path MTU (its TCP lowers its
// segment size, its route cache keeps the MTU for the destination).
//
// Pure: builds into a caller-owned buffer, returns the length (0 when no error may be sent for this
// packet: never an error about an ICMP error, nor about a non-first fragment, RFC 1122 3.2.2 / RFC 4443
// 2.4(e)).
import { IPV4_HEADER_MIN, IPV6_HEADER_BYTES } from './ip-packet.js';

/** An ICMPv4 error is at most 576 bytes with its quote (RFC 1812 4.3.2.3). */
export const ICMP4_MAX_BYTES = 576;
/** An ICMPv6 error is at most the IPv6 minimum MTU with its quote (RFC 4443 2.4(c)). */
export const ICMP6_MAX_BYTES = 1280;
const ICMP_HEADER_BYTES = 8;
const PROTO_ICMP = 1;
const PROTO_ICMPV6 = 58;
const HOP_LIMIT = 64;

/**
 * IPv4 type 3 code 4 for the packet at pkt[off, off+len), from `src` (4 bytes) to the packet's source,
 * quoting its header and as much of its data as fits 576 bytes. `mtu` is the next-hop (path) MTU.
 */
export function writeFragNeeded(
  out: Uint8Array,
  pkt: Uint8Array,
  off: number,
  len: number,
  src: Uint8Array,
  mtu: number,
): number {
  const ihl = (pkt[off]! & 0x0f) * 4;
  if (len < IPV4_HEADER_MIN || ihl < IPV4_HEADER_MIN || ihl > len) return 0;
  const fragOffset = ((pkt[off + 6]! & 0x1f) << 8) | pkt[off + 7]!;
  if (fragOffset !== 0) return 0;
  if (pkt[off + 9] === PROTO_ICMP && (len < ihl + 1 || isIcmp4Error(pkt[off + ihl]!))) return 0;
  const quote = Math.min(len, ICMP4_MAX_BYTES - IPV4_HEADER_MIN - ICMP_HEADER_BYTES);
  const total = IPV4_HEADER_MIN + ICMP_HEADER_BYTES + quote;
  const v = view(out);
  out.fill(0, 0, IPV4_HEADER_MIN + ICMP_HEADER_BYTES);
  out[0] = 0x45;
  out[1] = 0xc0; // precedence "internetwork control", as routers send errors (RFC 1812 4.3.2.5)
  v.setUint16(2, total);
  out[8] = HOP_LIMIT;
  out[9] = PROTO_ICMP;
  out.set(src.subarray(0, 4), 12);
  out.set(pkt.subarray(off + 12, off + 16), 16); // to the packet's source
  v.setUint16(10, checksum(out, 0, IPV4_HEADER_MIN, 0));
  const icmp = IPV4_HEADER_MIN;
  out[icmp] = 3;
  out[icmp + 1] = 4;
  v.setUint16(icmp + 6, mtu);
  out.set(pkt.subarray(off, off + quote), icmp + ICMP_HEADER_BYTES);
  v.setUint16(icmp + 2, checksum(out, icmp, total, 0));
  return total;
}

/**
 * ICMPv6 type 2 for the packet at pkt[off, off+len), from `src` (16 bytes) to the packet's source,
 * quoting as much of it as fits 1280 bytes.
 */
export function writePacketTooBig(
  out: Uint8Array,
  pkt: Uint8Array,
  off: number,
  len: number,
  src: Uint8Array,
  mtu: number,
): number {
  if (len < IPV6_HEADER_BYTES) return 0;
  // An ICMPv6 error right after the fixed header is never answered; one behind extension headers is
  // rare enough to answer (the sender then ignores it).
  if (pkt[off + 6] === PROTO_ICMPV6 && (len <= IPV6_HEADER_BYTES || pkt[off + IPV6_HEADER_BYTES]! < 128))
    return 0;
  const quote = Math.min(len, ICMP6_MAX_BYTES - IPV6_HEADER_BYTES - ICMP_HEADER_BYTES);
  const payload = ICMP_HEADER_BYTES + quote;
  const v = view(out);
  out.fill(0, 0, IPV6_HEADER_BYTES + ICMP_HEADER_BYTES);
  out[0] = 0x60;
  v.setUint16(4, payload);
  out[6] = PROTO_ICMPV6;
  out[7] = HOP_LIMIT;
  out.set(src.subarray(0, 16), 8);
  out.set(pkt.subarray(off + 8, off + 24), 24); // to the packet's source
  const icmp = IPV6_HEADER_BYTES;
  out[icmp] = 2;
  v.setUint32(icmp + 4, mtu);
  out.set(pkt.subarray(off, off + quote), icmp + ICMP_HEADER_BYTES);
  // Pseudo-header (RFC 8200 8.1): source, destination, upper-layer length, next header.
  const pseudo = sum(out, 8, 40, 0) + payload + PROTO_ICMPV6;
  v.setUint16(icmp + 2, checksum(out, icmp, icmp + payload, pseudo));
  return IPV6_HEADER_BYTES + payload;
}

/** ICMPv4 error types (RFC 1122 3.2.2): unreachable, source quench, redirect, time exceeded, parameter. */
function isIcmp4Error(type: number): boolean {
  return type === 3 || type === 4 || type === 5 || type === 11 || type === 12;
}

/** The Internet checksum (RFC 1071) of b[from, to) plus `initial`; never 0 bits left for a zero sum. */
export function checksum(b: Uint8Array, from: number, to: number, initial: number): number {
  let s = sum(b, from, to, initial);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** Unfolded one's-complement sum of big-endian 16-bit words of b[from, to) (an odd end padded with 0). */
function sum(b: Uint8Array, from: number, to: number, initial: number): number {
  let s = initial;
  let i = from;
  for (; i + 1 < to; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if (i < to) s += b[i]! << 8;
  return s;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}
