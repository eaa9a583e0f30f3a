// Which neighbours an accepted advert goes to, and how: pushed (the advert itself) or announced
// (a 12-byte ANNOUNCE entry, pulled by whoever lacks it — see announcer.ts).
//
//   our own advert        pushed to every neighbour;
//   urgent news           it withdraws a link that carried data (paths in use are broken): pushed
//                         through multipoint relays (below), announced to everyone else;
//   anything else         announced (drift in the slower batches, see AdvertNews), except to
//                         the origin's own neighbours, which it pushed to itself (a few backup
//                         announcers cover a lost push); any other neighbour
//                         is announced to by a few designated announcers (among the nodes next to
//                         it and the origin, or next to it), not by all of them.
//
// Multipoint relays (OLSR, RFC 3626 §8):
// Plain flooding (everyone forwards to every neighbour but the sender) delivers each advert to each
// node once per neighbour. In a 200-member network where each node has ~27 direct links that was
// ~27 copies of every advert at every node, and flooding dominated control traffic many times over.
//
// Instead every node X picks, among its neighbours, a small set of RELAYS such that every node two
// hops away (by the two-way links in the database) is adjacent to at least `relayCoverage` of them,
// and marks them in its own advert (LINK_FLAG_RELAY). A node Y that receives an advert from X
// forwards it only if X's advert marks Y as a relay; then it sends it to every neighbour except X,
// the origin, and those X lists as clean links of its own (X, a relay or the origin, sent them a
// copy already). The origin sends to all neighbours. Coverage 2 rather than OLSR's 1 keeps one lost
// copy or one stale view from leaving a node without the advert; anti-entropy (a SUMMARY to every
// neighbour every ~15 s) repairs whatever still slips through.
//
// When Y does not know whether it is X's relay (it has no advert of X that lists Y: X is new, or Y
// is new to X) it forwards: an unknown is treated like the plain flooding it replaces.
//
// Only urgent adverts are pushed this way (see Router.flood); every neighbour not pushed a copy is
// sent an announcement instead, so a relay set that is out of date (it is recomputed only when we
// originate) costs a round trip, not a lost advert. That is why a change of relays alone does not
// make us originate.
import type { NodeId } from '../identity/node-id.js';
import { LINK_FLAG_RELAY, linkFlags, linkLoss, linkMtu, type PackedLink } from './advert.js';
import type { Announcer } from './announcer.js';
import { encodeAdvertMessage } from './control-codec.js';
import type { LinkGraph } from './graph.js';
import { mix32 } from './hash.js';
import type { LinkStateDb } from './lsdb.js';
import type { RoutingParams } from './routing-params.js';

const BACKUP_ANNOUNCERS = 3;
/** Announcers per (origin, neighbour the origin does not reach cleanly): see designatedAnnouncer. */
const DESIGNATED_ANNOUNCERS = 3;
/** Of z's neighbours the origin did not push to, how many also announce news to it (not drift). */
const SECOND_HAND_ANNOUNCERS = 2;

/**
 * How pressing an accepted advert is for the nodes it reaches next: urgent (it withdraws a link that
 * carried data: pushed, see above), news (a link came or went, a link MTU or the origin's endpoints
 * changed, or it is the first advert we hold of its origin) or drift (the same links with other
 * measurements or flags, or a refresh: announced in driftAnnounceIntervalMs batches, see announcer.ts).
 */
export type AdvertNews = 'urgent' | 'news' | 'drift';

type FloodParams = Pick<RoutingParams, 'floodRelays' | 'relayCoverage' | 'pruneMaxLoss'>;

export class FloodPolicy {
  constructor(
    private readonly self: NodeId,
    private readonly params: FloodParams,
    private readonly lsdb: LinkStateDb,
    private readonly graph: LinkGraph,
    private readonly announcer: Announcer,
    private readonly send: (neighbor: NodeId, message: Uint8Array) => void,
  ) {}

  /**
   * Passes an accepted advert (origin, seq) on to `neighbors`; `from` is undefined for our own.
   * Returns how many copies were pushed.
   */
  spread(
    bytes: Uint8Array,
    origin: NodeId,
    seq: number,
    from: NodeId | undefined,
    news: AdvertNews,
    neighbors: Iterable<NodeId>,
    now: number,
  ): number {
    const urgent = news === 'urgent';
    const slow = news === 'drift';
    const all = [...neighbors];
    const pushed = new Set<NodeId>();
    if (from === undefined || urgent) {
      const msg = encodeAdvertMessage(bytes);
      for (const n of from === undefined ? all : this.targets(origin, from, all)) {
        if (n === origin) continue;
        this.send(n, msg);
        this.announcer.noteHas(n, origin, seq);
        pushed.add(n);
      }
    }
    const originLinks = from === undefined ? undefined : this.lsdb.get(origin)?.links;
    for (const n of all) {
      if (n === from || n === origin || pushed.has(n)) continue;
      const l = originLinks?.get(n);
      const covered = l !== undefined && linkLoss(l) <= this.params.pruneMaxLoss;
      if (covered) {
        // Urgent news (paths in use are broken) is announced to every such neighbour, not only by
        // the backup announcers: the hash threshold picks three on average and none for ~5 % of
        // (neighbour, origin) pairs, where a lost push then waited for anti-entropy. 12 bytes per
        // neighbour, for a rare event.
        if (urgent || this.backupAnnouncer(origin, n, originLinks?.size ?? 0))
          this.announcer.announce(n, origin, seq, now, slow);
        else this.announcer.noteHas(n, origin, seq);
      } else if (this.designatedAnnouncer(origin, n, originLinks, news)) {
        this.announcer.announce(n, origin, seq, now, slow);
      }
    }
    return pushed.size;
  }

