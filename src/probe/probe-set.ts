// Which members to probe when the network is too big to probe everyone (maxProbedMembers = K > 0).
//
// RON probed all pairs and stopped near 50 nodes: N members probing N members is O(N²) packets,
// and every probed link is also a neighbour that floods adverts. Past a few hundred members we keep
// a bounded set instead:
//
//   - K "chosen" members: K - R kept because they measured best (a latency-local neighbourhood), and
//     R random members kept as long links. Local links alone give a graph whose diameter grows like
//     √N and would exceed the 8-hop path limit; a few random long links make it a small world
//     (diameter ~ log N), like Kleinberg's grid.
//   - one explorer at a time: a random member probed for exploreTrialMs; if it beats the worst
//     best-slot member by a clear margin (25 % and 2 ms) it takes that slot. The gap before the next trial starts at
//     exploreIntervalMs and doubles after each trial that found nothing (up to exploreMaxIntervalMs),
//     so a settled node stops churning; a chosen member dying resets it. A trial is invisible to
//     routing (see isTrial) so that exploring costs probes, not network-wide adverts.
//   - reciprocity: a member that probes us is probed back (up to 2K of them besides our own picks), so
//     the link is measured at both ends and passes the two-way check other nodes apply to adverts.
//     Without it a link chosen by one side only would be invisible to everyone else. Probes we send
//     only in return ask not to be returned (see probesOnlyInReturn).
//   - members in active use are always probed (the prober handles that, not this class).
//
// Dead chosen members are replaced after `deadReplaceMs` (3 s), or after three of the member's probe
// timeouts when its round trips are slow (see REPLACE_AFTER_TIMEOUTS), and one that died is not picked
// again for a minute, so a partition or a policy-blocked pair does not waste slots for long. A node left
// with fewer than two alive members (its region was cut off from where its neighbours live) tries
// eight more at once, replacing those that do not answer within a second: with most random picks on
// the far side of a partition, one at a time would leave it isolated for many rounds.
import { zeroCounts } from '../counts.js';
import type { NodeId } from '../identity/node-id.js';
import { jittered, type ProbeParams } from './probe-params.js';

/**
 * Why the set changed (each is a link added to or withdrawn from our advert, flooded to everyone):
 * an empty slot filled, a dead chosen member replaced, an explorer that won a slot (it replaces the
 * worst best-slot member), surplus shed after a rescue, a member that probes us taken in, or one
 * that stopped probing us let go.
 */
export const SET_CHANGES = [
  'filled',
  'dead-replaced',
  'explorer-won',
  'shed',
  'reciprocal-added',
  'reciprocal-expired',
] as const;
export type SetChange = (typeof SET_CHANGES)[number];

type SetParams = Pick<
  ProbeParams,
  | 'maxProbedMembers'
  | 'randomProbedMembers'
  | 'exploreIntervalMs'
  | 'exploreTrialMs'
  | 'exploreMaxIntervalMs'
  | 'reciprocalTtlMs'
  | 'jitterRatio'
  | 'deadReplaceMs'
>;

/**
 * The explorer must have beaten the worst best-slot member by this fraction AND this many ms (of
 * endpoint score) to take its slot. Every swap is a link withdrawn and one added in two nodes'
 * adverts, flooded to everyone: at 10 % alone, RTT noise between near-equal members (a 5 s trial is
 * a handful of idle samples) won slots back and forth and kept adverts flowing in an idle network.
 * 25 % and 2 ms is wider than the steady band (20 %, 2 ms) that routing itself ignores.
 */
const EXPLORE_MARGIN = 0.25;
const EXPLORE_MARGIN_MS = 2;
/**
 * A dead or silent chosen member is replaced only after this many of its probe timeouts (when that is
 * longer than deadReplaceMs). A new pick comes alive at its first reply in time: with round trips of
 * r, its first probe (initial timeout 1 s) is answered late at r, the late reply widens the timeout and
 * re-probes, and the second reply comes in time at 2r. At N = 75 on two cores r was 1.2 s, so most
 * picks were replaced at 3 s just before they came alive: 14.7 replacements per node per minute, each
 * a link withdrawn and another added in an advert flooded to every node. The timeout (srtt + 4·rttvar,
 * at most maxTimeoutMs, 4 s) is the member's own measure of "too late", so three of them are a fixed
 * 3 s on a quiet network and up to 12 s on a saturated one.
 */
