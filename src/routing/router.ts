// The routing core of one node: own links from the prober, adverts from the network, paths out.
//
// Flow of a tick (and of every received control message, which ends in a tick):
//   1. drain the prober's changed links: update our graph edges, note neighbours coming up (they
//      get a SUMMARY shortly) or going down (recompute at once: that is the failover path);
//   2. expire adverts whose lifetime ran out;
//   3. originate our advert if a significant change is pending and its pacing allows
//      (originator.ts: bad news fast, good news batched);
//   4. send due anti-entropy summaries and batched announcements;
//   5. recompute paths if the graph changed (route-computer.ts), else let expired hold timers decide.
// Adverts spread eagerly when they withdraw a link that carried data, lazily (announce, then pull)
// otherwise — see flood(). Everything is pure: `now` comes in, messages leave through
// ports.sendControl, and the selected paths are read with route(dst) — an O(1) map lookup, because
// the data plane calls it per packet.
//
// Members may be hostile. Control is read only from direct neighbours (isNeighbor); what they send is
// admitted cheapest check first, each refusal counted by reason (admission.ts); replies go out within
// the requester's reply budget (control-budgets.ts). Every table is keyed by members or neighbours
// and bounded by them (stats().state).
import { NO_BEAT, type Beat } from '../clock.js';
import { AdvertisedEndpoints } from './advertised-endpoints.js';
import type { NodeId } from '../identity/node-id.js';
import type { LinkSource } from '../probe/link-view.js';
import {
  ADVERT_MAX_LIFETIME_MS,
  ADVERT_MAX_LINKS,
  decodeAdvert,
  encodeAdvert,
  isValidLinkMtu,
  linkMtu,
  peekAdvert,
  type Advert,
  type PackedLink,
} from './advert.js';
import { fitLinkMtus } from './advert-fit.js';
import { pathAlternatives, type Alternative } from './alternatives.js';
import { Announcer } from './announcer.js';
import { AntiEntropy } from './anti-entropy.js';
import { Admission } from './admission.js';
import { decodeControl, peekSummary } from './control-codec.js';
import { ControlBudgets } from './control-budgets.js';
import { fromCostUnits, linkCost } from './cost.js';
import { advertNews, FloodPolicy, type AdvertNews } from './flood-policy.js';
import { LinkGraph } from './graph.js';
import { LinkStateDb } from './lsdb.js';
import { Originator, type DriftCause, type OriginationCause, type OwnLink } from './originator.js';
import type { Path, PathSelector, RouteChange } from './path-selector.js';
import { RouteComputer } from './route-computer.js';
import { DEFAULT_ROUTING_PARAMS, type RoutingParams } from './routing-params.js';
import { RouterCounters, type LinkStateEntry, type RouterStats } from './router-stats.js';

/** Budgets that refilled and high-water marks past the wall-clock bound are forgotten this often. */
const HOUSEKEEPING_MS = 10_000;

export interface RouterMember {
  id: NodeId;
  publicKey: Uint8Array;
}

export interface RouterPorts {
  /** Seal and send `message` to direct neighbour `neighbor` (InnerKind.Control). Fire and forget. */
  sendControl(neighbor: NodeId, message: Uint8Array): void;
  /** Ed25519 signature by our key. */
  sign(message: Uint8Array): Uint8Array;
  /** Ed25519 verification (keys.ts `verify` fits as is); the router supplies the origin's member key. */
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
  /**
   * Wall-clock ms: seeds our advert sequence numbers (so a restart does not go backwards) and bounds
   * the seqs we accept from others (seq-bounds.ts).
   */
  wallClock(): number;
  /** Uniform [0, 1) for timer jitter; defaults to Math.random. */
  random?(): number;
  /** A real-time ms clock used only to measure route computation cost for stats(). */
  cpuClock?(): number;
  /**
   * The node's housekeeping beat (clock.ts): work that can wait (anti-entropy rounds, drift
   * announcements, drift adverts and refreshes, recomputing for drifted costs) is done on it.
   */
  beat?: Beat;
}

export interface RouterOptions {
  self: NodeId;
  members: readonly RouterMember[];
  params?: RoutingParams;
  ports: RouterPorts;
  /** Link measurements; the Prober implements LinkSource. */
  prober: LinkSource;
}

