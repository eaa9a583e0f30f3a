// The LANs behind members (peers.yaml `subnets`), as the data plane needs them: for an inner address,
// which subnet holds it (longest-prefix match, prefix-map.ts), who may send from it, and where packets
// for it go. The configuration guarantees subnets never overlap one another or the overlay prefixes, so
// a match is unambiguous; two members listing the same prefix are both its gateways, and
// gateway-choice.ts picks the one that carries traffic.
import type { Cidr } from '../config/types.js';
import type { NodeId } from '../identity/node-id.js';
import type { AcceptedDestinations } from './accepted-destinations.js';
import { ipv4ToNumber, ipv6ToKey } from './ip-packet.js';
import type { Member } from './peer-table.js';
import { PrefixMap } from './prefix-map.js';

export interface SubnetRoute {
  /** Canonical text, e.g. "192.168.50.0/24". */
  readonly prefix: string;
  readonly cidr: Readonly<Cidr>;
  /** The members that list it, in peers.yaml order (this node too, if it does). */
  readonly gateways: readonly Member[];
  /** This node lists it: it is our LAN, written to our TUN and never sent into the overlay. */
  readonly own: boolean;
  /**
   * Where packets for it go now: one of the other gateways (gateway-choice.ts keeps it on the best),
   * undefined for our own subnets. Read per packet.
   */
  gateway: Member | undefined;
}

export interface MemberSubnets {
  member: Member;
  subnets: ReadonlyArray<{ prefix: Readonly<Cidr> }>;
}

export class SubnetTable {
  private readonly lpm = new PrefixMap<SubnetRoute>();
  private list: SubnetRoute[] = [];

  /**
   * Rebuilds the table (start, reload) and refills `accepted` with our own subnets. A subnet keeps the
   * gateway that carried it while that member still lists it, so a reload does not move traffic.
   */
  rebuild(members: Iterable<MemberSubnets>, self: NodeId | undefined, accepted: AcceptedDestinations): void {
    const previous = new Map(this.list.map((r) => [r.prefix, r.gateway?.id]));
    const byPrefix = new Map<string, { cidr: Cidr; gateways: Member[] }>();
    for (const { member, subnets } of members) {
      for (const { prefix } of subnets) {
        const text = `${prefix.address}/${prefix.prefixLength}`;
        let entry = byPrefix.get(text);
        if (!entry) byPrefix.set(text, (entry = { cidr: { ...prefix }, gateways: [] }));
        if (!entry.gateways.includes(member)) entry.gateways.push(member);
      }
    }
    this.lpm.clear();
    this.list = [];
    for (const [prefix, { cidr, gateways }] of byPrefix) {
      const own = gateways.some((g) => g.id === self);
      const others = gateways.filter((g) => g.id !== self);
      const kept = others.find((g) => g.id === previous.get(prefix));
      const route: SubnetRoute = {
        prefix,
        cidr,
        gateways,
        own,
        gateway: own ? undefined : (kept ?? others[0]),
      };
      this.list.push(route);
      if (cidr.family === 4) {
        const net = ipv4ToNumber(cidr.address);
        this.lpm.setIpv4(net, cidr.prefixLength, route);
        if (own) accepted.addIpv4(net, cidr.prefixLength);
      } else {
        const key = ipv6ToKey(cidr.address);
        this.lpm.setIpv6(key, cidr.prefixLength, route);
        if (own) accepted.addIpv6(key, cidr.prefixLength);
      }
    }
  }

  /** The subnet holding IPv4 address `addr` (u32), if any. */
  lookupIpv4(addr: number): SubnetRoute | undefined {
    return this.lpm.getIpv4(addr);
  }

  /** The subnet holding the IPv6 address `key` (16-char latin1), if any. */
  lookupIpv6(key: string): SubnetRoute | undefined {
    return this.lpm.getIpv6(key);
  }

  /** The subnets `member` lists (it may send from them), in peers.yaml order. */
  listedBy(member: Member): SubnetRoute[] {
    return this.list.filter((r) => r.gateways.includes(member));
  }

  /** Every subnet, in peers.yaml order of first mention. */
  routes(): readonly SubnetRoute[] {
    return this.list;
  }
}
