// Who the members are, from the data plane's point of view: inner address → member (cryptokey routing:
// a member's overlay address, or a LAN it is a gateway for, subnet-table.ts), what we accept to our TUN
// (accepted-destinations.ts), and underlay endpoint → member (which neighbour a datagram came from,
// endpoint-bindings.ts).
import type { Cidr } from '../config/types.js';
import type { NodeId } from '../identity/node-id.js';
import { endpointFromKey, endpointKey, type Endpoint } from '../transport/transport.js';
import { AcceptedDestinations } from './accepted-destinations.js';
import { EndpointBindings, type BindResult } from './endpoint-bindings.js';
import { ipv4ToNumber, ipv6ToKey } from './ip-packet.js';
import { SubnetTable, type MemberSubnets } from './subnet-table.js';

export interface Member {
  id: NodeId;
  name: string;
  publicKey: Buffer;
  address: string;
  address6?: string;
  /** Overlay IPv4 address as a number (the TUN lookup key). */
  addr4: number;
  /** Overlay IPv6 address as a 16-char latin1 key, if any. */
  addr6Key?: string;
  /** Underlay endpoint keys to try when there is no route yet (configured, resolved). */
  endpointKeys: string[];
}

export interface MemberInit {
  id: NodeId;
  name: string;
  publicKey: Buffer;
  address: string;
  address6?: string;
  /** LANs behind the member (peers.yaml `subnets`). */
  subnets?: ReadonlyArray<{ prefix: Readonly<Cidr> }>;
}

/** How long a reverse route learned from an inbound relayed packet may be used as a fallback. */
const REVERSE_HINT_TTL_MS = 10_000;
/**
 * Endpoint objects kept for lookup by key, beyond which the oldest are let go (and rebuilt from the key
 * if asked for again): the addresses in use are a few per member, but over months a roaming member
 * uses many, and none may stay forever.
 */
const MAX_INTERNED_BASE = 256;
const MAX_INTERNED_PER_MEMBER = 16;

export interface ReverseHint {
  relays: NodeId[];
  via: Endpoint;
  at: number;
}

export class PeerTable {
  private readonly byId = new Map<NodeId, Member>();
  private readonly byAddr4 = new Map<number, Member>();
  private readonly byAddr6 = new Map<string, Member>();
  /** Underlay endpoints (`ip:port`) proven to belong to a member. */
  private readonly bindings = new EndpointBindings();
  private readonly endpointObjects = new Map<string, Endpoint>();
  private readonly reverseHints = new Map<NodeId, ReverseHint>();
  /** The LANs behind members; each one's `gateway` is kept on the best by gateway-choice.ts. */
  readonly subnets = new SubnetTable();
  /** Inner destinations we write to our TUN: our addresses and our subnets (empty without `self`). */
  readonly accepted = new AcceptedDestinations();

  /** `self`: this node, whose addresses and subnets are accepted and whose subnets are not routed out. */
  constructor(
    members: Iterable<MemberInit>,
    private readonly self?: NodeId,
  ) {
    this.setMembers(members);
  }

  /** Replaces the member list (start and reload). Learned state for members still present is kept. */
  setMembers(members: Iterable<MemberInit>): void {
    const previous = new Map(this.byId);
    this.byId.clear();
    this.byAddr4.clear();
    this.byAddr6.clear();
    const withSubnets: MemberSubnets[] = [];
    for (const { subnets, ...m } of members) {
      const member: Member = {
        ...m,
        endpointKeys: previous.get(m.id)?.endpointKeys ?? [],
        addr4: ipv4ToNumber(m.address),
        addr6Key: m.address6 ? ipv6ToKey(m.address6) : undefined,
      };
      this.byId.set(m.id, member);
      this.byAddr4.set(member.addr4, member);
      if (member.addr6Key) this.byAddr6.set(member.addr6Key, member);
      if (subnets && subnets.length > 0) withSubnets.push({ member, subnets });
    }
    this.accepted.clear();
    const me = this.self === undefined ? undefined : this.byId.get(this.self);
    if (me) this.accepted.addOwnAddresses(me);
    this.subnets.rebuild(withSubnets, this.self, this.accepted);
    for (const id of previous.keys()) if (!this.byId.has(id)) this.bindings.forget(id);
    for (const id of this.reverseHints.keys()) if (!this.byId.has(id)) this.reverseHints.delete(id);
  }