  /** Neighbours to send `origin`'s advert to, received from `from` (undefined: we originated it). */
  targets(origin: NodeId, from: NodeId | undefined, neighbors: Iterable<NodeId>): NodeId[] {
    const out: NodeId[] = [];
    const fromLinks = from !== undefined && this.params.floodRelays ? this.lsdb.get(from)?.links : undefined;
    const me = fromLinks?.get(this.self);
    if (me !== undefined && (linkFlags(me) & LINK_FLAG_RELAY) === 0) return out; // X knows us, did not pick us
    for (const z of neighbors) {
      if (z === from || z === origin) continue;
      const l = me !== undefined ? fromLinks?.get(z) : undefined;
      if (l !== undefined && linkLoss(l) <= this.params.pruneMaxLoss) continue;
      out.push(z);
    }
    return out;
  }

  /**
   * The origin pushed its advert to each of its neighbours, so we need not announce it to those —
   * unless that one push was lost. As a backup, about BACKUP_ANNOUNCERS of the origin's neighbours
   * (a hash of (us, z, origin) against a threshold, so no list of candidates is needed) announce it
   * to z anyway: 12 bytes each, and a lost push is repaired in a quarter second instead of by the
   * next anti-entropy round.
   */
  backupAnnouncer(origin: NodeId, z: NodeId, originDegree: number): boolean {
    return rank(this.self, z, origin) < (BACKUP_ANNOUNCERS / Math.max(1, originDegree)) * 0x1_0000_0000;
  }

  /**
   * A neighbour z that the origin does not reach cleanly (no link: an ISP blocks the pair; or a lossy
   * one) must hear of the advert from someone next to both. Left to everyone, each such node
   * announced it — in a full mesh with 10 % of pairs blocked, ~N/10 announcements per advert per
   * node, O(N²) per advert network-wide: 400 kB/s of control traffic per node at N = 200. Instead
   * only the DESIGNATED_ANNOUNCERS nodes of lowest rank(x, z, origin) among z's neighbours that the
   * origin pushed to (both adverts tell us who they are) announce. A neighbour of z that got the
   * advert second hand leaves drift to them, and announces news only if it is among the
   * SECOND_HAND_ANNOUNCERS of lowest rank among such neighbours (see below).
   *
   * A z farther from the origin (no neighbour in common) is announced to the same way, by the
   * DESIGNATED_ANNOUNCERS of lowest rank among all of z's clean neighbours: every one of them gets
   * the advert in time, and each announcement beyond the first few is wasted — at N = 100 with
   * bounded neighbour sets nine in ten were (announcements 7.8 per node per second, requests 0.8),
   * and ANNOUNCE was the largest part of the control budget. The price is latency, not delivery:
   * z hears from the first of three random neighbours instead of the first of all of them.
   *
   * Urgent news (a link carrying data withdrawn) to such a z is still announced by everyone.
   * We announce anyway when we cannot know better: no advert of z, or one that does not list us
   * (a link newer than z's advert, e.g. just after a heal). If all designated announcers missed
   * the advert, z's next anti-entropy round finds it.
   */
  designatedAnnouncer(
    origin: NodeId,
    z: NodeId,
    originLinks: ReadonlyMap<NodeId, PackedLink> | undefined,
    news: AdvertNews = 'news',
  ): boolean {
    const urgent = news === 'urgent';
    const zLinks = this.lsdb.get(z)?.links;
    if (!zLinks) return true;
    const mine = rank(this.self, z, origin);
    if (originLinks) {
      const pushedToUs = originLinks.has(this.self);
      const [small, large] = zLinks.size <= originLinks.size ? [zLinks, originLinks] : [originLinks, zLinks];
      let common = 0;
      let lower = 0;
      for (const x of small.keys()) {
        if (x === this.self || x === origin || x === z || !large.has(x)) continue;
        common++;
        if (pushedToUs && rank(x, z, origin) < mine && ++lower >= DESIGNATED_ANNOUNCERS) return false;
      }
      if (common > 0) {
        if (pushedToUs || urgent) return true;
        // We got it second hand. Drift is left to the neighbours the origin pushed to; news also
        // takes a few of us, in case those are cut off (a partition). Counting ourselves in among
        // the pushed-to, as we did, meant nearly every second-hand neighbour announced (when fewer
        // than three of them rank lower): at N = 100 with bounded neighbour sets z heard of each
        // news advert from ~12 neighbours, and ANNOUNCE was a third of all control bytes.
        return (
          news !== 'drift' && this.ranksAmongLowest(origin, z, zLinks, SECOND_HAND_ANNOUNCERS, originLinks)
        );
      }
    }
    if (urgent || !zLinks.has(this.self)) return true; // urgent news: every path there, at once
    return this.ranksAmongLowest(origin, z, zLinks, DESIGNATED_ANNOUNCERS);
  }

