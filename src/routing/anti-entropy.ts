// Anti-entropy: neighbours compare link-state databases and fill each other's gaps.
//
// Flooding is fast but not reliable: a copy can be lost, a neighbour can be unreachable while an
// advert goes by, and after a partition heals each side holds news the other never saw. So when a
// link to a neighbour comes up, and every ~15 s afterwards, we send it a SUMMARY of (origin, seq)
// for everything we hold. The receiver does not push the differences back; it hands them to the
// announcer like any other news: adverts it holds newer are ANNOUNCEd to the peer (batched), and
// adverts the peer holds newer are REQUESTed, at most one request per advert whichever neighbour
// offers it first. When a partition heals, dozens of links come up at once and every one of them
// carries the same differences; pushing them would deliver each missing advert once per healed
// link, pulling delivers it once.
//
// Periodic rounds share a budget: at most one per summaryBudgetMs on average across all
// neighbours, so each neighbour gets one every max(antiEntropyMs, neighbours × summaryBudgetMs).
// What repairs a gap is any neighbour's round, and a node keeps receiving about one a second
// whatever its degree; sending one to each of N - 1 neighbours every 15 s cost O(N²) bytes per node
// (21 kB/s at N = 200 in a full mesh) for no faster repair.
//
// A periodic round is a DIGEST, not a SUMMARY: a summary lists every origin (12 bytes each, 12 kB
// at N = 1000, about once a second), while in steady state the two databases agree but for the few
// adverts spreading at that moment. The digest gives, per bucket of the origin space (~16 origins,
// at most 128 buckets), a count and a hash sum; the receiver answers only the buckets that differ,
// with a SUMMARY of that range, and the exchange goes on as for any summary from there. The first
// round to a neighbour whose link just came up is a full SUMMARY: then differences are likely, and
// the extra round trip would only slow the repair.
//
// The first summary to a neighbour goes out ~0.5 s after its link comes up, not at once: when many
// links come up together (a node booting, a partition healing) the adverts that announce them are
// spreading at that moment, and a summary taken before they land would list stale differences.
//
// What a neighbour's message makes us send back goes through ports.reply, which charges that
// neighbour's reply budget (control-budgets.ts) and refuses once it is spent: a REQUEST naming the
// same origin 300 times is answered once, and one naming every origin over and over is answered at
// the budget's rate, not at the requester's.
import { NO_BEAT, type Beat } from '../clock.js';
import type { NodeId } from '../identity/node-id.js';
import {
  bucketRange,
  DIGEST_MAX_BITS,
  encodeAdvertMessage,
  encodeDigest,
  encodeSummaryChunks,
  type Digest,
  type SummaryEntry,
} from './control-codec.js';
import type { Announcer } from './announcer.js';
import type { LinkStateDb } from './lsdb.js';
import { jitter, type RoutingParams } from './routing-params.js';

export interface AntiEntropyPorts {
  send(neighbor: NodeId, message: Uint8Array): void;
  /** Sends a reply to `neighbor`'s message if its reply budget allows; false when it did not. */
  reply(neighbor: NodeId, message: Uint8Array, now: number): boolean;
  isMember(id: NodeId): boolean;
  random(): number;
  /** The node's beat (clock.ts): periodic rounds go out on it (the first, after a link came up, does not). */
  beat?: Beat;
}

export class AntiEntropy {
  private readonly dueAtBy = new Map<NodeId, number>();
  /** Neighbours whose first summary (the one after their link came up) has gone out. */
  private readonly periodic = new Set<NodeId>();
  private chunks: Uint8Array[] | undefined;
  /**
   * Our digest per bucket count (for sending, and for comparing with a neighbour's), cached like the
   * summary chunks: at most DIGEST_MAX_BITS + 1 of them, so digests of every size in turn cost each
   * at most one pass over the database per change of it.
   */
  private readonly digests = new Map<number, { digest: Digest; message: Uint8Array }>();
  /** dueAt() cache; undefined when dueAtBy changed since. */
  private nextDue: number | undefined;
  /** Rounds sent: a SUMMARY to a neighbour whose link came up, a DIGEST after that. */
  summariesSent = 0;
  /** SUMMARYs of differing buckets, sent in answer to a neighbour's DIGEST. */
  digestRepliesSent = 0;
  advertsPushed = 0;

  constructor(
    private readonly params: Pick<
      RoutingParams,
      'antiEntropyMs' | 'summaryBudgetMs' | 'summaryDelayMs' | 'jitterRatio'
    >,
    private readonly lsdb: LinkStateDb,
    private readonly announcer: Announcer,
    private readonly ports: AntiEntropyPorts,
  ) {}

