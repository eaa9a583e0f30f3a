// Direct-link prober: decides when to probe each (member, endpoint), matches replies, and keeps the
// measurements the router turns into link costs. Pure: time arrives as `now`, probes leave through
// `ports.sendProbe`, replies come back through `onReply`. The daemon seals each probe end to end and
// sends it over the DIRECT underlay path to that endpoint; the member echoes it over the same path,
// so a reply proves the very path data would take (an authenticated round trip, not a handshake).
//
// Schedule per endpoint (see probe-params.ts for the numbers):
//   alive, member active                → activeIntervalMs    (links carrying data, every endpoint)
//   alive, otherwise                    → idleIntervalMs (1 s), doubling per steady reply up to
//                                         idleMaxIntervalMs (8 s); a lost probe or an RTT off the
//                                         smoothed one by more than 20 % and 2 ms starts over;
//                                         any link dying probes every other idle link at once
//   alive, last probe lost              → activeIntervalMs until the next reply (confirm or clear fast),
//                                         for at most maxFastLinks links at once; others at 1 s
//   just came (back) up                 → activeIntervalMs for confirmProbes probes
//   dead or never answered              → 1 s, 2 s, 4 s, then every 5 s
//   candidate (unproven source address) → 0.5 s, 1 s, then forgotten 2 s after its third probe
//   no session yet (probe not sendable) → unsentRetryMs; not counted as lost
// The idle and dead schedules' probes go out on the node's housekeeping beat (ports.beat, clock.ts):
// up to a second later, all in one wake-up.
import { NO_BEAT, type Beat } from '../clock.js';
import { zeroCounts } from '../counts.js';
import type { NodeId } from '../identity/node-id.js';
import {
  ACTIVE_CAUSES,
  type ActiveCause,
  type EndpointView,
  type LinkSource,
  type LinkView,
  type ProbeStats,
} from './link-view.js';
import {
  endpointScore,
  fastInterval,
  isSteadyRtt,
  newEndpoint,
  probeInterval,
  probeSchedule,
  PROBE_SCHEDULES,
  restartIdleBackoff,
  selectBestEndpoint,
  type EndpointState,
  type MemberState,
} from './member-state.js';
import { BinaryHeap } from './min-heap.js';
import { OutstandingProbes, NO_RETURN_BIT } from './outstanding-probes.js';
import { DEFAULT_PROBE_PARAMS, jittered, type ProbeParams } from './probe-params.js';
import { ProbeSet } from './probe-set.js';

export interface ProberPorts {
  /**
   * Send probe `probeId` to `member` at `endpointKey`; fire and forget. False when it could not be
   * sent at all (no session with the member yet): then it is neither outstanding nor lost.
   */
  sendProbe(member: NodeId, endpointKey: string, probeId: number): boolean;
  /** Uniform [0, 1); injected so the simulator is reproducible. Defaults to Math.random. */
  random?(): number;
  /**
   * Extra ms to wait for a reply at `now` because our own event loop has been stalling (the daemon:
   * node/loop-lag.ts). A reply that arrived during a stall is read late; without this it counts as
   * lost, and a daemon starved of CPU declares live links dead. The simulator has no stalls: 0.
   */
  loopLagMs?(now: number): number;
  /** The node's housekeeping beat (clock.ts): probes on the idle and dead schedules go out on it. */
  beat?: Beat;
}

interface ProbeTimer {
  at: number;
  member: NodeId;
  ep: EndpointState;
  gen: number;
}

/** See Prober.answerInKind: the least gap after our last probe to an endpoint, in active intervals. */
const ANSWER_GAP = 0.75;

export class Prober implements LinkSource {
  readonly params: Readonly<ProbeParams>;
  private readonly ports: ProberPorts;
  private readonly random: () => number;
  private readonly beat: Beat;
  private readonly members = new Map<NodeId, MemberState>();
  private readonly outstanding: OutstandingProbes;
  /** Probe timers (nextProbeAt of probed endpoints), with lazy deletion: see schedule(). */
  private readonly timers = new BinaryHeap<ProbeTimer>((a, b) => a.at < b.at);
  private readonly changed = new Set<NodeId>();
  /** Members with m.probed set; and members whose probed status may change at the next tick. */
  private readonly probedIds = new Set<NodeId>();
  private readonly recheck = new Set<NodeId>();
  private candidateCache: NodeId[] | undefined;
  private readonly set: ProbeSet;
  private lastNow = -Infinity;
  private wakeAt: number | undefined = -Infinity;
  private readonly counters = {
    probesSent: 0,
    probesUnsent: 0,
    repliesReceived: 0,
    repliesLate: 0,
    repliesUnknown: 0,
    /** markActive calls that started an active window. */
    activations: 0,
  };
  private readonly activationsBy = zeroCounts(ACTIVE_CAUSES);
  private probesAnswered = 0;
  private probesLost = 0;
  private readonly sentBySchedule = zeroCounts(PROBE_SCHEDULES);
  /** Endpoints on the fast rate because they lost a probe (ep.suspect), at most maxFastLinks. */
  private readonly fastSuspects = new Map<EndpointState, NodeId>();