export class Router {
  readonly self: NodeId;
  readonly params: RoutingParams;
  private readonly ports: RouterPorts;
  private readonly prober: LinkSource;
  private readonly random: () => number;
  private members = new Map<NodeId, Uint8Array>();
  private readonly lsdb: LinkStateDb;
  private readonly graph: LinkGraph;
  private readonly computer: RouteComputer;
  private readonly selector: PathSelector;
  private readonly originator: Originator;
  private readonly antiEntropy: AntiEntropy;
  private readonly flooding: FloodPolicy;
  private readonly announcer: Announcer;
  private readonly budgets: ControlBudgets;
  private readonly admission: Admission;
  private readonly ownLinks = new Map<NodeId, OwnLink>();
  /** Our links' measured MTUs (pmtu/), kept apart from ownLinks: a link that goes and comes keeps it. */
  private readonly ownMtus = new Map<NodeId, number>();
  private readonly listeners: Array<(c: RouteChange) => void> = [];
  private readonly counters = new RouterCounters();
  /** Reflexive endpoints: ours to publish, and each origin's from its advert (issue 12). */
  private readonly endpoints = new AdvertisedEndpoints();
  private nextExpiryAt = Infinity;
  private housekeepingAt = -Infinity;
  private lastNow = 0;
  private started = false;
  private wakeAt: number | undefined;

  constructor(opts: RouterOptions) {
    this.self = opts.self;
    this.params = opts.params ?? DEFAULT_ROUTING_PARAMS;
    this.ports = opts.ports;
    this.prober = opts.prober;
    this.random = opts.ports.random ?? Math.random;
    this.lsdb = new LinkStateDb(this.self);
    this.graph = new LinkGraph(this.self, this.params.cost);
    const beat = opts.ports.beat ?? NO_BEAT;
    this.computer = new RouteComputer(
      this.self,
      this.params,
      this.graph,
      { clock: opts.ports.cpuClock, report: (ms) => this.counters.computed(ms) },
      beat,
    );
    this.selector = this.computer.selector;
    this.originator = new Originator(this.params, this.random, beat);
    this.budgets = new ControlBudgets(this.params, () => ({
      members: this.members.size,
      adverts: this.lsdb.size,
      advertBytes: this.lsdb.bytes,
    }));
    this.admission = new Admission(this.params, this.lsdb, this.budgets, {
      isMember: (id) => this.members.has(id),
      wallClock: () => this.ports.wallClock(),
      reject: (reason) => this.counters.reject(reason),
    });
    this.announcer = new Announcer(this.params, this.lsdb, {
      send: (n, m) => this.send(n, m),
      unanswered: () => this.counters.reject('request-unanswered'),
      beat,
    });
    this.antiEntropy = new AntiEntropy(this.params, this.lsdb, this.announcer, {
      send: (n, m) => this.send(n, m),
      reply: (n, m, now) => this.reply(n, m, now),
      isMember: (id) => this.members.has(id),
      random: this.random,
      beat,
    });
    this.flooding = new FloodPolicy(this.self, this.params, this.lsdb, this.graph, this.announcer, (n, m) =>
      this.send(n, m),
    );
    for (const m of opts.members) this.members.set(m.id, m.publicKey);
  }

  /** The selected path to `dst` (self … dst), or undefined. O(1): called per packet. */
  route(dst: NodeId): Path | undefined {
    return this.selector.get(dst);
  }

  /**
   * The data plane saw the path to `dst` through `relays` (none: the direct link) fail end to end:
   * choose `dst`'s path without them until `until` (see path-avoidance.ts). Takes effect at the next tick.
   */
  avoid(dst: NodeId, relays: readonly NodeId[], until: number): void {
    if (dst === this.self || !this.members.has(dst)) return;
    this.computer.avoid(dst, relays, until);
    this.wakeAt = undefined;
  }

  /** The best path to `dst` through each neighbour, cheapest first (alternatives.ts); for `paths`. */
  alternatives(dst: NodeId, limit = 4): Alternative[] {
    return pathAlternatives(this.graph, this.self, dst, this.params.maxHops, limit, (n) =>
      this.graph.relaysForUs(n),
    );
  }

  routes(): ReadonlyMap<NodeId, Path> {
    return this.selector.all();
  }

  /** Members with an alive direct link: where control messages go. */
  neighbors(): NodeId[] {
    return [...this.ownLinks.keys()];
  }

