// When to originate our own advert, and what goes in it.
//
// Every origination floods the whole network, so we only speak when what we said is no longer
// true enough to route on: a link appeared or vanished, its RTT moved by more than 20 % AND 2 ms
// from the advertised value (both: 20 % of a 0.5 ms LAN link is noise, 2 ms of a 150 ms link is
// too) AND its jitter, or its loss moved by more than 5 points. A jittered refresh every 15 min keeps
// our advert alive in everyone's database (lifetime an hour); anti-entropy repairs whatever flooding
// missed.
//
// Bad news travels fast, good news can wait a second. A link that carried data going away breaks
// paths that are in use right now: it goes out as soon as minOriginationIntervalMs (100 ms) since
// the previous advert allows — immediately after a quiet period. Everything else waits up to
// goodNewsIntervalMs (1 s) since the previous advert: a new link or a changed measurement only
// offers a better option, which path selectors hold for seconds anyway, and an idle link dying
// breaks no traffic (and our own routes around it change at once, locally). So a node coming up
// (links turning alive one by one over a few hundred ms) floods two or three adverts instead of
// ten, and so does a node losing half its links in a partition. A link the prober stopped measuring
// (a bounded neighbour set let it go) waits like drift, and a link turning active (data or a relayed
// flow started) is no reason to speak at all: in an idle 50-site lab the two were two thirds of all
// adverts (see withdraw, consider). Only the loss of a link that carried data is marked urgent in the
// advert itself (advert.ts ADVERT_FLAG_URGENT), so that forwarders push it on eagerly.
//
// A measurement must also stay moved: a link's RTT or loss drift is advertised only once every figure
// measured since it first moved has stayed beyond the thresholds for driftIntervalMs (see consider).
// A busy host delays replies for seconds at a time (a burst of work, a descheduled daemon), which
// moves the RTT of a sub-ms link beyond every threshold and then back: two network-wide adverts for a
// hiccup, most of the drift adverts of an idle 100-daemon lab. A real change of path lasts; it reaches
// others 10 s later (our own routes use the fresh figure at once).
//
// At most ADVERT_MAX_LINKS links fit one packet; a node with more alive links advertises the
// cheapest ones. Those are the ones paths would use, and its other neighbours still carry our
// floods and anti-entropy. Which links make the cut is sticky (an advertised link keeps its place
// unless another is cheaper by STICKY_RATIO), and a full advert changing its choice is drift, not
// news: with 199 links and room for 140, costs jittering around the boundary re-originated every
// 1–4 s, and in a full mesh each origination goes to every neighbour (250 kB/s per node at N = 200).
import { NO_BEAT, type Beat } from '../clock.js';
import { zeroCounts } from '../counts.js';
import type { NodeId } from '../identity/node-id.js';
import { ADVERT_MAX_LINKS, LINK_FLAG_ACTIVE, LINK_FLAG_RELAY, type AdvertLink } from './advert.js';
import { jitter, type RoutingParams } from './routing-params.js';

/** With fewer advertised links than this, a new link is prompt news (we are barely reachable). */
const FEW_LINKS = 3;
/** A full advert swaps a link for an unadvertised one only if that one costs less than this much of it. */
const STICKY_RATIO = 0.8;

/**
 * Why an advert went out (the most pressing reason when several were pending): a link that carried
 * data is gone, or a seq jump / member reload forced it (urgent); an idle link died or we had almost
 * no links (prompt); a new link or a link MTU (news); measurements moved, or a link is no longer
 * measured or was displaced (drift); nothing (refresh).
 */
export const ORIGINATION_CAUSES = ['urgent', 'prompt', 'news', 'drift', 'refresh'] as const;
export type OriginationCause = (typeof ORIGINATION_CAUSES)[number];

/**
 * What first made a drift advert due: a link's RTT or loss moved beyond the significance thresholds,
 * the probe set let a link go, or a new link displaced an advertised one.
 */
export const DRIFT_CAUSES = ['rtt', 'loss', 'unmeasured', 'displaced'] as const;
export type DriftCause = (typeof DRIFT_CAUSES)[number];

/** How a link left us (see consider). */
export type LinkGone = 'carried-data' | 'dead' | 'unmeasured';

export interface OwnLink {
  /** Probes lost in a row right now: the link is in doubt, its loss figure is not settled. */
  inDoubt?: boolean;
  neighbor: NodeId;
  rttMs: number;
  /** Mean difference between successive RTT samples (the prober's jitter): moves within it are noise. */
  jitterMs?: number;
  /** Minimum of the last few RTT samples: unmoved by a hiccup that moved the smoothed RTT. */
  baseRttMs?: number;
  loss: number;
  costMs: number;
  active: boolean;
  /** Largest datagram the link carries from us, when measured below the network's top (pmtu/). */
  mtu?: number;
}