  /** The link-state database changed: the cached summary is stale. */
  invalidate(): void {
    this.chunks = undefined;
    this.digests.clear();
  }

  neighborUp(n: NodeId, now: number): void {
    this.periodic.delete(n);
    this.dueAtBy.set(n, now + jitter(this.params.summaryDelayMs, 0.5, this.ports.random));
    this.nextDue = undefined;
  }

  neighborDown(n: NodeId): void {
    this.dueAtBy.delete(n);
    this.periodic.delete(n);
    this.nextDue = undefined;
  }

  dueAt(): number {
    if (this.nextDue !== undefined) return this.nextDue;
    let t = Infinity;
    for (const at of this.dueAtBy.values()) if (at < t) t = at;
    return (this.nextDue = t);
  }

  tick(now: number): void {
    if (this.dueAt() > now) return;
    this.nextDue = undefined;
    for (const [n, at] of this.dueAtBy) {
      if (at > now) continue;
      if (this.periodic.has(n)) {
        this.ports.send(n, this.ownDigest(digestBits(this.lsdb.size)).message);
      } else {
        this.chunks ??= encodeSummaryChunks(this.lsdb.summary());
        for (const c of this.chunks) this.ports.send(n, c);
      }
      this.summariesSent++;
      const interval = Math.max(this.params.antiEntropyMs, this.dueAtBy.size * this.params.summaryBudgetMs);
      // Links that came up together (start, heal) had their first summaries together; spaced a
      // jittered interval apart from there, their next ones stayed bunched, and a full mesh of 160
      // sent no summary at all for two minutes in between (a lost advert waited that long). A first
      // periodic one anywhere in the interval spreads the budget evenly from then on.
      const next = this.periodic.has(n)
        ? jitter(interval, this.params.jitterRatio, this.ports.random)
        : this.ports.random() * interval;
      this.periodic.add(n);
      this.dueAtBy.set(n, (this.ports.beat ?? NO_BEAT).at(now + next));
    }
  }

  onSummary(
    from: NodeId,
    rangeLo: NodeId,
    rangeHi: NodeId,
    entries: readonly SummaryEntry[],
    now: number,
  ): void {
    const { request, send } = this.lsdb.compare(rangeLo, rangeHi, entries, this.ports.isMember);
    this.announcer.learnSummary(from, rangeLo, rangeHi, entries);
    this.announcer.want(from, request, now);
    for (const origin of send) {
      const e = this.lsdb.get(origin);
      if (e) this.announcer.announce(from, origin, e.seq, now);
    }
  }

  /** A neighbour's DIGEST: answer each bucket that differs from ours with a SUMMARY of its range. */
  onDigest(from: NodeId, theirs: Digest, now: number): void {
    const ours = this.ownDigest(theirs.bits).digest;
    for (let b = 0; b < ours.counts.length; b++) {
      if (ours.counts[b] === theirs.counts[b] && ours.hashes[b] === theirs.hashes[b]) continue;
      const { lo, hi } = bucketRange(theirs.bits, b);
      for (const c of encodeSummaryChunks(this.lsdb.summary(lo, hi), lo, hi))
        if (!this.ports.reply(from, c, now)) return;
      this.digestRepliesSent++;
    }
  }

  private ownDigest(bits: number): { digest: Digest; message: Uint8Array } {
    let d = this.digests.get(bits);
    if (!d) {
      const digest = this.lsdb.digest(bits);
      this.digests.set(bits, (d = { digest, message: encodeDigest(digest) }));
    }
    return d;
  }

  /**
   * A neighbour asks for adverts by origin: send what we hold, each once whatever the request repeats.
   * Returns how many names were repeats.
   */
  onRequest(from: NodeId, origins: readonly NodeId[], now: number): number {
    const unique = new Set(origins);
    for (const origin of unique) {
      const e = this.lsdb.get(origin);
      if (!e) continue;
      if (!this.ports.reply(from, encodeAdvertMessage(e.bytes), now)) break;
      this.announcer.noteHas(from, origin, e.seq);
      this.advertsPushed++;
    }
    return origins.length - unique.size;
  }

  /** Entries kept per neighbour (round timers, which have had their first round). */
  get stateSize(): number {
    return this.dueAtBy.size + this.periodic.size;
  }
}

/** Buckets for a database of `size` adverts: about 16 origins each, at most 2^DIGEST_MAX_BITS. */
export function digestBits(size: number): number {
  let bits = 0;
  while (bits < DIGEST_MAX_BITS && size > 16 * 2 ** bits) bits++;
  return bits;
}
