// Path MTU (issue 12 part 3), the data plane's side; the search itself is pure (link-mtu-search.ts).
//
//   1. per alive endpoint of a member (its IPv4 and IPv6 paths, listed or learned), a LinkMtuSearch,
//      not only for the endpoint in use: the prober moves between them (a loss burst on one is enough),
//      and a move to an endpoint never measured would start from the floor and hand hosts a smaller
//      MTU for a second. Its rounds become MtuProbe packets: sealed,
//      direct, padded to the datagram size under test. The socket sets DF and ignores the kernel's PMTU
//      cache (IP_PMTUDISC_PROBE, native/udp.c), so a probe larger than the path is lost, not fragmented,
//      and one larger than the interface is refused by the kernel (a loss as well)
//   2. the member answers each with MtuProbeReply carrying the datagram size it received (small, so the
//      answer measures our direction only)
//   3. a path's MTU (the largest IP packet the TUN may hand it): the smallest link datagram along it,
//      less the routed header's relays and the seal (wire/sizes.ts pathMtu), at most the TUN's MTU.
//      Our first hop is measured here; each hop beyond it as its origin measured it and advertised it
//      (routing/advert.ts link MTUs: every node publishes what its searches found, via
//      RoutePort.setOwnLinkMtu). A hop whose origin says nothing counts as the network's largest datagram
//   4. `suspect`: the path watch lost data-sized probes on a path (path-watch.ts): its first link
//      searches again at once
import type { NodeId } from '../identity/node-id.js';
import type { ForwardContext } from '../forward/context.js';
import type { NextHops, Target } from '../forward/next-hop.js';
import type { EndpointPort } from '../forward/ports.js';
import type { Sealer } from '../forward/sealer.js';
import { endpointKey, type Endpoint } from '../transport/transport.js';
import { InnerKind } from '../wire/constants.js';
import type { RoutedHeader } from '../wire/routed-header.js';
import { directPlaintextBytes, maxDatagramBytes, MIN_LINK_DATAGRAM, pathMtu } from '../wire/sizes.js';
import { DEFAULT_LINK_MTU, LinkMtuSearch, type LinkMtuParams, type LinkMtuPhase } from './link-mtu-search.js';

/** How often (at most) members are looked over for links that came up or changed endpoint. */
const CHECK_INTERVAL_MS = 1000;
/** MtuProbeReply: kind, u16 datagram bytes received. */
const REPLY_BYTES = 3;

/** Underlay paths (endpoints) remembered per member: IPv4 and IPv6, listed and reflexive. */
const MAX_ENDPOINTS_PER_MEMBER = 4;

interface LinkState {
  endpointKey: string;
  search: LinkMtuSearch;
  /** The prober's view of the endpoint, at the last look over members. */
  alive: boolean;
  srttMs: number;
  /** The size last logged: one line per change, not per round. */
  logged: number;
}

export interface LinkMtuStatus {
  member: NodeId;
  /** Largest datagram (UDP payload) the link carries, as far as known. */
  datagramBytes: number;
  /** Largest IP packet a direct path over it takes. */
  mtu: number;
  state: 'searching' | 'settled';
}

export class MtuChannel {
  /** Per member, per endpoint: every alive endpoint is searched, and what a search found stays while
   *  the endpoint is down a moment (a lost probe too many). */
  private readonly endpoints = new Map<NodeId, Map<string, LinkState>>();
  /** The current link of each member (an entry of `endpoints`). */
  private readonly links = new Map<NodeId, LinkState>();
  private readonly params: LinkMtuParams;
  private readonly scratch: Buffer;
  private nextCheckAt = -Infinity;
  /**
   * nextWakeAt's answer until a search or a link changes (tick, suspect, onReply, forget): it is
   * asked on every poke of the node's timer, a packet at a time, and walks every endpoint.
   */
  private wakeAt: number | undefined;
  probesSent = 0;
  repliesReceived = 0;

  constructor(
    private readonly ctx: ForwardContext,
    private readonly nextHops: NextHops,
    private readonly sealer: Sealer,
    params?: Partial<LinkMtuParams>,
  ) {
    const top = maxDatagramBytes(ctx.tun.mtu);
    this.params = { ...DEFAULT_LINK_MTU, floor: MIN_LINK_DATAGRAM, top, ...params };
    this.scratch = Buffer.alloc(directPlaintextBytes(this.params.top));
  }