  /** Subscribes to route changes; returns the unsubscribe function. */
  onRouteChange(cb: (change: RouteChange) => void): () => void {
    this.listeners.push(cb);
    return () => {
      const i = this.listeners.indexOf(cb);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Our reflexive endpoints (nat/): published in our next advert, which goes out now if they changed. */
  setOwnEndpoints(keys: readonly string[]): void {
    if (!this.endpoints.setOwn(keys)) return;
    this.originator.force();
    this.wakeAt = undefined;
  }

  /**
   * The largest datagram our link to `neighbor` carries (pmtu/ search), undefined when not known below
   * the network's top: advertised with the link, so others count it in their paths' MTU.
   */
  setOwnLinkMtu(neighbor: NodeId, datagram: number | undefined): void {
    const mtu = datagram !== undefined && isValidLinkMtu(datagram) ? datagram : undefined;
    if (mtu === this.ownMtus.get(neighbor)) return;
    if (mtu === undefined) this.ownMtus.delete(neighbor);
    else this.ownMtus.set(neighbor, mtu);
    const link = this.ownLinks.get(neighbor);
    if (!link) return;
    link.mtu = mtu;
    this.originator.consider(neighbor, link, this.lastNow);
    this.wakeAt = undefined;
  }

  /**
   * The largest datagram the link `from` → `to` carries as `from` advertises it; undefined when it
   * says nothing (not measured below the top) or has no such link in our database.
   */
  linkMtu(from: NodeId, to: NodeId): number | undefined {
    const l = this.lsdb.get(from)?.links.get(to);
    return l === undefined ? undefined : linkMtu(l);
  }

  /** The reflexive endpoints `member` publishes in its current advert (addresses to try, not proof). */
  advertisedEndpoints(member: NodeId): readonly string[] {
    return this.lsdb.get(member) ? this.endpoints.of(member) : [];
  }

  /** Reloads the member list (peers.yaml changed). Removed members become unreachable at once. */
  setMembers(members: readonly RouterMember[]): void {
    const before = [...this.members.keys()];
    this.members = new Map(members.map((m) => [m.id, m.publicKey]));
    const now = this.lastNow;
    const isMember = (id: NodeId): boolean => this.members.has(id);
    for (const origin of this.lsdb.retainMembers(isMember)) this.graph.removeNode(origin);
    for (const id of before) if (!isMember(id)) this.announcer.forgetOrigin(id);
    this.endpoints.retain(isMember);
    this.budgets.sweep(now, isMember);
    for (const n of [...this.ownLinks.keys()]) if (!this.members.has(n)) this.linkGone(n, true);
    for (const n of [...this.ownMtus.keys()]) if (!this.members.has(n)) this.ownMtus.delete(n);
    const changes: RouteChange[] = [];
    for (const dst of [...this.selector.all().keys()]) {
      if (this.members.has(dst)) continue;
      const c = this.selector.remove(dst, now);
      if (c) changes.push(c);
    }
    this.antiEntropy.invalidate();
    this.originator.force(); // our advert may list links to members that are gone
    this.computer.mark('major');
    this.emit(changes);
  }

  tick(now: number): void {
    if (!this.started) {
      this.started = true;
      this.originator.start(now);
    }
    this.lastNow = now;
    this.wakeAt = undefined;
    this.syncOwnLinks(now);
    if (now >= this.nextExpiryAt) this.expire(now);
    if (now >= this.housekeepingAt) this.housekeeping(now);
    if (this.originator.dueAt() <= now) this.originate(now);
    this.antiEntropy.tick(now);
    this.announcer.tick(now);
    this.emit(this.computer.run(now, this.members.keys()));
  }

  /** When tick must next run (monotonic ms). */
  nextWakeAt(): number {
    if (this.wakeAt !== undefined) return this.wakeAt;
    this.wakeAt = Math.min(
      this.originator.dueAt(),
      this.nextExpiryAt,
      this.antiEntropy.dueAt(),
      this.announcer.dueAt(),
      this.computer.dueAt(),
    );
    return this.wakeAt;
  }

  /**
   * A control message from direct neighbour `from` (already authenticated by the session). Never
   * throws: malformed, forged or unwanted messages are counted by reason and dropped.
   */
  receiveControl(from: NodeId, message: Uint8Array, now: number): void {
    this.counters.controlMessagesReceived++;
    this.counters.controlBytesReceived += message.byteLength;
    try {
      if (from === this.self || !this.members.has(from)) return this.counters.reject('from-non-member');
      if (!this.isNeighbor(from, now)) return this.counters.reject('not-neighbor');
      // A summary over its sender's budget is refused before its entries are decoded.
      const head = peekSummary(message);
      if (
        head &&
        !this.admission.examine(from, this.summaryWork(head.rangeLo, head.rangeHi, head.count), now)
      )
        return;
      const msg = decodeControl(message);
      if (typeof msg === 'string') return this.counters.reject(msg);
      if (msg.kind === 'advert') this.receiveAdvert(from, msg.advert, now);
      else if (msg.kind === 'announce')
        this.announcer.onAnnounce(from, this.admission.claims(msg.entries), now);
      else if (msg.kind === 'summary')
        this.antiEntropy.onSummary(from, msg.rangeLo, msg.rangeHi, this.admission.claims(msg.entries), now);
      else if (msg.kind === 'digest') {
        if (this.admission.examine(from, msg.counts.length, now)) this.antiEntropy.onDigest(from, msg, now);
      } else {
        const repeats = this.antiEntropy.onRequest(from, msg.origins, now);
        if (repeats > 0) this.counters.reject('duplicate-request');
      }
    } catch {
      // A bug must not take the packet path down with it; the counter makes it visible.
      this.counters.reject('internal-error');
    }
    this.tick(now);
  }

  /** Our adverts by why they went out. */
  get originatedBy(): Readonly<Record<OriginationCause, number>> {
    return this.originator.takenBy;
  }

  /** Our drift adverts by what first made them due. */
  get driftBy(): Readonly<Record<DriftCause, number>> {
    return this.originator.driftBy;
  }

  /** Links whose RTT or loss moved and came back within the drift interval (adverts not sent). */
  get driftFaded(): number {
    return this.originator.driftFaded;
  }

  stats(): RouterStats {
    const ae = this.antiEntropy;
    return this.counters.snapshot({
      advertsOriginatedBy: { ...this.originatedBy },
      summariesSent: ae.summariesSent,
      requestsSent: this.announcer.requestsSent,
      announcementsSent: this.announcer.announcementsSent,
      advertsPushed: ae.advertsPushed,
      lsdbSize: this.lsdb.size,
      neighbors: this.ownLinks.size,
      routes: this.selector.all().size,
      state: {
        lsdb: this.lsdb.size,
        highWater: this.lsdb.highWaterSize,
        ...this.announcer.stateSizes(),
        antiEntropy: ae.stateSize,
        budgets: this.budgets.size,
        neighbors: this.ownLinks.size,
      },
    });
  }

  /** What the graph holds about `member`, for `overlayd status` (why a member has no path). */
  graphFacts(member: NodeId): { advertHeld: boolean; graphLinks: number } {
    return { advertHeld: this.graph.hasAdvert(member), graphLinks: this.graph.neighborsOf(member).length };
  }

  /** Every usable link with its cost, for `overlayd status` and metrics. */
  linkState(): LinkStateEntry[] {
    const out: LinkStateEntry[] = [];
    for (const e of this.graph.edges())
      out.push({ a: e.a, b: e.b, costMs: fromCostUnits(e.units), own: e.own });
    return out;
  }

  // --- own links --------------------------------------------------------------------------------

  private syncOwnLinks(now: number): void {
    for (const m of this.prober.drainChanges()) this.ownLinkChanged(m, now);
  }

  /**
   * Whether control from `from` is worth reading: it has a direct link to us, alive by our prober —
   * our probes to it are answered, or its direct probes to us arrive (its side of the link works
   * before ours has noticed, after a link comes up or in a dead link's backoff, and when a bounded
   * neighbour set has it probe us but not us it). A member beyond a relay has neither.
   */
  private isNeighbor(from: NodeId, now: number): boolean {
    // The prober may have seen the link come up since our last tick: take its news first.
    this.syncOwnLinks(now);
    return this.ownLinks.has(from) || this.prober.probedUs?.(from, now) !== undefined;
  }

  private ownLinkChanged(m: NodeId, now: number): void {
    if (m === this.self || !this.members.has(m)) return this.linkGone(m, true);
    const view = this.prober.link(m);
    // No view: the prober stopped measuring this member (bounded neighbour set) — the link may well
    // still work and nobody is using it, so withdrawing it is not news that breaks paths.
    if (!view) return this.linkGone(m, false);
    const cost = linkCost(view, this.params.cost);
    if (cost === Infinity) return this.linkGone(m, true);
    const link: OwnLink = {
      neighbor: m,
      rttMs: view.srttMs,
      jitterMs: view.jitterMs,
      baseRttMs: view.recentRttMs,
      loss: view.lossRatio,
      costMs: cost,
      active: view.active,
      inDoubt: view.consecutiveLost > 0,
    };
    const mtu = this.ownMtus.get(m);
    if (mtu !== undefined) link.mtu = mtu;
    const known = this.ownLinks.has(m);
    this.ownLinks.set(m, link);
    if (!known) {
      this.antiEntropy.neighborUp(m, now);
      this.computer.mark(this.graph.setOwnLink(m, cost));
    } else if (!link.inDoubt) {
      // While probes are being lost in a row the cost is in flux; the link is about to be declared
      // dead (handled at once) or to recover, and the next reply brings a settled figure.
      const units = this.graph.ownLinkUnits(m);
      const old = units === undefined ? 0 : fromCostUnits(units);
      if (Math.abs(cost - old) > this.params.ownCostChangeRatio * old)
        this.computer.mark(this.graph.setOwnLink(m, cost));
    }
    this.originator.consider(m, link, now);
  }

  private linkGone(m: NodeId, dead: boolean): void {
    const link = this.ownLinks.get(m);
    if (!link || !this.ownLinks.delete(m)) return;
    this.antiEntropy.neighborDown(m);
    this.announcer.neighborDown(m);
    this.computer.mark(this.graph.setOwnLink(m, undefined));
    this.computer.markUrgent(); // failover: do not wait for the recompute throttle
    // Only the death of a link that carried data is urgent news for others: an idle link's loss
    // breaks no traffic, and at a partition dozens of them die within a second or two.
    this.originator.withdraw(m, !dead ? 'unmeasured' : link.active ? 'carried-data' : 'dead');
  }

  // --- adverts ----------------------------------------------------------------------------------

  private originate(now: number): void {
    const relays = this.flooding.selectRelays([...this.ownLinks.keys()]);
    const links = this.originator.take([...this.ownLinks.values()], relays, now);
    const seq = this.lsdb.nextOwnSeq(this.ports.wallClock());
    let advert: Advert = { origin: this.self, seq, lifetimeMs: this.params.advertLifetimeMs, links };
    if (this.originator.tookCarrierLoss) advert.urgent = true;
    if (this.endpoints.ownEndpoints.length > 0) advert.endpoints = this.endpoints.ownEndpoints;
    advert = fitLinkMtus(advert);
    const bytes = encodeAdvert(advert, (msg) => this.ports.sign(msg));
    this.lsdb.installOwn(advert, bytes, now); // stored quantized, as receivers decode it
    this.antiEntropy.invalidate();
    this.counters.advertsOriginated++;
    this.flood(bytes, this.self, seq, undefined, 'urgent', now);
  }

  private receiveAdvert(from: NodeId, bytes: Uint8Array, now: number): void {
    this.counters.advertsReceived++;
    const head = peekAdvert(bytes);
    if (typeof head === 'string') return this.counters.reject(head);
    const admitted = this.admission.advert(from, head, now);
    // The common case when flooding: a copy we already have, found before checking a signature.
    if (admitted === 'duplicate') {
      this.counters.advertsDuplicate++;
      this.announcer.noteHas(from, head.origin, head.seq);
    }
    if (admitted !== 'verify') return;
    const advert = decodeAdvert(bytes, {
      isMember: (id) => this.members.has(id),
      publicKeyOf: (id) => this.members.get(id),
      verify: (sig, msg, key) => this.ports.verify(sig, msg, key),
    });
    if (typeof advert === 'string') return this.counters.reject(advert);
    const copy = bytes.slice(); // the caller's buffer is only valid during receiveControl
    const previous = this.lsdb.get(advert.origin);
    const result = this.lsdb.offer(advert, copy, now);
    if (result === 'accepted' || result === 'own-newer') this.budgets.originated(advert.origin, now);
    if (result === 'own-newer') {
      this.counters.ownSeqJumps++;
      this.originator.force();
      return;
    }
    if (result !== 'accepted') {
      this.counters.advertsDuplicate++;
      return;
    }
    this.counters.advertsAccepted++;
    const endpointsChanged = this.endpoints.accepted(advert.origin, advert.endpoints);
    this.antiEntropy.invalidate();
    this.announcer.received(advert.origin, advert.seq);
    this.announcer.noteHas(from, advert.origin, advert.seq);
    const entry = this.lsdb.get(advert.origin);
    if (entry) {
      this.nextExpiryAt = Math.min(this.nextExpiryAt, entry.expiresAt);
      this.computer.mark(this.graph.setAdvert(advert.origin, entry.links, this.computer.affects));
      this.suspectFromAdvert(advert.origin, previous?.links, entry.links, now);
      const news = advertNews(previous?.links, entry.links, advert.urgent === true);
      this.flood(
        copy,
        advert.origin,
        advert.seq,
        from,
        news === 'drift' && endpointsChanged ? 'news' : news,
        now,
      );
    }
  }

  /**
   * A neighbour that listed us and no longer does says it cannot hear us. Our own probes may take
   * a few idle intervals to agree; ask the prober to look now, at the fast rate. Not when its advert
   * is full: then we may simply have dropped below its ADVERT_MAX_LINKS cheapest links.
   */
  private suspectFromAdvert(
    origin: NodeId,
    previous: ReadonlyMap<NodeId, PackedLink> | undefined,
    next: ReadonlyMap<NodeId, PackedLink>,
    now: number,
  ): void {
    if (!this.ownLinks.has(origin) || !previous?.has(this.self) || next.has(this.self)) return;
    if (next.size >= ADVERT_MAX_LINKS) return;
    this.prober.suspect?.(origin, now);
  }

  /** Examining a SUMMARY costs the origins we hold in its range plus those it lists. */
  private summaryWork(lo: NodeId, hi: NodeId, listed: number): number {
    return (lo <= hi ? this.lsdb.countIn(lo, hi) : 0) + listed;
  }

  private flood(
    bytes: Uint8Array,
    origin: NodeId,
    seq: number,
    from: NodeId | undefined,
    news: AdvertNews,
    now: number,
  ): void {
    const pushed = this.flooding.spread(bytes, origin, seq, from, news, this.ownLinks.keys(), now);
    if (from !== undefined) this.counters.advertsForwarded += pushed;
  }

  private expire(now: number): void {
    let next = Infinity;
    for (const origin of this.lsdb.expire(now)) {
      this.computer.mark(this.graph.setAdvert(origin, undefined, this.computer.affects));
      this.announcer.forgetOrigin(origin); // who held it, who we asked, what we were to announce
      this.counters.advertsExpired++;
    }
    for (const e of this.lsdb.values()) if (e.origin !== this.self) next = Math.min(next, e.expiresAt);
    this.nextExpiryAt = next;
    this.antiEntropy.invalidate();
  }

  /**
   * Forgets budgets that refilled, and high-water marks the wall-clock bound covers already: a seq
   * below wall − max lifetime − skew is refused as stale-seq whatever the mark says.
   */
  private housekeeping(now: number): void {
    this.housekeepingAt = now + HOUSEKEEPING_MS;
    this.budgets.sweep(now, (id) => this.members.has(id));
    const wall = this.ports.wallClock();
    this.lsdb.forgetHighWaterBelow(wall - ADVERT_MAX_LIFETIME_MS - this.params.maxClockSkewMs);
  }

  private emit(changes: readonly RouteChange[]): void {
    this.counters.routeChanges += changes.length;
    for (const c of changes) for (const l of [...this.listeners]) l(c);
  }

  /** A reply to something `n` sent, within its reply budget. */
  private reply(n: NodeId, message: Uint8Array, now: number): boolean {
    if (!this.budgets.reply(n, message.byteLength, now)) {
      this.counters.reject('reply-budget');
      return false;
    }
    this.send(n, message);
    return true;
  }

  private send(n: NodeId, message: Uint8Array): void {
    this.counters.controlMessagesSent++;
    this.counters.controlBytesSent += message.byteLength;
    this.ports.sendControl(n, message);
  }
}