  /**
   * Whether fewer than `k` of z's clean neighbours (other than us and the origin, and not among
   * `except`) rank below us for (z, origin).
   */
  private ranksAmongLowest(
    origin: NodeId,
    z: NodeId,
    zLinks: ReadonlyMap<NodeId, PackedLink>,
    k: number,
    except?: ReadonlyMap<NodeId, PackedLink>,
  ): boolean {
    const mine = rank(this.self, z, origin);
    let lower = 0;
    for (const [x, l] of zLinks) {
      if (x === this.self || x === origin || linkLoss(l) > this.params.pruneMaxLoss || except?.has(x))
        continue;
      if (rank(x, z, origin) < mine && ++lower >= k) return false;
    }
    return true;
  }

  /**
   * Greedy relay selection over our alive `neighbors`: first every neighbour that is among the only
   * `relayCoverage` routes to some two-hop node, then, while a two-hop node is under-covered, the
   * neighbour covering most of them (ties to the lower NodeId). Depends on topology only, never on
   * costs, so measurement noise does not churn the set (and our adverts with it).
   */
  selectRelays(neighbors: readonly NodeId[]): Set<NodeId> {
    const relays = new Set<NodeId>();
    if (!this.params.floodRelays) return relays;
    const n1 = new Set(neighbors);
    const providers = new Map<NodeId, NodeId[]>();
    for (const n of [...n1].sort((a, b) => a - b)) {
      for (const w of this.graph.neighborsOf(n)) {
        if (w === this.self || n1.has(w)) continue;
        let p = providers.get(w);
        if (!p) providers.set(w, (p = []));
        p.push(n);
      }
    }
    // A neighbour whose adjacency we cannot see yet (no advert of its that lists us) may lead anywhere.
    for (const n of n1) if (!this.lsdb.get(n)?.links.has(this.self)) relays.add(n);
    const need = new Map<NodeId, number>();
    for (const [w, p] of providers) {
      const k = Math.min(this.params.relayCoverage, p.length);
      if (p.length <= this.params.relayCoverage) for (const n of p) relays.add(n);
      need.set(w, k);
    }
    const covered = new Map<NodeId, number>();
    for (const [w, p] of providers) covered.set(w, p.filter((n) => relays.has(n)).length);
    for (let guard = n1.size; guard > 0; guard--) {
      const gain = new Map<NodeId, number>();
      for (const [w, p] of providers) {
        if ((covered.get(w) ?? 0) >= (need.get(w) ?? 0)) continue;
        for (const n of p) if (!relays.has(n)) gain.set(n, (gain.get(n) ?? 0) + 1);
      }
      let best: NodeId | undefined;
      let bestGain = 0;
      for (const [n, g] of gain)
        if (g > bestGain || (g === bestGain && best !== undefined && n < best)) [best, bestGain] = [n, g];
      if (best === undefined) break;
      relays.add(best);
      for (const [w, p] of providers) if (p.includes(best)) covered.set(w, (covered.get(w) ?? 0) + 1);
    }
    return relays;
  }
}

function rank(a: NodeId, b: NodeId, c: NodeId): number {
  return mix32(a ^ mix32(b ^ mix32(c)));
}

/**
 * What an accepted advert `next` says that the origin's previous one (`prev`) did not. Urgent only
 * when the origin flagged it so (`urgent`: it lost a link that carried data, advert.ts) and it does
 * withdraw a link we knew: paths in use through it are broken now, and that news floods eagerly. A
 * withdrawn idle link (a dead spare, one a bounded neighbour set stopped measuring, one whose flow
 * ended long ago) breaks nothing and travels lazily.
 */
export function advertNews(
  prev: ReadonlyMap<NodeId, PackedLink> | undefined,
  next: ReadonlyMap<NodeId, PackedLink>,
  urgent = false,
): AdvertNews {
  if (urgent && withdrawsLink(prev, next)) return 'urgent';
  if (!prev || prev.size !== next.size) return 'news';
  for (const [n, l] of next) {
    const before = prev.get(n);
    if (before === undefined || linkMtu(before) !== linkMtu(l)) return 'news';
  }
  return 'drift';
}

/** Whether `next` lacks a link that `prev` listed. */
export function withdrawsLink(
  prev: ReadonlyMap<NodeId, PackedLink> | undefined,
  next: ReadonlyMap<NodeId, PackedLink>,
): boolean {
  if (!prev) return false;
  for (const n of prev.keys()) if (!next.has(n)) return true;
  return false;
}