  constructor(opts: { params?: Partial<ProbeParams>; ports: ProberPorts }) {
    this.params = { ...DEFAULT_PROBE_PARAMS, ...opts.params };
    this.ports = opts.ports;
    this.random = opts.ports.random ?? Math.random;
    this.beat = opts.ports.beat ?? NO_BEAT;
    this.set = new ProbeSet(this.params, this.random);
    this.outstanding = new OutstandingProbes(this.params.maxOutstanding, this.random);
  }

  /** Configured endpoints of `member` (replaces the previous list; learned endpoints are kept). */
  setEndpoints(member: NodeId, endpointKeys: readonly string[]): void {
    const m = this.member(member);
    for (const [key, ep] of m.endpoints)
      if (ep.configured && !endpointKeys.includes(key)) m.endpoints.delete(key);
    for (const key of endpointKeys) {
      const ep = m.endpoints.get(key);
      if (ep) ep.configured = true;
      else this.addEndpoint(member, m, this.newEndpoint(key, true, this.lastNow));
    }
    this.afterEndpointChange(member, m);
  }

  /**
   * An authenticated direct packet from `member` came from `endpointKey`, which we do not know (NAT
   * rebinding, roaming — or a spoofed source). It becomes a CANDIDATE: probed `candidateProbes` times,
   * backing off, and forgotten unless a reply comes back from that very address, which makes it a
   * learned endpoint like any other (see onReply). At most `maxCandidateEndpoints` per member, the
   * oldest makes room. Packets arriving from a known address change nothing: only replies count.
   * Returns true if a new candidate was added.
   */
  learnEndpoint(member: NodeId, endpointKey: string, now: number): boolean {
    this.lastNow = now;
    const m = this.member(member);
    if (m.endpoints.has(endpointKey)) return false;
    const candidates = [...m.endpoints.values()].filter((e) => e.candidate && !e.punch);
    if (candidates.length >= this.params.maxCandidateEndpoints) {
      candidates.sort((a, b) => a.lastHeardAt - b.lastHeardAt);
      m.endpoints.delete(candidates[0].key);
    }
    const ep = this.newEndpoint(endpointKey, false, now);
    ep.candidate = true;
    ep.candidateProbesLeft = this.params.candidateProbes;
    this.addEndpoint(member, m, ep);
    this.afterEndpointChange(member, m);
    return true;
  }

  /**
   * A punch (nat/): probe `endpointKeys` of `member` now and every punchIntervalMs, `probes` times
   * each, as candidates: like any candidate, an endpoint is kept only if an authenticated reply to a
   * probe sent there comes back from it, and forgotten otherwise. Alive endpoints are left alone. At
   * most maxPunchEndpoints punch candidates per member (a newer punch replaces the oldest). The member
   * counts as active for a window, so a bounded probe set probes it too, and a link the punch opens is
   * measured at the fast rate at once (the NAT test's route moves to it in seconds, not tens of them).
   * Only when the punch gave the prober something to try: a punch naming only endpoints already listed
   * or proven (a member that still hears the asker over its side of the link) leaves the schedule
   * alone. Those were 72 % of the active windows in an idle 25-site lab. Returns the keys added.
   */
  punch(member: NodeId, endpointKeys: readonly string[], probes: number, now: number): string[] {
    this.lastNow = now;
    const m = this.members.get(member);
    if (!m) return [];
    const added: string[] = [];
    let tried = 0;
    for (const key of endpointKeys.slice(0, this.params.maxPunchEndpoints)) {
      let ep = m.endpoints.get(key);
      if (ep && !ep.candidate) continue; // listed or proven: the prober already measures it
      tried++;
      if (!ep) {
        const punches = [...m.endpoints.values()].filter((e) => e.candidate && e.punch);
        if (punches.length >= this.params.maxPunchEndpoints) {
          punches.sort((a, b) => a.lastHeardAt - b.lastHeardAt);
          m.endpoints.delete(punches[0].key);
        }
        ep = this.newEndpoint(key, false, now);
        ep.candidate = true;
        this.addEndpoint(member, m, ep);
        added.push(key);
      }
      ep.origin = 'punched';
      ep.punch = true;
      ep.candidateProbesLeft = probes;
      ep.nextProbeAt = Infinity;
      this.probeBy(member, ep, now);
    }
    if (tried === 0) return added;
    this.afterEndpointChange(member, m);
    this.markActive(member, now, 'punch');
    return added;
  }