type OriginatorParams = Pick<
  RoutingParams,
  | 'minOriginationIntervalMs'
  | 'goodNewsIntervalMs'
  | 'goodNewsMaxIntervalMs'
  | 'firstAdvertDelayMs'
  | 'driftIntervalMs'
  | 'refreshMs'
  | 'significantRttRatio'
  | 'significantRttMs'
  | 'significantLoss'
  | 'jitterRatio'
>;

/** What our last advert said about one link. */
interface Advertised {
  rttMs: number;
  baseRttMs: number | undefined;
  loss: number;
  costMs: number;
  mtu: number | undefined;
}

export class Originator {
  private advertised = new Map<NodeId, Advertised>();
  private maxAdvertisedCost = 0;
  private pending = false;
  private urgent = false;
  /** A link that carried data died since the last advert: the next one is flagged urgent. */
  private carrierLost = false;
  /** Whether the advert last taken withdraws a link that carried data (advert.ts ADVERT_FLAG_URGENT). */
  tookCarrierLoss = false;
  /**
   * News that must not wait longer than goodNewsIntervalMs whatever the backoff: a link is gone (even
   * an idle one — routes through it are invalid), or a link appeared while we had almost none (we
   * are unreachable until others hear of it).
   */
  private prompt = false;
  /**
   * A link was let go by the probe set or displaced another: news that can wait
   * driftIntervalMs since the previous advert.
   */
  private structuralDrift = false;
  /**
   * Advertised links whose RTT or loss is beyond the thresholds of what we said, since when and
   * which: due once one has stayed so for driftIntervalMs.
   */
  private readonly moved = new Map<NodeId, { since: number; why: 'rtt' | 'loss' }>();
  /** What first made a drift advert due since the last advert. */
  private driftCause: DriftCause = 'rtt';
  private lastAt = -Infinity;
  private refreshAt = Infinity;
  /** Current spacing of bad-news adverts: doubles while changes keep coming (see dueAt). */
  private urgentInterval: number;
  /** Current spacing of good-news adverts: doubles while good news keeps coming (see dueAt). */
  private goodInterval: number;
  /** Adverts taken, by cause (router stats: where the advert traffic comes from). */
  readonly takenBy = zeroCounts(ORIGINATION_CAUSES);
  /** Drift adverts taken, by what first made them due. */
  readonly driftBy = zeroCounts(DRIFT_CAUSES);
  /** Links whose RTT or loss moved and came back within driftIntervalMs: adverts not sent. */
  driftFaded = 0;

  constructor(
    private readonly params: OriginatorParams,
    private readonly random: () => number,
    /** Drift and refresh adverts wait for the node's beat (clock.ts); news and losses never do. */
    private readonly beat: Beat = NO_BEAT,
  ) {
    this.urgentInterval = params.minOriginationIntervalMs;
    this.goodInterval = params.goodNewsIntervalMs;
  }

  /**
   * The node just started. Its first advert waits firstAdvertDelayMs: links turn alive one by one
   * over the first second or so (our probes, then the members that probe us back), and each advert
   * sent before they settle costs every node in the network a copy.
   */
  start(now: number): void {
    this.lastAt = Math.max(
      this.lastAt,
      now + this.params.firstAdvertDelayMs - this.params.goodNewsIntervalMs,
    );
  }

  /**
   * Our link to `neighbor` is gone, and `gone` says how: it carried data (paths in use are broken:
   * urgent), it died idle (routes through it are invalid: within a second), or the prober stopped
   * measuring it (a bounded neighbour set let it go after an active window: it probably still works,
   * and saying so can wait like drift).
   */
  withdraw(neighbor: NodeId, gone: LinkGone): void {
    if (!this.advertised.has(neighbor)) return;
    // Whatever else made the next advert urgent already (a forced one: seq jump, member reload), it
    // must still tell forwarders that a link carrying data is gone.
    if (gone === 'carried-data') this.carrierLost = true;
    if (this.urgent) return;
    if (gone === 'unmeasured') {
      this.drifted('unmeasured');
      return;
    }
    this.pending = this.prompt = true;
    this.urgent = gone === 'carried-data';
  }