const REPLACE_AFTER_TIMEOUTS = 3;
/** Fewer alive members than this in the set triggers a rescue (see tick). */
const RESCUE_BELOW_ALIVE = 2;
const RESCUE_EXTRA = 8;
/** While rescuing, a pick that has not answered within this long is replaced. */
const RESCUE_REPLACE_MS = 1000;
/** A chosen member silent this long counts towards a rescue. */
const RESCUE_AFTER_MS = 1500;
/** How often tick() looks at the set (dead replacement takes seconds; no need to look per probe). */
const MAINTENANCE_MS = 200;
/** A chosen member dropped for being dead is not picked again for this long. */
const RECENTLY_DEAD_MS = 60_000;

interface Chosen {
  kind: 'best' | 'random';
  /** It has answered at least once: losing it is a change of neighbourhood, not a bad pick. */
  answered: boolean;
  /** When the member was first seen dead (score Infinity) without recovering since; undefined if alive. */
  deadSince: number | undefined;
}

export class ProbeSet {
  private readonly chosen = new Map<NodeId, Chosen>();
  private explorer: NodeId | undefined;
  private readonly reciprocal = new Map<NodeId, number>();
  private readonly recentlyDead = new Map<NodeId, number>();
  private nextMaintenanceAt = -Infinity;
  private rescuing = false;
  private exploreInterval: number;
  private nextExploreAt: number | undefined;
  private trialEndsAt = Infinity;
  /** Members whose membership may have changed since the last drainTouched(). */
  private readonly touched = new Set<NodeId>();
  /** Changes of the set since start, by why (Prober.stats: setChangesBy). */
  readonly changesBy = zeroCounts(SET_CHANGES);

  constructor(
    private readonly params: SetParams,
    private readonly random: () => number,
  ) {
    this.exploreInterval = params.exploreIntervalMs;
  }

  get bounded(): boolean {
    return this.params.maxProbedMembers > 0;
  }

  /** Whether `member` is in the set (active use is the caller's business). */
  has(member: NodeId): boolean {
    return (
      !this.bounded || this.chosen.has(member) || this.explorer === member || this.reciprocal.has(member)
    );
  }

  /**
   * `member` probed us at `now`. At most 2K reciprocal members: each node is chosen by K others on
   * average, so 2K covers all but the most popular. When full we do NOT evict to make room — an
   * evicted member probes again a second later, gets re-added, evicts another, and every such flip
   * is a link coming and going in our advert. Newcomers simply wait for a slot (TTL expiry).
   */
  noteProbedBy(member: NodeId, now: number): void {
    if (!this.bounded) return;
    if (this.reciprocal.has(member)) {
      this.reciprocal.set(member, now);
      return;
    }
    // A member we chose is noted (should we stop choosing it while it still chooses us, the link
    // stays) but takes no slot: we probe it anyway. Taking slots, our own K picks, all probing us
    // back, filled half the 2K: in a simulated 200-member network most nodes had none left, and a
    // node whose region a partition cut off chose members that would not probe it back, its links
    // one-way in every advert and itself unreachable for up to 20 s.
    const ours = this.chosen.has(member);
    if (!ours && this.slotsTaken() >= 2 * this.params.maxProbedMembers) return;
    this.reciprocal.set(member, now);
    if (ours) return;
    this.touched.add(member);
    this.changesBy['reciprocal-added']++;
  }

  /**
   * Whether we probe `member` only because it probes us. Such probes ask it not to probe us back
   * (the prober marks them like a trial's): returned, each side's probes kept the other in its
   * reciprocal set for good once either had stopped choosing the other, and those pairs, chosen by
   * nobody, filled the 2K slots.
   */
  probesOnlyInReturn(member: NodeId): boolean {
    return (
      this.bounded && this.reciprocal.has(member) && !this.chosen.has(member) && this.explorer !== member
    );
  }

  /** Reciprocal members that take a slot: those we did not choose. */
  private slotsTaken(): number {
    let n = 0;
    for (const m of this.reciprocal.keys()) if (!this.chosen.has(m)) n++;
    return n;
  }

