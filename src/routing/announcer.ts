// Lazy flooding: news that is not urgent travels as a 12-byte ANNOUNCE entry, and the advert itself
// crosses to a neighbour only when that neighbour REQUESTs it.
//
// Eager flooding hands every node one copy of every advert per neighbour that forwards it. In a
// sparse overlay (the bounded neighbour sets of a large network) nearly every neighbour does, so a
// 200-member network with ~14 links per node delivered ~12 copies of every advert to every node,
// and refreshes alone (one advert per node per 30 s) cost tens of kB/s per node. Most adverts are
// not urgent: refreshes, new links, measurements drifting. Those we announce instead — batched per
// neighbour every announceIntervalMs — and each node pulls the advert once from the first neighbour
// that announces it. A link going DOWN still floods eagerly (see Router.flood): that is the news
// that breaks paths in use.
//
// Robustness: every neighbour announces what it accepts, so one lost announcement, request or reply
// is covered by the next neighbour's announcement; a request that got no answer within
// requestTimeoutMs is retried with another neighbour known to have the advert. Anti-entropy
// summaries remain the last resort, and feed their differences through here too.
import type { NodeId } from '../identity/node-id.js';
import { encodeAnnounceChunks, encodeRequestChunks, type SummaryEntry } from './control-codec.js';
import type { LinkStateDb } from './lsdb.js';
import type { RoutingParams } from './routing-params.js';

export interface AnnouncerPorts {
  send(neighbor: NodeId, message: Uint8Array): void;
  isMember(id: NodeId): boolean;
}

interface Requested {
  seq: number;
  from: NodeId;
  at: number;
}

export class Announcer {
  /** Per neighbour: origin → seq to announce at the next flush. */
  private readonly pending = new Map<NodeId, Map<NodeId, number>>();
  /**
   * Per origin: the highest seq we know a neighbour holds, and which neighbours hold it (they sent
   * or announced it, or we pushed it). One lookup per advert rather than one per neighbour.
   */
  private readonly known = new Map<NodeId, { seq: number; holders: Set<NodeId> }>();
  private readonly requested = new Map<NodeId, Requested>();
  private flushAt = Infinity;
  private retryAt = Infinity;
  announcementsSent = 0;
  requestsSent = 0;

  constructor(
    private readonly params: Pick<RoutingParams, 'announceIntervalMs' | 'requestTimeoutMs'>,
    private readonly lsdb: LinkStateDb,
    private readonly ports: AnnouncerPorts,
  ) {}

  /** `n` holds (origin, seq): never announce it back. */
  noteHas(n: NodeId, origin: NodeId, seq: number): void {
    const k = this.known.get(origin);
    if (!k || seq > k.seq) this.known.set(origin, { seq, holders: new Set([n]) });
    else if (seq === k.seq) k.holders.add(n);
    const p = this.pending.get(n);
    if (p && (p.get(origin) ?? Infinity) <= seq) p.delete(origin);
  }

  private holds(n: NodeId, origin: NodeId, seq: number): boolean {
    const k = this.known.get(origin);
    return k !== undefined && k.seq >= seq && k.holders.has(n);
  }

  /** Queue (origin, seq) for neighbour `n` unless it is known to hold it already. */
  announce(n: NodeId, origin: NodeId, seq: number, now: number): void {
    if (this.holds(n, origin, seq)) return;
    let p = this.pending.get(n);
    if (!p) this.pending.set(n, (p = new Map()));
    p.set(origin, seq);
    if (this.flushAt === Infinity) this.flushAt = now + this.params.announceIntervalMs;
  }

  neighborDown(n: NodeId): void {
    this.pending.delete(n);
    for (const k of this.known.values()) k.holders.delete(n);
  }

  /** An advert arrived: whatever we asked for it is settled. */
  received(origin: NodeId, seq: number): void {
    const r = this.requested.get(origin);
    if (r && r.seq <= seq) this.requested.delete(origin);
  }

