// Which inner destination addresses a packet from a member may carry to be written to our TUN: this
// node's own overlay addresses and the subnets it is a gateway for (peers.yaml `subnets`). A member
// reaches us and our LANs, not whatever else sits behind our TUN (other interfaces, networks the host
// routes to, the host's forwarding). PeerTable keeps it in step with the configuration.
import type { Member } from './peer-table.js';
import { PrefixMap } from './prefix-map.js';

export interface Prefix4 {
  net: number;
  mask: number;
}

export interface Prefix6 {
  /** 16-char latin1 key (ip-packet.ts ipv6ToKey). */
  net: string;
  bits: number;
}

/** The IPv4 prefix `net`/`prefixLength` as network and mask (host bits of `net` cleared). */
export function prefix4(net: number, prefixLength: number): Prefix4 {
  const mask = prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
  return { net: (net & mask) >>> 0, mask };
}

export class AcceptedDestinations {
  private readonly prefixes = new PrefixMap<true>();
  private readonly v4: Prefix4[] = [];
  private readonly v6: Prefix6[] = [];
  /**
   * Bumped by every change: copies of the lists (the native block, deliver-ip.ts) compare it to know
   * they are stale after a reload.
   */
  version = 0;

  /** A node's own overlay addresses (IPv4 and, if it has one, IPv6). */
  static ownAddresses(self: Pick<Member, 'addr4' | 'addr6Key'>): AcceptedDestinations {
    const d = new AcceptedDestinations();
    d.addOwnAddresses(self);
    return d;
  }

  addOwnAddresses(self: Pick<Member, 'addr4' | 'addr6Key'>): void {
    this.addIpv4(self.addr4, 32);
    if (self.addr6Key !== undefined) this.addIpv6(self.addr6Key, 128);
  }

  addIpv4(net: number, prefixLength: number): void {
    this.prefixes.setIpv4(net, prefixLength, true);
    this.v4.push(prefix4(net, prefixLength));
    this.version++;
  }

  addIpv6(net: string, prefixLength: number): void {
    this.prefixes.setIpv6(net, prefixLength, true);
    this.v6.push({ net, bits: prefixLength });
    this.version++;
  }

  /** Forgets every prefix (a reload refills it). */
  clear(): void {
    this.prefixes.clear();
    this.v4.length = 0;
    this.v6.length = 0;
    this.version++;
  }

  /** One probe per prefix length in use (prefix-map.ts), however many subnets this node serves. */
  acceptsIpv4(addr: number): boolean {
    return this.prefixes.getIpv4(addr) === true;
  }

  acceptsIpv6(key: string): boolean {
    return this.prefixes.getIpv6(key) === true;
  }

  /** The IPv4 prefixes (network and mask as u32), for the native inner check (deliver-ip.ts). */
  ipv4Prefixes(): ReadonlyArray<Readonly<Prefix4>> {
    return this.v4;
  }

  /** The IPv6 prefixes (network as a 16-char latin1 key, prefix length), for the native inner check. */
  ipv6Prefixes(): ReadonlyArray<Readonly<Prefix6>> {
    return this.v6;
  }
}