  removeMember(member: NodeId): void {
    if (!this.members.delete(member)) return;
    this.probedIds.delete(member);
    this.candidateCache = undefined;
    this.set.forget(member);
    this.changed.add(member);
    this.wakeAt = undefined;
  }

  /**
   * We relayed a data packet from `src` to `dst` on to `member`: a second from the same source to the
   * same destination within relayedPairMs is a flow, which marks the link active (a relay cannot tell
   * data from a lone keepalive). Keyed by the pair, not the next hop alone: at 50 members, each node
   * relays dozens of sessions, whose keepalives after a rekey met within a second at the next hop and
   * looked like a flow (0.1 active windows a second per node). A real flow sends its packets in runs,
   * so interleaved flows still make runs of one pair.
   */
  noteRelayed(member: NodeId, src: NodeId, dst: NodeId, now: number): void {
    const m = this.members.get(member);
    if (!m) return;
    const flow =
      m.lastRelayedSrc === src &&
      m.lastRelayedDst === dst &&
      now - m.lastRelayedAt <= this.params.relayedPairMs;
    m.lastRelayedAt = now;
    m.lastRelayedSrc = src;
    m.lastRelayedDst = dst;
    if (flow) this.markActive(member, now, 'relay');
  }

  /**
   * A session with `member` came up. A member we measure whose link is not known to work is probed at
   * the active rate: a first session, or one after an outage, gets its link measured at once. A rekey
   * of a working link (every 2 min per member, data or not) says nothing new: 2 s of 50 ms probes each
   * time was ~1.2 kB/s per node at 25 members. Nor does a session with a member outside a bounded
   * probe set (relayed, rekeyed every 2 min): it pulled the member into the set for the window, and
   * the link appearing and going was a network-wide advert each way, half of an idle 50-site lab's.
   * Nor does the session the explorer's trial opens (probes are sealed, so a trial of a member we
   * had no session with starts with a handshake): the active window made the trial's link visible
   * to routing for 2 s, a link advertised and withdrawn for every trial — 0.2 of an idle 100-daemon
   * lab's 0.4 adverts per node per minute each way.
   */
  sessionUp(member: NodeId, now: number): void {
    const m = this.members.get(member);
    if (!m || this.set.isTrial(member) || !this.shouldProbe(member, m, now) || this.link(member)?.alive)
      return;
    this.markActive(member, now, 'handshake');
  }

  /**
   * Whether a direct link to `member` is wanted now, endpoints known or not: false for a member that
   * a bounded probe set leaves to relays (nat/ then does not try to punch one open, see NatChannel).
   */
  wantsDirectLink(member: NodeId, now: number): boolean {
    const m = this.members.get(member);
    return m !== undefined && this.wantsLink(member, m, now);
  }

  /** Data was sent over the direct link to `member`: probe it at the active rate. */
  markActive(member: NodeId, now: number, cause: ActiveCause = 'data'): void {
    const m = this.members.get(member);
    if (!m) return;
    this.lastNow = now;
    const wasActive = now < m.activeUntil;
    m.activeUntil = now + this.params.activeWindowMs;
    if (cause === 'data' || cause === 'relay' || cause === 'punch') m.usedUntil = m.activeUntil;
    if (wasActive) return; // the per-packet path: nothing else to do
    this.counters.activations++;
    this.activationsBy[cause]++;
    this.changed.add(member);
    this.recheck.add(member);
    this.wakeAt = undefined;
    // Dead endpoints keep their backoff: data should not be using them. Alive ones go to the active
    // rate now; one whose last reply the idle schedule left ~1 s behind is looked at at once, so
    // that it is not called dead from stale evidence (and not believed alive on it either).
    const activeDeadWindow = this.params.activeIntervalMs * this.params.deadAfterLost;
    for (const ep of m.endpoints.values()) {
      if (!ep.est.alive) continue;
      if (now - ep.est.lastReplyAt > activeDeadWindow) this.probeBy(member, ep, now);
      else this.probeBy(member, ep, ep.lastSentAt + this.params.activeIntervalMs);
    }
  }

  /** When `member`'s active window ends (markActive): -Infinity if it has none or is not probed. */
  activeUntil(member: NodeId): number {
    return this.members.get(member)?.activeUntil ?? -Infinity;
  }

