// The last step inbound: an opened IP packet from member `src` goes to the TUN only if its inner
// source address is that member's (cryptokey routing: a member can't speak for another address).
import type { NodeId } from '../identity/node-id.js';
import type { DataPlane } from './data-plane.js';
import { ipTotalLength, ipv4Src, ipv6Src, ipVersion } from './ip-packet.js';

const ONE = { offsets: new Uint32Array(1), lengths: new Uint32Array(1) };

export function deliverIp(dp: DataPlane, buf: Buffer, off: number, len: number, src: NodeId): void {
  const version = ipVersion(buf, off, len);
  if (version === 0) return dp.counters.drop('not-ip');
  const member = dp.peers.get(src);
  if (!member) return dp.counters.drop('not-for-member');
  if (version === 4 ? ipv4Src(buf, off) !== member.addr4 : ipv6Src(buf, off) !== member.addr6Key) {
    return dp.counters.drop('spoofed-source');
  }
  const total = ipTotalLength(buf, off, version);
  if (total > len || total < (version === 4 ? 20 : 40)) return dp.counters.drop('bad-inner');
  ONE.offsets[0] = off;
  ONE.lengths[0] = total;
  const w = dp.tun.writeBatch(buf, ONE.offsets, ONE.lengths, 1);
  if (w.dropped > 0) return dp.counters.drop('tun-full');
  if (w.failed > 0) return dp.counters.drop('tun-error');
  const t = dp.counters.peer(src);
  t.rxPackets++;
  t.rxBytes += total;
}