  /** Our link to `neighbor` is new or changed, at `now`. */
  consider(neighbor: NodeId, link: OwnLink, now: number): void {
    if (this.urgent || this.pending) return;
    const adv = this.advertised.get(neighbor);
    if (!adv) {
      // A full advert only changes if the new link clearly displaces one of the advertised ones,
      // and then only as a cost refinement: we are reachable through 140 links already.
      if (this.advertised.size < ADVERT_MAX_LINKS || link.active) this.pending = true;
      else if (link.costMs < this.maxAdvertisedCost * STICKY_RATIO) this.drifted('displaced');
      if (this.advertised.size < FEW_LINKS) this.prompt = true;
      return;
    }
    // A link that carries data is flagged ACTIVE, but its turning active is no reason to speak: what
    // makes others flood its loss eagerly is the advert's own urgent flag, set when it dies carrying
    // data (withdraw, advert.ts). As drift it was 0.15 adverts per node per minute in an idle lab.
    // A link MTU that changed is news like a new link: others' paths through it carry packets that
    // are now too big (or could be bigger), and the search moves it rarely (once per black hole).
    if (link.mtu !== adv.mtu) this.pending = true;
    // A link losing probes in a row is about to be declared dead or to recover: its loss and RTT
    // figures are in flux, and advertising each step would flood twice for one event.
    if (link.inDoubt) return;
    const why = this.measurementMoved(link, adv);
    const was = this.moved.get(neighbor);
    if (why === undefined) {
      if (was !== undefined && this.moved.delete(neighbor)) this.driftFaded++;
    } else if (was === undefined) {
      if (!this.drifting()) this.driftCause = why;
      this.moved.set(neighbor, { since: now, why });
    }
  }

  /**
   * Whether `link`'s RTT or loss is significantly away from what we advertised for it (`said`), and
   * which. Compared unquantized: with a 20-probe window one lost probe moves the loss by exactly
   * 0.05, which must not count as significant on its own (quantizing would round it just above).
   */
  private measurementMoved(link: OwnLink, said: Advertised): 'rtt' | 'loss' | undefined {
    const p = this.params;
    // Nor is a move within the link's own jitter: the smoothed RTT of a link whose samples scatter
    // by J wanders by about J/4, and a busy host puts several ms of scheduling noise on sub-ms links
    // (5 drift adverts per node per minute in an idle 50-site lab on 2 cores). Nor a move of the
    // smoothed RTT alone: one reply held 30 ms by a descheduled daemon lifts srtt by ~4 ms for a
    // few samples while the jitter (a slow mean) stays small, then srtt decays back: two adverts
    // for one hiccup (2.6 of 3.7 adverts per node per minute in an idle 75-daemon lab were such RTT
    // drift). A real change moves the recent minimum as well, within a few samples.
    const moved = (current: number, said: number, noise = 0): boolean => {
      const d = Math.abs(current - said);
      return d > p.significantRttRatio * said && d > p.significantRttMs && d > noise;
    };
    const baseMoved =
      link.baseRttMs === undefined || said.baseRttMs === undefined || moved(link.baseRttMs, said.baseRttMs);
    if (moved(link.rttMs, said.rttMs, link.jitterMs) && baseMoved) return 'rtt';
    if (Math.abs(link.loss - said.loss) > p.significantLoss + 1e-9) return 'loss';
    return undefined;
  }

  /** A link was let go or displaced another (not a measurement: nothing to confirm). */
  private drifted(why: Exclude<DriftCause, 'rtt' | 'loss'>): void {
    if (!this.drifting()) this.driftCause = why;
    this.structuralDrift = true;
  }

  private drifting(): boolean {
    return this.structuralDrift || this.moved.size > 0;
  }

  /** When the earliest moved link will have stayed moved for driftIntervalMs (Infinity: none moved). */
  private movedDueAt(): number {
    let since = Infinity;
    for (const m of this.moved.values()) since = Math.min(since, m.since);
    return since + this.params.driftIntervalMs;
  }

  /** Originate at the next opportunity whatever changed (seq jump, member list reload). */
  force(): void {
    this.pending = this.urgent = true;
  }

  isPending(): boolean {
    return this.pending || this.drifting();
  }