  /** The largest IP packet `target`'s path to `dst` takes (see 3. above). */
  pathMtu(dst: NodeId, target: Target): number {
    const { router } = this.ctx;
    let smallest = this.links.get(target.nextHop)?.search.mtu ?? this.params.top;
    const { relays } = target;
    for (let i = 0; i < relays.length; i++) {
      const hop = router.linkMtu(relays[i], i + 1 < relays.length ? relays[i + 1] : dst);
      if (hop !== undefined) smallest = Math.min(smallest, hop);
    }
    return Math.min(this.ctx.tun.mtu, pathMtu(smallest, relays.length));
  }

  /** The MTU of the path packets for `dst` take now; the TUN's MTU while there is none. */
  pathMtuTo(dst: NodeId, now: number): number {
    return this.pathMtuOf(dst, now) ?? this.ctx.tun.mtu;
  }

  /** The MTU of the path packets for `dst` take now, if there is one (status, metrics). */
  pathMtuOf(dst: NodeId, now: number): number | undefined {
    const target = this.nextHops.target(dst, now);
    return target && this.pathMtu(dst, target);
  }

  /** The datagram size our direct link to `member` carries, if it is being measured. */
  linkDatagram(member: NodeId): number | undefined {
    return this.links.get(member)?.search.mtu;
  }

  /** Large packets stopped arriving over the path whose first hop is `member`. */
  suspect(member: NodeId, now: number): void {
    const link = this.links.get(member);
    if (!link) return;
    this.wakeAt = undefined;
    link.search.suspect(now);
    this.ctx.wake();
  }

  /**
   * The searches' rounds only: the look over members for links that came up rides on the ticks the
   * prober's own wake-ups cause (several a second), so an idle node wakes no more often for it.
   */
  nextWakeAt(): number {
    if (this.wakeAt !== undefined) return this.wakeAt;
    let at = Infinity;
    for (const known of this.endpoints.values()) {
      for (const link of known.values()) if (link.alive) at = Math.min(at, link.search.nextWakeAt());
    }
    return (this.wakeAt = at);
  }

  tick(now: number): void {
    if (now >= this.nextCheckAt) {
      this.nextCheckAt = now + CHECK_INTERVAL_MS;
      this.refreshLinks(now);
    }
    for (const [member, known] of this.endpoints) {
      for (const link of known.values()) {
        if (!link.alive || link.search.nextWakeAt() > now) continue;
        for (const size of link.search.tick(now, link.srttMs)) this.sendProbe(member, link, size, now);
        this.logChange(member, link);
      }
    }
    this.wakeAt = undefined;
  }

  /** A probe from `h.src`, direct only: answer with the size it arrived at. */
  onProbe(data: Buffer, h: RoutedHeader, from: Endpoint, now: number): void {
    const { ctx } = this;
    if (h.routeLen !== 0) return ctx.counters.drop('bad-inner');
    const keypair = ctx.sessions.sendKeypair(h.src, now);
    if (!keypair) return;
    const reply = Buffer.allocUnsafe(REPLY_BYTES);
    reply[0] = InnerKind.MtuProbeReply;
    reply.writeUInt16BE(Math.min(data.length, 0xffff), 1);
    this.sealer.seal(keypair, h.src, { relays: [], nextHop: h.src, endpoint: from }, reply, now, false);
  }

  /** An answer to one of our probes, from the endpoint that probe went to (it measured that path). */
  onReply(data: Buffer, h: RoutedHeader, pt: number, n: number, from: Endpoint, now: number): void {
    if (h.routeLen !== 0 || n !== REPLY_BYTES) return this.ctx.counters.drop('bad-inner');
    const link = this.endpoints.get(h.src)?.get(endpointKey(from));
    if (!link) return;
    this.wakeAt = undefined;
    this.repliesReceived++;
    if (link.search.onReply(data.readUInt16BE(pt + 1), now)) this.ctx.wake();
    this.logChange(h.src, link);
  }

