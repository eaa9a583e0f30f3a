// IPv4 fragmentation of a packet with DF clear that its path can't carry whole (RFC 791 3.2, RFC 1812
// 5.2.6). overlayd is a router on the overlay, and that is what a router does with such a packet: the
// sender asked for it by leaving DF clear (only old or special UDP senders do; TCP and ping -M do set
// DF and get "fragmentation needed" instead), and the destination host reassembles. IPv6 routers never
// fragment (RFC 8200 5): an IPv6 packet too big always gets "packet too big".
//
// Pure: writes fragments into a caller-owned buffer, each behind one byte of headroom (the inner kind
// the sealer needs), and returns their offsets and lengths.
import { checksum } from './icmp-too-big.js';
import { IPV4_HEADER_MIN } from './ip-packet.js';

const MF = 0x2000;
const DF = 0x4000;

/** True if the IPv4 packet at `off` has DF set. */
export function ipv4DontFragment(pkt: Uint8Array, off: number): boolean {
  return (pkt[off + 6]! & 0x40) !== 0;
}

export interface Fragments {
  /** fragment k is out[offsets[k], offsets[k] + lengths[k]); out[offsets[k] - 1] is free headroom. */
  offsets: number[];
  lengths: number[];
}

/**
 * Cuts the IPv4 packet pkt[off, off+len) (DF clear) into fragments of at most `mtu` bytes in `out`
 * (which needs len + one header and one byte per fragment). Options are refused (a header with options
 * is rare on a tunnel and only some of them may be copied): undefined then, as for a malformed packet.
 */
export function fragmentIpv4(
  out: Uint8Array,
  pkt: Uint8Array,
  off: number,
  len: number,
  mtu: number,
): Fragments | undefined {
  const ihl = (pkt[off]! & 0x0f) * 4;
  const total = (pkt[off + 2]! << 8) | pkt[off + 3]!;
  if (ihl !== IPV4_HEADER_MIN || total !== len || len <= ihl) return undefined;
  const flags = (pkt[off + 6]! << 8) | pkt[off + 7]!;
  if (flags & DF) return undefined;
  const per = Math.floor((mtu - ihl) / 8) * 8;
  if (per <= 0) return undefined;
  const baseOffset = flags & 0x1fff; // the packet may itself be a fragment
  const lastMf = flags & MF;
  const frags: Fragments = { offsets: [], lengths: [] };
  let at = 1;
  for (let data = 0; data < len - ihl; data += per) {
    const n = Math.min(per, len - ihl - data);
    const last = data + n >= len - ihl;
    if (at + ihl + n > out.length) return undefined;
    out.set(pkt.subarray(off, off + ihl), at);
    out.set(pkt.subarray(off + ihl + data, off + ihl + data + n), at + ihl);
    const fl = (baseOffset + data / 8) | (last ? lastMf : MF);
    out[at + 2] = (ihl + n) >> 8;
    out[at + 3] = (ihl + n) & 0xff;
    out[at + 6] = fl >> 8;
    out[at + 7] = fl & 0xff;
    out[at + 10] = 0;
    out[at + 11] = 0;
    const c = checksum(out, at, at + ihl, 0);
    out[at + 10] = c >> 8;
    out[at + 11] = c & 0xff;
    frags.offsets.push(at);
    frags.lengths.push(ihl + n);
    at += ihl + n + 1;
  }
  return frags;
}
