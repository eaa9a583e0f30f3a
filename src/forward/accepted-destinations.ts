// Which inner destination addresses a packet from a member may carry to be written to our TUN. By
// default only this node's own overlay addresses: a member reaches us, not whatever sits behind our
// TUN (other interfaces, a LAN the host routes to, the host's forwarding). Kept as prefix lists so
// subnets a node declares (routes behind it) can be added later without touching the packet path.
import type { Member } from './peer-table.js';

export interface Prefix4 {
  net: number;
  mask: number;
}

export interface Prefix6 {
  /** 16-char latin1 key (ip-packet.ts ipv6ToKey). */
  net: string;
  bits: number;
}

export class AcceptedDestinations {
  private readonly v4: Prefix4[] = [];
  private readonly v6: Prefix6[] = [];

  /** A node's own overlay addresses (IPv4 and, if it has one, IPv6). */
  static ownAddresses(self: Pick<Member, 'addr4' | 'addr6Key'>): AcceptedDestinations {
    const d = new AcceptedDestinations();
    d.addIpv4(self.addr4, 32);
    if (self.addr6Key !== undefined) d.addIpv6(self.addr6Key, 128);
    return d;
  }

  addIpv4(net: number, prefixLength: number): void {
    const mask = prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
    this.v4.push({ net: (net & mask) >>> 0, mask });
  }

  addIpv6(net: string, prefixLength: number): void {
    this.v6.push({ net, bits: prefixLength });
  }

  /** The IPv4 prefixes (network and mask as u32), for the native inner check (deliver-ip.ts). */
  ipv4Prefixes(): ReadonlyArray<Readonly<Prefix4>> {
    return this.v4;
  }

  /** The IPv6 prefixes (network as a 16-char latin1 key, prefix length), for the native inner check. */
  ipv6Prefixes(): ReadonlyArray<Readonly<Prefix6>> {
    return this.v6;
  }

  acceptsIpv4(addr: number): boolean {
    for (const p of this.v4) if ((addr & p.mask) >>> 0 === p.net) return true;
    return false;
  }

  acceptsIpv6(key: string): boolean {
    for (const p of this.v6) if (matches6(key, p)) return true;
    return false;
  }
}

function matches6(key: string, p: Prefix6): boolean {
  const whole = p.bits >> 3;
  if (key.slice(0, whole) !== p.net.slice(0, whole)) return false;
  const rest = p.bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (key.charCodeAt(whole) & mask) === (p.net.charCodeAt(whole) & mask);
}