  /** Every link's MTU, for status and metrics. */
  status(): LinkMtuStatus[] {
    return [...this.links].map(([member, { search }]) => ({
      member,
      datagramBytes: search.mtu,
      mtu: Math.min(this.ctx.tun.mtu, pathMtu(search.mtu, 0)),
      state: search.state,
    }));
  }

  /** What the search on one endpoint of `member` found so far (every alive endpoint has one). */
  endpointMtu(
    member: NodeId,
    endpointKey: string,
  ): { datagramBytes: number; state: LinkMtuPhase } | undefined {
    const search = this.endpoints.get(member)?.get(endpointKey)?.search;
    return search && { datagramBytes: search.mtu, state: search.state };
  }

  /** Drops state kept for a member that left the configuration. */
  forget(member: NodeId): void {
    this.wakeAt = undefined;
    this.links.delete(member);
    this.endpoints.delete(member);
  }

  /**
   * Every alive endpoint of each member gets its search (a new one starts optimistic, see
   * link-mtu-search.ts); the current link is the one the prober's best endpoint uses. An endpoint
   * that is down keeps its search, paused: unanswered probes on a dead path would read as "too big".
   */
  private refreshLinks(now: number): void {
    const { ctx } = this;
    for (const m of ctx.peers.all()) {
      if (m.id === ctx.self) continue;
      const view = ctx.prober.link(m.id);
      let known = this.endpoints.get(m.id);
      if (!view && !known) continue;
      if (!known) this.endpoints.set(m.id, (known = new Map()));
      for (const ep of ctx.prober.endpoints(m.id)) this.track(known, ep, now);
      const current = view?.alive === true ? known.get(view.endpointKey) : undefined;
      if (this.links.get(m.id) === current) continue;
      if (current) {
        this.links.set(m.id, current);
        this.publish(m.id, current);
      } else this.links.delete(m.id);
    }
  }

  /** Brings `known`'s entry for `ep` up to date: created when first alive, paused while down. */
  private track(known: Map<string, LinkState>, ep: EndpointPort, now: number): void {
    let link = known.get(ep.endpointKey);
    if (!link) {
      if (!ep.alive) return;
      if (known.size >= MAX_ENDPOINTS_PER_MEMBER) known.delete(known.keys().next().value!);
      const search = new LinkMtuSearch(this.params, now);
      link = { endpointKey: ep.endpointKey, search, alive: true, srttMs: ep.srttMs, logged: search.mtu };
      known.set(ep.endpointKey, link);
    }
    if (link.alive && !ep.alive) link.search.abandonRound(now);
    link.alive = ep.alive;
    link.srttMs = ep.srttMs;
  }

  /** Tells routing what `member`'s link carries, to advertise: nothing while it is the top. */
  private publish(member: NodeId, link: LinkState): void {
    const bytes = link.search.mtu;
    this.ctx.router.setOwnLinkMtu(member, bytes >= this.params.top ? undefined : bytes);
  }

  private logChange(member: NodeId, link: LinkState): void {
    const bytes = link.search.mtu;
    if (bytes === link.logged) return;
    if (this.links.get(member) === link) this.publish(member, link);
    const name = this.ctx.peers.get(member)?.name ?? String(member);
    const direct = Math.min(this.ctx.tun.mtu, pathMtu(bytes, 0));
    this.ctx.log.info(
      `link MTU to ${name} (${link.endpointKey}): ${bytes} B datagrams (was ${link.logged}), direct path MTU ` +
        `${direct}${link.search.state === 'searching' ? ', still searching' : ''}`,
    );
    link.logged = bytes;
  }

  private sendProbe(member: NodeId, link: LinkState, size: number, now: number): void {
    const { ctx } = this;
    const keypair = ctx.sessions.sendKeypair(member, now);
    const endpoint = ctx.peers.endpoint(link.endpointKey);
    if (!keypair || !endpoint || !link.alive) return;
    const plaintext = this.scratch.subarray(0, directPlaintextBytes(size));
    plaintext.fill(0);
    plaintext[0] = InnerKind.MtuProbe;
    const target = { relays: [], nextHop: member, endpoint };
    if (this.sealer.seal(keypair, member, target, plaintext, now, false) > 0) this.probesSent++;
  }
}
