// The last step inbound: an opened IP packet from member `src` goes to the TUN only if its inner
// source address is that member's (cryptokey routing: a member can't speak for another address) and
// its inner destination is one this node accepts (accepted-destinations.ts: by default our own
// overlay addresses, so a member can't reach what lies behind our TUN).
import type { NodeId } from '../identity/node-id.js';
import type { AcceptedDestinations } from './accepted-destinations.js';
import type { ForwardContext } from './context.js';
import { ipTotalLength, ipv4Dst, ipv4Src, ipv6Dst, ipv6Src, ipVersion } from './ip-packet.js';

export function deliverIp(
  dp: ForwardContext,
  accepted: AcceptedDestinations,
  buf: Buffer,
  off: number,
  len: number,
  src: NodeId,
): void {
  const version = ipVersion(buf, off, len);
  if (version === 0) return dp.counters.drop('not-ip');
  const member = dp.peers.get(src);
  if (!member) return dp.counters.drop('not-for-member');
  if (version === 4 ? ipv4Src(buf, off) !== member.addr4 : ipv6Src(buf, off) !== member.addr6Key) {
    return dp.counters.drop('spoofed-source');
  }
  if (version === 4 ? !accepted.acceptsIpv4(ipv4Dst(buf, off)) : !accepted.acceptsIpv6(ipv6Dst(buf, off))) {
    return dp.counters.drop('not-local-destination');
  }
  const total = ipTotalLength(buf, off, version);
  if (total > len || total < (version === 4 ? 20 : 40)) return dp.counters.drop('bad-inner');
  if (!dp.tun.write(buf, off, total)) return dp.counters.drop('tun-full');
  const t = dp.counters.peer(src);
  t.rxPackets++;
  t.rxBytes += total;
}