  /** Sets the configured endpoints of a member (after name resolution). */
  setEndpoints(id: NodeId, endpoints: Endpoint[]): string[] {
    const member = this.byId.get(id);
    const keys = endpoints.map((e) => this.internEndpoint(e));
    if (member) member.endpointKeys = keys;
    return keys;
  }

  get(id: NodeId): Member | undefined {
    return this.byId.get(id);
  }

  has(id: NodeId): boolean {
    return this.byId.has(id);
  }

  all(): IterableIterator<Member> {
    return this.byId.values();
  }

  byIpv4(addr: number): Member | undefined {
    return this.byAddr4.get(addr);
  }

  byIpv6(key: string): Member | undefined {
    return this.byAddr6.get(key);
  }

  /**
   * Where a packet read from the TUN for IPv4 `addr` goes: the member with that overlay address, else
   * the gateway now carrying the member subnet that holds it (longest-prefix match, one probe per
   * prefix length in use). Undefined for an address no member serves, and for our own subnets.
   */
  routeIpv4(addr: number): Member | undefined {
    return this.byAddr4.get(addr) ?? this.subnets.lookupIpv4(addr)?.gateway;
  }

  routeIpv6(key: string): Member | undefined {
    return this.byAddr6.get(key) ?? this.subnets.lookupIpv6(key)?.gateway;
  }

  /** True if `member` may send from IPv4 `addr`: its overlay address, or inside a subnet it lists. */
  isSourceIpv4(member: Member, addr: number): boolean {
    return addr === member.addr4 || (this.subnets.lookupIpv4(addr)?.gateways.includes(member) ?? false);
  }

  isSourceIpv6(member: Member, key: string): boolean {
    return key === member.addr6Key || (this.subnets.lookupIpv6(key)?.gateways.includes(member) ?? false);
  }

  /** The endpoint object for a key (interned, so the hot path looks it up without allocating). */
  endpoint(key: string): Endpoint | undefined {
    return this.endpointObjects.get(key) ?? this.intern(endpointFromKey(key), key);
  }

  internEndpoint(e: Endpoint): string {
    const key = endpointKey(e);
    if (!this.endpointObjects.has(key)) this.intern(e, key);
    return key;
  }

  /** Called with each endpoint that gets bound to a member (true) or loses its binding (false). */
  onBindingChange(listener: (endpoint: Endpoint, bound: boolean) => void): void {
    this.bindings.onChange((key, bound) => {
      const endpoint = endpointFromKey(key);
      if (endpoint !== undefined) listener(endpoint, bound);
    });
  }

  /** `member` answered a probe we sent to `key` (see endpoint-bindings.ts). */
  bind(key: string, member: NodeId, now: number): BindResult {
    return this.bindings.bind(key, member, now);
  }

  /** The member proven to be at this endpoint, if the proof is recent. */
  boundMember(key: string, now: number): NodeId | undefined {
    return this.bindings.memberAt(key, now);
  }

  /** The member proven at this endpoint within the handshake horizon (endpoint-bindings.ts). */
  handshakeMember(key: string, now: number): NodeId | undefined {
    return this.bindings.handshakeMemberAt(key, now);
  }

  /** Drops expired endpoint bindings. */
  sweep(now: number): void {
    this.bindings.sweep(now);
  }

  private intern(e: Endpoint | undefined, key: string): Endpoint | undefined {
    if (!e) return undefined;
    const copy: Endpoint = e.via
      ? { host: e.host, port: e.port, via: e.via }
      : { host: e.host, port: e.port };
    this.endpointObjects.set(key, copy);
    const cap = MAX_INTERNED_BASE + MAX_INTERNED_PER_MEMBER * this.byId.size;
    if (this.endpointObjects.size > cap) {
      const oldest = this.endpointObjects.keys().next().value;
      if (oldest !== undefined) this.endpointObjects.delete(oldest);
    }
    return copy;
  }

  noteReverseRoute(src: NodeId, relays: NodeId[], via: Endpoint, now: number): void {
    this.reverseHints.set(src, { relays, via, at: now });
  }

  /** A route back to `dst` learned from its own relayed packets: used when routing has none yet. */
  reverseRoute(dst: NodeId, now: number): ReverseHint | undefined {
    const h = this.reverseHints.get(dst);
    return h && now - h.at < REVERSE_HINT_TTL_MS ? h : undefined;
  }
}
