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
// Drift (the same links with new measurements, or a refresh: AdvertNews) waits for a batch every
// driftAnnounceIntervalMs instead. One 12-byte entry rides in a ~70-byte sealed envelope, so at
// 250 ms most ANNOUNCEs carried a single entry: at N = 50 idle they were a third of all control bytes.
// The origin already held drift back for up to driftIntervalMs; a few seconds more per hop changes
// no path in use. A neighbour's batch goes out whole when its earliest entry is due.
//
// Robustness: every neighbour announces what it accepts, so one lost announcement, request or reply
// is covered by the next neighbour's announcement; a request that got no answer within
// requestTimeoutMs is retried with another neighbour known to have the advert. Anti-entropy
// summaries remain the last resort, and feed their differences through here too.
//
// Hostile neighbours: announcements are unsigned claims. What a neighbour claims is tracked per
// neighbour (holders.ts) and requests per (origin, neighbour) (requests.ts), so a claim only ever
// costs one request to the claimant: if it goes unanswered, that neighbour's claim is forgotten and
// counted (request-unanswered), and other neighbours' claims are asked for as if it never existed.
// The router has already dropped claims naming non-members or implausible seqs (seq-bounds.ts).
import { NO_BEAT, type Beat } from '../clock.js';
import type { NodeId } from '../identity/node-id.js';
import { encodeAnnounceChunks, encodeRequestChunks, type SummaryEntry } from './control-codec.js';
import { Holders } from './holders.js';
import type { LinkStateDb } from './lsdb.js';
import { Requests } from './requests.js';
import type { RoutingParams } from './routing-params.js';

export interface AnnouncerPorts {
  send(neighbor: NodeId, message: Uint8Array): void;
  /** A neighbour did not answer our request for an advert it claimed to hold. */
  unanswered?(neighbor: NodeId, origin: NodeId): void;
  /** The node's beat (clock.ts): drift batches go out on it. */
  beat?: Beat;
}

export class Announcer {
  /** Per neighbour: origin → seq to announce, and when that batch is due. */
  private readonly pending = new Map<NodeId, { entries: Map<NodeId, number>; dueAt: number }>();
  private readonly holders = new Holders();
  private readonly requests: Requests;
  private flushAt = Infinity;
  announcementsSent = 0;
  requestsSent = 0;
  /** Requests that timed out while the advert was still news: the claimant's claim was forgotten. */
  requestsUnanswered = 0;

  constructor(
    private readonly params: Pick<
      RoutingParams,
      'announceIntervalMs' | 'driftAnnounceIntervalMs' | 'requestTimeoutMs'
    >,
    private readonly lsdb: LinkStateDb,
    private readonly ports: AnnouncerPorts,
  ) {
    this.requests = new Requests(params.requestTimeoutMs);
  }

  /** `n` holds (origin, seq): never announce it back. */
  noteHas(n: NodeId, origin: NodeId, seq: number): void {
    this.holders.note(n, origin, seq);
    const p = this.pending.get(n)?.entries;
    if (p && (p.get(origin) ?? Infinity) <= seq) p.delete(origin);
  }

  /**
   * Queue (origin, seq) for neighbour `n` unless it is known to hold it already; `drift` news may
   * wait for the slower batch.
   */
  announce(n: NodeId, origin: NodeId, seq: number, now: number, drift = false): void {
    if (this.holders.holds(n, origin, seq)) return;
    let p = this.pending.get(n);
    if (!p) this.pending.set(n, (p = { entries: new Map(), dueAt: Infinity }));
    p.entries.set(origin, seq);
    const due = drift
      ? (this.ports.beat ?? NO_BEAT).at(now + this.params.driftAnnounceIntervalMs)
      : now + this.params.announceIntervalMs;
    p.dueAt = Math.min(p.dueAt, due);
    this.flushAt = Math.min(this.flushAt, p.dueAt);
  }

  neighborDown(n: NodeId): void {
    this.pending.delete(n);
    this.holders.forgetNeighbor(n);
    this.requests.forgetNeighbor(n);
  }