  onAnnounce(from: NodeId, entries: readonly SummaryEntry[], now: number): void {
    for (const { origin, seq } of entries) if (this.ports.isMember(origin)) this.noteHas(from, origin, seq);
    this.want(from, entries, now);
  }

  /**
   * `from` holds these adverts: REQUEST the ones that are news to us, unless one is already asked
   * for (from any neighbour) and the request has not timed out.
   */
  want(from: NodeId, entries: readonly SummaryEntry[], now: number): void {
    const origins: NodeId[] = [];
    for (const { origin, seq } of entries) {
      if (!this.ports.isMember(origin) || !this.lsdb.isNewer(origin, seq)) continue;
      const r = this.requested.get(origin);
      if (r && r.seq >= seq && now - r.at < this.params.requestTimeoutMs) continue; // already asked
      this.requested.set(origin, { seq, from, at: now });
      this.retryAt = Math.min(this.retryAt, now + this.params.requestTimeoutMs);
      origins.push(origin);
    }
    this.request(from, origins);
  }

  /** A SUMMARY says what `from` holds in [rangeLo, rangeHi] (it may have restarted since). */
  learnSummary(from: NodeId, rangeLo: NodeId, rangeHi: NodeId, entries: readonly SummaryEntry[]): void {
    // Only origins we hold are checked (a range of the sorted database, not every origin we ever
    // heard of): for one we lack, a stale holder costs at most one unanswered request before the
    // retry moves on to another neighbour.
    const listed = new Map(entries.map((e) => [e.origin, e.seq]));
    for (const origin of this.lsdb.originsIn(rangeLo, rangeHi)) {
      const k = this.known.get(origin);
      if (k?.holders.has(from) && (listed.get(origin) ?? -1) < k.seq) k.holders.delete(from);
    }
    for (const { origin, seq } of entries) this.noteHas(from, origin, seq);
  }

  dueAt(): number {
    return Math.min(this.flushAt, this.retryAt);
  }

  tick(now: number): void {
    if (now >= this.flushAt) this.flush();
    if (now >= this.retryAt) this.retry(now);
  }

  private flush(): void {
    this.flushAt = Infinity;
    for (const [n, p] of this.pending) {
      if (p.size === 0) continue;
      const entries = [...p].map(([origin, seq]) => ({ origin, seq }));
      for (const chunk of encodeAnnounceChunks(entries)) this.ports.send(n, chunk);
      this.announcementsSent++;
      for (const { origin, seq } of entries) this.noteHas(n, origin, seq);
    }
    this.pending.clear();
  }

  /** Requests that got no answer: ask another neighbour that announced the advert, or give up. */
  private retry(now: number): void {
    const byNeighbor = new Map<NodeId, NodeId[]>();
    this.retryAt = Infinity;
    for (const [origin, r] of this.requested) {
      if (now < r.at + this.params.requestTimeoutMs) {
        this.retryAt = Math.min(this.retryAt, r.at + this.params.requestTimeoutMs);
        continue;
      }
      if (!this.lsdb.isNewer(origin, r.seq)) {
        this.requested.delete(origin);
        continue;
      }
      let other: NodeId | undefined;
      const k = this.known.get(origin);
      if (k && k.seq >= r.seq) for (const n of k.holders) if (n !== r.from) other = n;
      if (other === undefined) {
        this.requested.delete(origin); // anti-entropy will find it
        continue;
      }
      this.requested.set(origin, { seq: r.seq, from: other, at: now });
      this.retryAt = Math.min(this.retryAt, now + this.params.requestTimeoutMs);
      let list = byNeighbor.get(other);
      if (!list) byNeighbor.set(other, (list = []));
      list.push(origin);
    }
    for (const [n, origins] of byNeighbor) this.request(n, origins);
  }

  private request(n: NodeId, origins: readonly NodeId[]): void {
    for (const chunk of encodeRequestChunks(origins)) {
      this.ports.send(n, chunk);
      this.requestsSent++;
    }
  }
}
