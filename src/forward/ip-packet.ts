// Just enough IP parsing for cryptokey routing: version, source and destination of a packet, as keys
// that index the peer table without allocating (IPv4 as a u32, IPv6 as a 16-char latin1 string).
import { isIPv4, isIPv6 } from 'node:net';

export const IPV4_HEADER_MIN = 20;
export const IPV6_HEADER_BYTES = 40;

/** The IP version (4 or 6) of the packet at `off`, or 0 if it is too short or neither. */
export function ipVersion(buf: Uint8Array, off: number, len: number): 0 | 4 | 6 {
  if (len < 1) return 0;
  const v = buf[off] >> 4;
  if (v === 4 && len >= IPV4_HEADER_MIN) return 4;
  if (v === 6 && len >= IPV6_HEADER_BYTES) return 6;
  return 0;
}

export function ipv4Dst(buf: Uint8Array, off: number): number {
  return ((buf[off + 16] << 24) | (buf[off + 17] << 16) | (buf[off + 18] << 8) | buf[off + 19]) >>> 0;
}

export function ipv4Src(buf: Uint8Array, off: number): number {
  return ((buf[off + 12] << 24) | (buf[off + 13] << 16) | (buf[off + 14] << 8) | buf[off + 15]) >>> 0;
}

export function ipv6Dst(buf: Buffer, off: number): string {
  return buf.toString('latin1', off + 24, off + 40);
}

export function ipv6Src(buf: Buffer, off: number): string {
  return buf.toString('latin1', off + 8, off + 24);
}

/** True for 224.0.0.0/4 and 255.255.255.255: never forwarded to a member. */
export function isIpv4Multicast(addr: number): boolean {
  return addr >>> 28 === 0xe || addr === 0xffffffff;
}

/** True for ff00::/8 (link-local router solicitations and the like that the kernel sends into a new TUN). */
export function isIpv6Multicast(key: string): boolean {
  return key.charCodeAt(0) === 0xff;
}

/** The length field of the IP header; a packet shorter than it is truncated. */
export function ipTotalLength(buf: Uint8Array, off: number, version: 4 | 6): number {
  return version === 4
    ? (buf[off + 2] << 8) | buf[off + 3]
    : IPV6_HEADER_BYTES + ((buf[off + 4] << 8) | buf[off + 5]);
}

export function ipv4ToNumber(addr: string): number {
  if (!isIPv4(addr)) throw new RangeError(`not an IPv4 address: ${addr}`);
  return addr.split('.').reduce((n, part) => ((n << 8) | Number(part)) >>> 0, 0);
}

export function numberToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** An IPv6 literal as the 16-char latin1 key used by ipv6Src/ipv6Dst. */
export function ipv6ToKey(addr: string): string {
  if (!isIPv6(addr)) throw new RangeError(`not an IPv6 address: ${addr}`);
  return ipv6ToBytes(addr).toString('latin1');
}

export function ipv6ToBytes(addr: string): Buffer {
  const [head, tail] = addr.includes('::') ? addr.split('::') : [addr, undefined];
  const parse = (s: string): number[] => (s ? s.split(':').flatMap(group) : []);
  const h = parse(head);
  const t = tail === undefined ? [] : parse(tail);
  const zeros = tail === undefined ? 0 : 8 - h.length - t.length;
  const groups = [...h, ...new Array<number>(zeros).fill(0), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

// An embedded IPv4 tail ("::ffff:1.2.3.4") counts as two groups.
function group(s: string): number[] {
  if (s.includes('.')) {
    const n = ipv4ToNumber(s);
    return [n >>> 16, n & 0xffff];
  }
  return [parseInt(s, 16)];
}