  /** `origin` left the member list, or its advert expired: nothing about it is worth keeping. */
  forgetOrigin(origin: NodeId): void {
    for (const p of this.pending.values()) p.entries.delete(origin);
    this.holders.forgetOrigin(origin);
    this.requests.forgetOrigin(origin);
  }

  /** An advert arrived: whatever we asked for it (or for anything older) is settled. */
  received(origin: NodeId, seq: number): void {
    this.requests.settled(origin, seq);
  }

  onAnnounce(from: NodeId, entries: readonly SummaryEntry[], now: number): void {
    for (const { origin, seq } of entries) this.noteHas(from, origin, seq);
    this.want(from, entries, now);
  }

  /**
   * `from` holds these adverts: REQUEST the ones that are news to us, unless `from` was asked for
   * that origin already, or exactly that advert is on its way from another neighbour (see requests.ts).
   */
  want(from: NodeId, entries: readonly SummaryEntry[], now: number): void {
    const origins: NodeId[] = [];
    for (const { origin, seq } of entries) {
      if (!this.lsdb.isNewer(origin, seq)) continue;
      // One request per (origin, neighbour) at a time: its answer is whatever it holds by then (the
      // newest), and a claimant raising its claim every time must not keep its request from timing out.
      if (this.requests.live(origin, from, now)) continue;
      if (this.requests.fetching(origin, seq, from, now)) continue;
      if (this.requests.add(origin, from, seq, now)) origins.push(origin);
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
      const theirs = listed.get(origin);
      if ((this.holders.seqOf(from, origin) ?? -1) > (theirs ?? -1)) this.holders.set(from, origin, theirs);
    }
    for (const { origin, seq } of entries) this.noteHas(from, origin, seq);
  }

  /** Entries kept: (neighbour, origin) claims, outstanding requests, queued announcements. */
  stateSizes(): { holders: number; requests: number; announcePending: number } {
    let announcePending = 0;
    for (const p of this.pending.values()) announcePending += p.entries.size;
    return { holders: this.holders.size, requests: this.requests.size, announcePending };
  }

  dueAt(): number {
    return Math.min(this.flushAt, this.requests.dueAt());
  }

  tick(now: number): void {
    if (now >= this.flushAt) this.flush(now);
    this.retry(now);
  }

  /** Sends every neighbour's batch that is due; the others wait for theirs. */
  private flush(now: number): void {
    this.flushAt = Infinity;
    for (const [n, p] of this.pending) {
      if (p.entries.size === 0) {
        this.pending.delete(n);
        continue;
      }
      if (p.dueAt > now) {
        this.flushAt = Math.min(this.flushAt, p.dueAt);
        continue;
      }
      this.pending.delete(n);
      const entries = [...p.entries].map(([origin, seq]) => ({ origin, seq }));
      for (const chunk of encodeAnnounceChunks(entries)) this.ports.send(n, chunk);
      this.announcementsSent++;
      for (const { origin, seq } of entries) this.noteHas(n, origin, seq);
    }
  }

  /**
   * Requests that got no answer while the advert is still news: the claimant's claim is worthless
   * (forgotten, counted); ask the neighbour with the best remaining claim, or leave it to anti-entropy.
   */
  private retry(now: number): void {
    const byNeighbor = new Map<NodeId, NodeId[]>();
    for (const r of this.requests.takeTimedOut(now)) {
      if (!this.lsdb.isNewer(r.origin, r.seq)) continue; // answered, by it or by someone else
      this.holders.forget(r.n, r.origin);
      this.requestsUnanswered++;
      this.ports.unanswered?.(r.n, r.origin);
      // Another claimant of something newer than ours that is not being asked already.
      const other = this.holders.best(
        r.origin,
        (n, seq) => n !== r.n && this.lsdb.isNewer(r.origin, seq) && !this.requests.live(r.origin, n, now),
      );
      if (!other || !this.requests.add(r.origin, other.n, other.seq, now)) continue;
      let list = byNeighbor.get(other.n);
      if (!list) byNeighbor.set(other.n, (list = []));
      list.push(r.origin);
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