  forget(member: NodeId): void {
    this.chosen.delete(member);
    this.reciprocal.delete(member);
    if (this.explorer === member) this.explorer = undefined;
    this.touched.add(member);
  }

  /** Members added to or removed from the set since the previous call. */
  drainTouched(): NodeId[] {
    if (this.touched.size === 0) return [];
    const out = [...this.touched];
    this.touched.clear();
    return out;
  }

  /** When `tick` next has work (exploration), or Infinity. */
  nextEventAt(): number {
    if (!this.bounded) return Infinity;
    if (this.explorer !== undefined) return this.trialEndsAt;
    return this.nextExploreAt ?? -Infinity;
  }

  /**
   * Maintains the set. `candidates` are the members we could probe (they have an endpoint);
   * `score(m)` is the measured cost of m's best endpoint, Infinity when dead or never answered;
   * `timeoutMs(m)` is the probe timeout of m's best endpoint (how long a reply may take), undefined
   * before m's first reply.
   */
  tick(
    now: number,
    candidates: readonly NodeId[],
    score: (m: NodeId) => number,
    timeoutMs: (m: NodeId) => number | undefined = () => undefined,
  ): void {
    if (!this.bounded) return;
    // The prober ticks for every probe it sends; the set only needs a look a few times a second.
    if (now < this.nextMaintenanceAt && now < this.nextEventAt()) return;
    this.nextMaintenanceAt = now + MAINTENANCE_MS;
    const K = this.params.maxProbedMembers;
    const R = Math.min(this.params.randomProbedMembers, K);
    for (const [m, at] of this.reciprocal) {
      if (now - at <= this.params.reciprocalTtlMs) continue;
      if (this.chosen.has(m))
        this.reciprocal.delete(m); // still ours: no change
      else this.drop(this.reciprocal, m, 'reciprocal-expired');
    }

    let alive = 0;
    let silent = 0;
    // Cut off (see rescue below), unanswered picks are given up after a second rather than three.
    const replaceAfter = this.rescuing ? RESCUE_REPLACE_MS : this.params.deadReplaceMs;
    let typical: number | undefined; // only needed for a dead pick with no reply yet
    for (const [m, c] of this.chosen) {
      if (score(m) < Infinity) {
        c.deadSince = undefined;
        c.answered = true;
        alive++;
        continue;
      }
      if (c.deadSince === undefined) c.deadSince = now;
      const timeout = timeoutMs(m) ?? (typical ??= this.typicalTimeout(timeoutMs));
      const deadFor = now - c.deadSince;
      if (deadFor > Math.max(RESCUE_AFTER_MS, timeout)) silent++;
      if (deadFor > Math.max(replaceAfter, (this.rescuing ? 1 : REPLACE_AFTER_TIMEOUTS) * timeout)) {
        this.drop(this.chosen, m, 'dead-replaced');
        this.recentlyDead.set(m, now);
        // A member we measured died: the neighbourhood changed, look again soon. A pick that never
        // answered (a blocked pair: one in ten here) says nothing about the neighbourhood; resetting
        // on it kept every node exploring every 30 s for good, and each trial that wins a slot is
        // a link added and one withdrawn in two nodes' adverts, flooded to everyone.
        if (c.answered) this.exploreInterval = this.params.exploreIntervalMs;
      }
    }
    for (const m of this.reciprocal.keys()) if (!this.chosen.has(m) && score(m) < Infinity) alive++;
    for (const [m, at] of this.recentlyDead) if (now - at > RECENTLY_DEAD_MS) this.recentlyDead.delete(m);
    // Rescue: cut off from nearly everyone we measure (a partition took our side away), try
    // RESCUE_EXTRA more members at once rather than one replacement per deadReplaceMs.
    // (Only once members have had time to answer: at boot nothing is alive yet.)
    this.rescuing = alive < RESCUE_BELOW_ALIVE && (this.rescuing || silent >= K / 2);
    const target = K + (this.rescuing ? RESCUE_EXTRA : 0);
    let randoms = 0;
    for (const c of this.chosen.values()) if (c.kind === 'random') randoms++;
    while (this.chosen.size < target) {
      const m = this.pickUnused(candidates);
      if (m === undefined) break;
      this.chosen.set(m, { kind: randoms < R ? 'random' : 'best', answered: false, deadSince: undefined });
      this.touched.add(m);
      this.changesBy.filled++;
      if (randoms < R) randoms++;
    }
    // Back to normal: shed the surplus rescue left, worst first (withdrawn quietly: nobody uses them).
    if (alive >= RESCUE_BELOW_ALIVE && this.chosen.size > K) this.shed(K, score);

    if (this.explorer !== undefined) {
      if (now < this.trialEndsAt) return;
      this.concludeExploration(score);
      this.scheduleExplore(now);
    } else if (this.nextExploreAt === undefined) {
      this.scheduleExplore(now);
    } else if (now >= this.nextExploreAt) {
      this.explorer = this.pickUnused(candidates);
      if (this.explorer !== undefined) this.touched.add(this.explorer);
      this.trialEndsAt = now + this.params.exploreTrialMs;
      this.nextExploreAt = undefined;
    }
  }