  /** See LinkSource.suspect: treat as active for a window, which probes now at the fast rate. */
  suspect(member: NodeId, now: number): void {
    const m = this.members.get(member);
    if (!m) return;
    if (now < m.activeUntil) return;
    this.markActive(member, now, 'suspect');
    const ep = this.bestEndpoint(member);
    if (ep?.est.alive) this.probeBy(member, ep, now);
  }

  /**
   * We echoed probe `probeId` from `member`: count it, and (bounded mode) probe it back, unless
   * the id asks us not to (top bit: an exploration trial, or a probe itself sent only in return;
   * see ProbeSet.isTrial, probesOnlyInReturn).
   */
  onProbeReceived(member: NodeId, endpointKey: string, now: number, probeId = 0): void {
    this.probesAnswered++;
    const m = this.members.get(member);
    if (m) m.probedUs = { at: now, key: endpointKey };
    if (!m) return;
    this.lastNow = now;
    this.reviveHint(member, m, endpointKey, now);
    this.answerInKind(member, m, endpointKey, now);
    if ((probeId & NO_RETURN_BIT) !== 0) return;
    this.set.noteProbedBy(member, now);
    for (const id of this.set.drainTouched()) {
      this.recheck.add(id);
      this.wakeAt = undefined;
    }
  }

  /**
   * The member's probe came from `key`, an endpoint of it we hold dead: the path may be back (a
   * firewall that let UDP through again, a link repaired). Look now rather than at its dead backoff,
   * up to 5 s away: the member is about to find the path alive from its side and send over it —
   * relayed packets too, which we drop until a reply of ours proves the address
   * (endpoint-bindings.ts; the ws test lost 7 pings of 10 in that gap). At most one such probe per
   * deadFirstIntervalMs per endpoint (even if a dead probe just went: it may have been lost to the
   * very block that just lifted), whoever replays the member's probes, and only to an address
   * the prober already has: no new target. Not while the backoff is still at its first second (a
   * start-up: both ends probe each other then anyway; hinting there tied every member's schedule to
   * the sender's and slowed the simulator's crash detection by 1.7 s on average).
   */
  private reviveHint(id: NodeId, m: MemberState, key: string, now: number): void {
    const ep = m.endpoints.get(key);
    if (!ep || ep.est.alive || !m.probed || ep.deadProbes < 2) return;
    if (now - ep.revivedAt < this.params.deadFirstIntervalMs) return;
    ep.revivedAt = now;
    this.probeBy(id, ep, now);
  }

  /**
   * The member's probe came from `key` on a link we probe at the active rate (it carries data): send
   * ours there now, in the same wake-up as our echo, instead of at our own timer a few tens of ms
   * later. Both ends of a link in use probe it every 50 ms; answered in kind, one end's timer starts
   * each exchange and the other end's probe rides with its echo, so each daemon handles two probe
   * events per interval instead of three. Every such event is JavaScript that a packet of the flow
   * may have to wait for (the lanes share the thread: benchmarks/README.md, "The floor"). A probe
   * only ever goes earlier, and not within ANSWER_GAP of the active interval after our last one to
   * that endpoint: a member that probes us faster (or replays its probes) gets at most 4/3 of our
   * own rate (one every 37.5 ms instead of 50), however many it sends. The gap is below one interval
   * because the two ends' timers are jittered: at a full interval most answers would find our own
   * timer not yet due, and the two schedules would not meet.
   */
  private answerInKind(id: NodeId, m: MemberState, key: string, now: number): void {
    const ep = m.endpoints.get(key);
    if (!ep || !m.probed || probeSchedule(m, ep, now) !== 'active') return;
    if (now - ep.lastSentAt < ANSWER_GAP * fastInterval(ep, this.params)) return;
    this.send(id, m, ep, now);
  }