  /**
   * When the next origination is due (Infinity: nothing to say yet). Bad news after a quiet spell
   * goes out minOriginationIntervalMs after the previous advert; while links keep dying (a
   * partition takes down half our links over a second or so) the spacing doubles up to
   * goodNewsIntervalMs, so a node sends a handful of adverts for the whole event instead of ten,
   * each of which every node would receive. Good news backs off the same way, from 1 s up to
   * goodNewsMaxIntervalMs: when a partition heals, links come back over the ~5 s of dead-link
   * backoff, and the first advert with a healed link is what restores reachability; the rest only
   * refine costs. (A withdrawn idle link, or a new link when we had almost none, is not backed off
   * past 1 s: routes through the former are invalid, and without the latter we are unreachable.) Two quiet spacings reset either. Measurements that merely drifted
   * (RTT, loss: no link came or went) wait driftIntervalMs: in a mesh of 200 every node has a
   * dozen lossy links whose 20-probe loss figure crosses the 5-point threshold every few seconds,
   * and each such advert costs the whole network; our own routing uses the fresh figures at once.
   */
  dueAt(): number {
    if (this.urgent) return this.lastAt + this.urgentInterval;
    if (this.pending) return this.lastAt + (this.prompt ? this.params.goodNewsIntervalMs : this.goodInterval);
    if (this.drifting()) {
      const spaced = this.lastAt + this.params.driftIntervalMs;
      // A moved measurement must also have stayed moved for an interval; other drift only waits.
      const held = this.structuralDrift ? spaced : Math.max(spaced, this.movedDueAt());
      return this.beat.at(Math.min(this.refreshAt, held));
    }
    return this.beat.at(this.refreshAt);
  }

  /** Picks the links to advertise from all alive `links`, and records them as said at `now`. */
  take(links: readonly OwnLink[], relays: ReadonlySet<NodeId>, now: number): AdvertLink[] {
    // Links advertised last time rank as if STICKY_RATIO cheaper (see the top of this file).
    const rankOf = (l: OwnLink): number =>
      this.advertised.has(l.neighbor) ? l.costMs * STICKY_RATIO : l.costMs;
    const chosen = [...links]
      .filter((l) => Number.isFinite(l.costMs))
      // Links carrying data come first: dropping one from the advert would read as its withdrawal,
      // which others must treat as urgent (paths in use broken) and flood eagerly.
      .sort((a, b) => Number(b.active) - Number(a.active) || rankOf(a) - rankOf(b) || a.neighbor - b.neighbor)
      .slice(0, ADVERT_MAX_LINKS);
    this.advertised = new Map();
    this.maxAdvertisedCost = 0;
    for (const l of chosen) {
      this.advertised.set(l.neighbor, {
        rttMs: l.rttMs,
        baseRttMs: l.baseRttMs,
        loss: l.loss,
        costMs: l.costMs,
        mtu: l.mtu,
      });
      this.maxAdvertisedCost = Math.max(this.maxAdvertisedCost, l.costMs);
    }
    const p = this.params;
    const gap = now - this.lastAt;
    if (this.urgent && gap < 2 * this.urgentInterval) {
      this.urgentInterval = Math.min(2 * this.urgentInterval, p.goodNewsIntervalMs);
    } else if (gap >= 2 * this.urgentInterval) {
      this.urgentInterval = p.minOriginationIntervalMs;
    }
    if (!this.urgent && gap < 2 * this.goodInterval) {
      this.goodInterval = Math.min(2 * this.goodInterval, p.goodNewsMaxIntervalMs);
    } else if (gap >= 2 * this.goodInterval) {
      this.goodInterval = p.goodNewsIntervalMs;
    }
    const cause = this.cause();
    this.takenBy[cause]++;
    if (cause === 'drift') this.driftBy[this.driftCause]++;
    this.tookCarrierLoss = this.carrierLost;
    this.pending = this.urgent = this.prompt = this.structuralDrift = this.carrierLost = false;
    this.moved.clear();
    this.lastAt = now;
    this.refreshAt = now + jitter(this.params.refreshMs, this.params.jitterRatio, this.random);
    return chosen.map((l) => {
      const flags = (l.active ? LINK_FLAG_ACTIVE : 0) | (relays.has(l.neighbor) ? LINK_FLAG_RELAY : 0);
      const out: AdvertLink = { neighbor: l.neighbor, rttMs: l.rttMs, loss: l.loss, flags };
      if (l.mtu !== undefined) out.mtu = l.mtu;
      return out;
    });
  }

  private cause(): OriginationCause {
    if (this.urgent) return 'urgent';
    if (this.prompt) return 'prompt';
    if (this.pending) return 'news';
    return this.drifting() ? 'drift' : 'refresh';
  }

  /** Whether our last advert lists `neighbor`. */
  advertises(neighbor: NodeId): boolean {
    return this.advertised.has(neighbor);
  }
}