  /**
   * Whether `member` is probed only as the explorer on trial. Its link is measured but not handed
   * to routing, and its probes are marked so the member does not probe back: a trial that fails
   * must not make two nodes advertise a link and then withdraw it.
   */
  isTrial(member: NodeId): boolean {
    return this.explorer === member && !this.chosen.has(member) && !this.reciprocal.has(member);
  }

  /**
   * The median probe timeout of the chosen members that answered (0 if none): the patience given to
   * a pick that has not answered yet. Its session may still be in its handshake, a round trip or two
   * before its first probe goes out, and on a saturated machine a round trip is a second or more.
   */
  private typicalTimeout(timeoutMs: (m: NodeId) => number | undefined): number {
    const known: number[] = [];
    for (const m of this.chosen.keys()) {
      const t = timeoutMs(m);
      if (t !== undefined) known.push(t);
    }
    known.sort((a, b) => a - b);
    return known.length === 0 ? 0 : known[known.length >> 1];
  }

  private shed(K: number, score: (m: NodeId) => number): void {
    const worst = [...this.chosen.keys()].sort((a, b) => score(b) - score(a));
    for (const m of worst.slice(0, this.chosen.size - K)) this.drop(this.chosen, m, 'shed');
  }

  private concludeExploration(score: (m: NodeId) => number): void {
    const explorer = this.explorer as NodeId;
    this.explorer = undefined;
    this.touched.add(explorer);
    let worst: NodeId | undefined;
    let worstScore = -Infinity;
    for (const [m, c] of this.chosen) {
      if (c.kind !== 'best') continue;
      const s = score(m);
      if (s > worstScore) {
        worst = m;
        worstScore = s;
      }
    }
    const s = score(explorer);
    if (worst !== undefined && s < worstScore * (1 - EXPLORE_MARGIN) - EXPLORE_MARGIN_MS) {
      this.drop(this.chosen, worst, 'explorer-won');
      this.chosen.set(explorer, { kind: 'best', answered: true, deadSince: undefined });
      this.exploreInterval = this.params.exploreIntervalMs;
    } else {
      this.exploreInterval = Math.min(this.exploreInterval * 2, this.params.exploreMaxIntervalMs);
    }
  }

  private drop<V>(map: Map<NodeId, V>, m: NodeId, why: SetChange): void {
    map.delete(m);
    this.touched.add(m);
    this.changesBy[why]++;
  }

  private scheduleExplore(now: number): void {
    this.nextExploreAt = now + jittered(this.exploreInterval, this.params.jitterRatio, this.random);
  }

  /** A random candidate not already in the set; bounded tries so a full set costs little. */
  private pickUnused(candidates: readonly NodeId[]): NodeId | undefined {
    if (candidates.length === 0) return undefined;
    for (let tries = 0; tries < 16; tries++) {
      const m = candidates[Math.floor(this.random() * candidates.length)];
      if (!this.has(m) && !this.recentlyDead.has(m)) return m;
    }
    for (const m of candidates) if (!this.has(m) && !this.recentlyDead.has(m)) return m;
    return undefined;
  }
}