  /**
   * A reply from `member` arrived from `endpointKey`. True when it answers a probe we sent to that
   * member at that very endpoint (in time or late): proof the address reaches the member, which turns
   * a candidate into a learned endpoint.
   */
  onReply(member: NodeId, endpointKey: string, probeId: number, now: number): boolean {
    this.lastNow = now;
    let o = this.outstanding.take(probeId, member, endpointKey);
    // Not outstanding: it may have timed out already (and been counted lost then).
    const countedLost = o === undefined;
    o ??= this.outstanding.takeExpired(probeId, member, endpointKey, now);
    if (!o) {
      this.counters.repliesUnknown++;
      return false;
    }
    this.wakeAt = undefined;
    const m = this.members.get(member);
    const ep = m?.endpoints.get(endpointKey);
    if (!m || !ep) {
      this.counters.repliesUnknown++;
      return false;
    }
    if (ep.candidate) this.promote(m, ep);
    if (countedLost || now > o.deadline + this.lagMs(now)) {
      this.lateReply(member, ep, now - o.sentAt, !countedLost, now);
      return true;
    }
    this.counters.repliesReceived++;
    ep.lastHeardAt = now;
    ep.suspect = false;
    const rtt = now - o.sentAt;
    const steady =
      ep.est.alive && ep.est.sampled && isSteadyRtt(rtt, ep.est.srttMs, this.params, ep.est.rttvarMs);
    if (steady) {
      ep.steadyReplies++;
      ep.offBand = false;
    } else {
      // Off the smoothed RTT: look again at the base idle rate rather than after a long gap. A lone
      // reply off the band after steady ones keeps the backoff (a scheduling hiccup at either end:
      // on a busy host one reply in ten is off by more than 2 ms, which kept idle links at 1 s); a
      // second in a row restarts it.
      if (ep.steadyReplies > 0 && !ep.offBand) ep.offBand = true;
      else restartIdleBackoff(ep);
      this.probeBy(member, ep, now + Math.min(this.interval(m, ep, now), this.params.idleIntervalMs));
    }
    if (ep.est.onSample(rtt, now) === 'up') {
      ep.deadProbes = 0;
      ep.confirmProbes = this.params.confirmProbes;
      this.probeBy(member, ep, now + this.interval(m, ep, now));
    }
    this.selectBest(m);
    this.changed.add(member);
    return true;
  }

  /** A candidate answered: a learned endpoint now; the worst other learned one makes room if needed. */
  private promote(m: MemberState, ep: EndpointState): void {
    ep.candidate = false;
    ep.punch = false;
    ep.candidateProbesLeft = 0;
    const learned = [...m.endpoints.values()].filter((e) => !e.configured && !e.candidate && e !== ep);
    if (learned.length < this.params.maxLearnedEndpoints) return;
    learned.sort((a, b) => Number(a.est.alive) - Number(b.est.alive) || a.lastHeardAt - b.lastHeardAt);
    m.endpoints.delete(learned[0].key);
  }

  /** Times out lost probes, maintains the probed set, and sends every probe that is due. */
  tick(now: number): void {
    this.lastNow = now;
    this.wakeAt = undefined;
    for (const o of this.outstanding.expire(now - this.lagMs(now))) {
      const m = this.members.get(o.member);
      const ep = m?.endpoints.get(o.key);
      if (m && ep) this.lost(o.member, m, ep, o.sentAt, now);
    }
    if (this.set.bounded) {
      this.set.tick(
        now,
        this.candidates(),
        (id) => this.score(id),
        (id) => this.timeoutOf(id),
      );
      for (const id of this.set.drainTouched()) {
        this.recheck.add(id);
        this.changed.add(id); // e.g. a trial promoted: its link becomes visible to routing
      }
    }
    // Only members whose probed status may have changed are visited (in bounded mode also the few
    // probed ones, whose active window may have ended): a tick costs O(changes + due probes), not
    // O(members), which matters with hundreds of members and a tick per probe.
    const visit = this.set.bounded ? new Set([...this.probedIds, ...this.recheck]) : this.recheck;
    for (const id of [...visit]) {
      const m = this.members.get(id);
      if (!m) continue;
      const probed = this.shouldProbe(id, m, now);
      if (probed !== m.probed) this.setProbed(id, m, probed, now);
    }
    this.recheck.clear();
    for (let guard = 0; guard < 100_000; guard++) {
      const t = this.liveTimer();
      if (!t || t.at > now) break;
      this.timers.pop();
      const m = this.members.get(t.member) as MemberState;
      const ep = t.ep;
      const unanswered = ep.candidate && ep.candidateProbesLeft <= 0;
      const stale =
        !ep.configured &&
        !ep.candidate &&
        !ep.est.alive &&
        now - ep.lastHeardAt > this.params.learnedEndpointTtlMs;
      if (unanswered || stale) {
        m.endpoints.delete(ep.key);
        this.afterEndpointChange(t.member, m);
        continue;
      }
      this.send(t.member, m, ep, now);
    }
  }

  /** When `tick` must next run (monotonic ms); at or before the last `now` means "immediately". */
  nextWakeAt(): number {
    if (this.wakeAt !== undefined) return this.wakeAt;
    if (this.recheck.size > 0) return (this.wakeAt = this.lastNow);
    let w = Math.min(
      this.set.nextEventAt(),
      this.outstanding.earliestDeadline() + this.lagMs(this.lastNow),
      this.liveTimer()?.at ?? Infinity,
    );
    // Bounded mode: a member probed only because it was active leaves the set when its window ends.
    if (this.set.bounded) {
      for (const id of this.probedIds) {
        const m = this.members.get(id);
        if (m && m.activeUntil > this.lastNow && m.activeUntil < w && !this.set.has(id)) w = m.activeUntil;
      }
    }
    return (this.wakeAt = w);
  }

