// TCP MSS clamping (peers.yaml network.mssClamp), for hosts that ignore ICMP "too big" (a host firewall
// dropping all ICMP): the MSS option of a SYN or SYN-ACK read from the TUN is lowered to what the path
// to its destination carries, as iptables' TCPMSS --clamp-mss-to-pmtu does on a router. The peer then
// never sends this host segments larger than that; the other direction is clamped by the overlayd at
// the other end, with its own path MTU (links are measured per direction).
//
// Pure: rewrites the packet in place, the TCP checksum updated incrementally (RFC 1624), so a checksum
// the sender left to the NIC (offloads) is already complete here (the TUN read finished it).
const TCP = 6;
const SYN = 0x02;
const OPT_END = 0;
const OPT_NOP = 1;
const OPT_MSS = 2;

/**
 * If pkt[off, off+len) is a TCP SYN (or SYN-ACK) over IPv4 (`version` 4, header options allowed) or IPv6
 * (no extension headers) whose MSS option exceeds what a packet of `mtu` bytes carries, lowers it.
 * Returns true if the packet was changed.
 */
export function clampMss(pkt: Uint8Array, off: number, len: number, version: 4 | 6, mtu: number): boolean {
  let l4: number;
  if (version === 4) {
    if (pkt[off + 9] !== TCP || (pkt[off + 6]! & 0x1f) !== 0 || pkt[off + 7] !== 0) return false;
    l4 = off + (pkt[off]! & 0x0f) * 4;
  } else {
    if (pkt[off + 6] !== TCP) return false;
    l4 = off + 40;
  }
  const end = off + len;
  if (l4 + 20 > end || (pkt[l4 + 13]! & SYN) === 0) return false;
  const optEnd = l4 + (pkt[l4 + 12]! >> 4) * 4;
  if (optEnd > end) return false;
  // MSS = MTU less the IP header (20, or 40) and the 20-byte TCP header, as the sender computed it.
  const max = mtu - (version === 4 ? 20 : 40) - 20;
  for (let o = l4 + 20; o < optEnd;) {
    const kind = pkt[o]!;
    if (kind === OPT_END) break;
    if (kind === OPT_NOP) {
      o++;
      continue;
    }
    if (o + 1 >= optEnd) break;
    const size = pkt[o + 1]!;
    if (size < 2 || o + size > optEnd) break;
    if (kind === OPT_MSS && size === 4) {
      const mss = (pkt[o + 2]! << 8) | pkt[o + 3]!;
      if (mss <= max) return false;
      // RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'), over the 16-bit words (counted from the TCP header)
      // that hold the MSS: one, or two when an odd number of NOPs came before it.
      const first = l4 + ((o + 2 - l4) & ~1);
      const last = l4 + ((o + 3 - l4) & ~1);
      const word = (i: number): number => (pkt[i]! << 8) | (i + 1 < end ? pkt[i + 1]! : 0);
      let sum = ~word(l4 + 16) & 0xffff;
      for (let w = first; w <= last; w += 2) sum += ~word(w) & 0xffff;
      pkt[o + 2] = max >> 8;
      pkt[o + 3] = max & 0xff;
      for (let w = first; w <= last; w += 2) sum += word(w);
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
      const hc = ~sum & 0xffff;
      pkt[l4 + 16] = hc >> 8;
      pkt[l4 + 17] = hc & 0xff;
      return true;
    }
    o += size;
  }
  return false;
}