  link(member: NodeId): LinkView | undefined {
    const m = this.members.get(member);
    if (!m || !m.probed || m.bestKey === undefined) return undefined;
    if (this.set.isTrial(member) && !(this.lastNow < m.activeUntil)) return undefined;
    const ep = m.endpoints.get(m.bestKey);
    if (!ep) return undefined;
    const e = ep.est;
    return {
      alive: e.alive,
      srttMs: e.srttMs,
      recentRttMs: e.recentRttMs,
      lossRatio: e.lossRatio,
      jitterMs: e.jitterMs,
      endpointKey: ep.key,
      origin: ep.origin,
      lastReplyAt: e.lastReplyAt,
      active: this.lastNow < m.activeUntil,
      consecutiveLost: e.consecutiveLost,
    };
  }

  /** See LinkSource.probedUs: within three of its longest idle intervals (its probes to us are idle). */
  probedUs(member: NodeId, now: number): string | undefined {
    const p = this.members.get(member)?.probedUs;
    return p && now - p.at <= 3 * this.params.idleMaxIntervalMs ? p.key : undefined;
  }

  /** Whether an endpoint of `member` that `accept`s is alive (no views built: asked often). */
  hasAliveEndpoint(member: NodeId, accept: (endpointKey: string) => boolean): boolean {
    const m = this.members.get(member);
    if (m) for (const ep of m.endpoints.values()) if (ep.est.alive && accept(ep.key)) return true;
    return false;
  }

  /** Per-endpoint measurements of `member`, for status output. */
  endpoints(member: NodeId): EndpointView[] {
    const m = this.members.get(member);
    return m
      ? [...m.endpoints.values()].map((ep) => ({ ...ep.est.view(ep.key, ep.configured), origin: ep.origin }))
      : [];
  }

  /** Members currently probed (all of them unless maxProbedMembers bounds the set). */
  probedMembers(): NodeId[] {
    return [...this.probedIds];
  }

  drainChanges(): NodeId[] {
    if (this.changed.size === 0) return [];
    const out = [...this.changed];
    this.changed.clear();
    return out;
  }

  stats(): ProbeStats {
    const c = this.counters;
    const b = this.params.probeBytes;
    return {
      ...c,
      probesAnswered: this.probesAnswered,
      probesLost: this.probesLost,
      bytesSent: (c.probesSent + this.probesAnswered) * b,
      bytesReceived: (c.repliesReceived + c.repliesLate + c.repliesUnknown + this.probesAnswered) * b,
      sentBySchedule: { ...this.sentBySchedule },
      activationsBy: { ...this.activationsBy },
      setChangesBy: { ...this.set.changesBy },
    };
  }

  private member(id: NodeId): MemberState {
    let m = this.members.get(id);
    if (!m) {
      m = {
        endpoints: new Map(),
        activeUntil: -Infinity,
        usedUntil: -Infinity,
        lastRelayedAt: -Infinity,
        lastRelayedSrc: 0,
        lastRelayedDst: 0,
        bestKey: undefined,
        probed: false,
      };
      this.members.set(id, m);
    }
    return m;
  }

  private addEndpoint(id: NodeId, m: MemberState, ep: EndpointState): void {
    m.endpoints.set(ep.key, ep);
    if (m.probed) this.schedule(id, ep);
  }

  private newEndpoint(key: string, configured: boolean, now: number): EndpointState {
    return newEndpoint(key, configured, now, this.params);
  }

  private afterEndpointChange(id: NodeId, m: MemberState): void {
    if (m.bestKey !== undefined && !m.endpoints.has(m.bestKey)) m.bestKey = undefined;
    this.selectBest(m);
    this.changed.add(id);
    this.recheck.add(id);
    this.candidateCache = undefined;
    this.wakeAt = undefined;
  }

  private setProbed(id: NodeId, m: MemberState, probed: boolean, now: number): void {
    m.probed = probed;
    if (probed) this.probedIds.add(id);
    else this.probedIds.delete(id);
    this.changed.add(id);
    // Starting (again) from scratch: stale numbers from a previous stint would mislead the router.
    for (const [key, ep] of m.endpoints) {
      const fresh = this.newEndpoint(key, ep.configured, now);
      fresh.lastHeardAt = ep.lastHeardAt;
      fresh.candidate = ep.candidate;
      fresh.candidateProbesLeft = ep.candidateProbesLeft;
      fresh.origin = ep.origin;
      fresh.punch = ep.punch;
      m.endpoints.set(key, fresh);
      if (probed) this.schedule(id, fresh);
    }
  }

  private send(id: NodeId, m: MemberState, ep: EndpointState, now: number): void {
    const old = this.outstanding.evictIfFull();
    const om = old && this.members.get(old.member);
    const oep = old && om?.endpoints.get(old.key);
    if (old && om && oep) this.lost(old.member, om, oep, old.sentAt, now);
    const deadline = now + ep.est.timeoutMs(this.params);
    const entry = { member: id, key: ep.key, sentAt: now, deadline };
    // A trial, or a probe only in return: the member should not probe us back, unless traffic uses
    // the link. Not for a suspicion's window: an expired reciprocal link withdrawn from one advert
    // made the other side suspect it and probe it unmarked, which took it back in (4.8 reciprocal
    // links added and expired per node per minute in a quiet simulated 100-member network).
    const noReturn = this.set.isTrial(id) || (this.set.probesOnlyInReturn(id) && !(now < m.usedUntil));
    const probeId = this.outstanding.add(entry, noReturn);
    if (!this.ports.sendProbe(id, ep.key, probeId)) {
      this.outstanding.take(probeId, id, ep.key);
      this.unsent(id, m, ep, now);
      return;
    }
    this.counters.probesSent++;
    this.sentBySchedule[probeSchedule(m, ep, now)]++;
    ep.lastSentAt = now;
    if (ep.candidate) ep.candidateProbesLeft--;
    if (!ep.est.alive) ep.deadProbes++;
    if (ep.confirmProbes > 0) ep.confirmProbes--;
    // A second or more between probes (idle, dead): the beat at or after that will do. The fast
    // schedules (active, suspect, confirm) and NAT punches keep their exact times.
    const schedule = probeSchedule(m, ep, now);
    const at = now + this.interval(m, ep, now);
    ep.nextProbeAt = schedule === 'idle' || schedule === 'dead' ? this.beat.at(at) : at;
    this.schedule(id, ep);
  }

  /**
   * No session to send the probe in. Before the link ever answered (start-up, a member not yet
   * reached) that says nothing about the path: retry soon, count nothing. On an alive link it means
   * the session was lost, and the link cannot carry data: that counts as a loss like any other.
   */
  private unsent(id: NodeId, m: MemberState, ep: EndpointState, now: number): void {
    this.counters.probesUnsent++;
    if (ep.est.alive) {
      ep.lastSentAt = now;
      this.lost(id, m, ep, now, now);
      ep.nextProbeAt = now + this.interval(m, ep, now); // the suspect rate, or the dead backoff
    } else {
      ep.nextProbeAt = now + jittered(this.params.unsentRetryMs, this.params.jitterRatio, this.random);
    }
    this.schedule(id, ep);
  }

  /**
   * A reply after its probe's timeout: a spurious timeout (LinkEstimator.onLateReply). The timeout
   * adapts and the link leaves the fast rate it went on for the loss; a link declared dead meanwhile
   * is probed again at once, with the wider timeout, instead of at its dead backoff. One reply, at
   * most one probe: replies match our own probes, each once.
   */
  private lateReply(id: NodeId, ep: EndpointState, rttMs: number, countLoss: boolean, now: number): void {
    this.counters.repliesLate++;
    if (countLoss) this.probesLost++;
    ep.est.onLateReply(rttMs, countLoss, now);
    ep.suspect = false;
    if (!ep.est.alive) this.probeBy(id, ep, now);
    this.changed.add(id);
  }

  private lost(id: NodeId, m: MemberState, ep: EndpointState, sentAt: number, now: number): void {
    this.probesLost++;
    const wasAlive = ep.est.alive;
    restartIdleBackoff(ep);
    const t = ep.est.onLost(sentAt, now);
    if (t === 'down') {
      ep.suspect = false;
      ep.deadProbes = 0;
      this.selectBest(m);
      this.recheckIdleLinks(ep, now);
    } else if (wasAlive) {
      ep.suspect ||= this.takeFastSlot(id, ep);
      this.probeBy(id, ep, now + this.interval(m, ep, now));
    }
    this.changed.add(id);
  }

  /**
   * A link just died: look at every other alive idle link now instead of at its next (up to 8 s
   * away) idle probe. Failures come together — our uplink, a region cut off, a partition — and
   * one link found dead is the best evidence we get that others are; without this a partition
   * took one long idle gap per link to notice, 11.4 s to converge at N = 200 in the simulator.
   * Links probed within the last idle interval are left alone, so a burst of deaths costs each
   * link one extra probe, and a lone death (one member going away) about one probe per member.
   */
  private recheckIdleLinks(dead: EndpointState, now: number): void {
    for (const id of this.probedIds) {
      const m = this.members.get(id);
      if (!m || now < m.activeUntil) continue; // active links are on the fast schedule already
      for (const ep of m.endpoints.values()) {
        if (ep === dead || !ep.est.alive || now - ep.lastSentAt < this.params.idleIntervalMs) continue;
        restartIdleBackoff(ep);
        this.probeBy(id, ep, now);
      }
    }
  }

  /**
   * Whether `ep` may go on the fast rate for its lost probe (see ProbeParams.maxFastLinks). Slots of
   * endpoints that stopped being suspect (answered, died, replaced) are reclaimed here, lazily.
   */
  private takeFastSlot(id: NodeId, ep: EndpointState): boolean {
    if (this.fastSuspects.size >= this.params.maxFastLinks) {
      for (const [e, member] of this.fastSuspects) {
        const m = this.members.get(member);
        if (!e.suspect || !m?.probed || m.endpoints.get(e.key) !== e) this.fastSuspects.delete(e);
      }
      if (this.fastSuspects.size >= this.params.maxFastLinks) return false;
    }
    this.fastSuspects.set(ep, id);
    return true;
  }

  private lagMs(now: number): number {
    return this.ports.loopLagMs?.(now) ?? 0;
  }

  private interval(m: MemberState, ep: EndpointState, now: number): number {
    return probeInterval(m, ep, now, this.params, this.random);
  }

  private bestEndpoint(id: NodeId): EndpointState | undefined {
    const m = this.members.get(id);
    return m?.bestKey === undefined ? undefined : m.endpoints.get(m.bestKey);
  }

  /**
   * What the probe set ranks members by: the score of the best endpoint on its recent minimum RTT,
   * not its smoothed one. A busy host's scheduling hiccups (a daemon descheduled for tens of ms)
   * ride on a long-measured member's srtt but rarely on an explorer's few trial samples, so on srtt
   * nearly every trial in an idle 75-daemon lab "won" a slot: a link added and one withdrawn in two
   * nodes' adverts, flooded to everyone, ~twice a minute per node. The minimum is what the path
   * costs when nothing waits; the noise is not the member's.
   */
  private score(id: NodeId): number {
    const ep = this.bestEndpoint(id);
    return ep ? endpointScore(ep, this.params, ep.est.recentRttMs) : Infinity;
  }

  /** The probe timeout of `id`'s best endpoint; undefined before its first reply (in time or late). */
  private timeoutOf(id: NodeId): number | undefined {
    const est = this.bestEndpoint(id)?.est;
    return est?.sampled ? est.timeoutMs(this.params) : undefined;
  }

  private selectBest(m: MemberState): void {
    selectBestEndpoint(m, this.params);
  }

  /** (Re)arms the timer of `ep` at ep.nextProbeAt; earlier entries for it become stale. */
  private schedule(id: NodeId, ep: EndpointState): void {
    ep.gen++;
    this.timers.push({ at: ep.nextProbeAt, member: id, ep, gen: ep.gen });
    this.wakeAt = undefined;
  }

  /** Moves ep's next probe earlier (never later) and re-arms its timer if it moved. */
  private probeBy(id: NodeId, ep: EndpointState, at: number): void {
    if (at >= ep.nextProbeAt) return;
    ep.nextProbeAt = at;
    this.schedule(id, ep);
  }

  /** The earliest timer that is still meant (member probed, endpoint current, not rescheduled). */
  private liveTimer(): ProbeTimer | undefined {
    for (let t = this.timers.peek(); t !== undefined; t = this.timers.peek()) {
      const m = this.members.get(t.member);
      if (t.gen === t.ep.gen && m?.probed && m.endpoints.get(t.ep.key) === t.ep) return t;
      this.timers.pop();
    }
    return undefined;
  }

  private shouldProbe(id: NodeId, m: MemberState, now: number): boolean {
    return m.endpoints.size > 0 && this.wantsLink(id, m, now);
  }

  /** Whether we want a measured direct link to `member`: all of them, unless a bounded set says no. */
  private wantsLink(id: NodeId, m: MemberState, now: number): boolean {
    return !this.set.bounded || now < m.activeUntil || this.set.has(id);
  }

  private candidates(): NodeId[] {
    if (!this.candidateCache) {
      this.candidateCache = [];
      for (const [id, m] of this.members) if (m.endpoints.size > 0) this.candidateCache.push(id);
    }
    return this.candidateCache;
  }
}
