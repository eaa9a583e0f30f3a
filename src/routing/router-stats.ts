// Counters the router keeps for `overlayd status`, Prometheus and the benchmarks. Plain numbers,
// no metrics library: the exporter reads stats() and names them (overlay_adverts_rejected_total{reason}).
import type { NodeId } from '../identity/node-id.js';
import type { OriginationCause } from './originator.js';

/** Route computation times kept for percentiles (a ring of the most recent ones). */
const RECENT_COMPUTATIONS = 1024;

/**
 * Reasons the router refuses what a member sent, exported from zero (the decoders add their own
 * format reasons: truncated, bad-length, ...). Entries of a message (claims) and replies we refuse
 * to send are counted one by one; the rest once per message or advert.
 */
export const ROUTER_REJECT_REASONS = [
  'from-non-member', // sender is not in peers.yaml (or is us)
  'not-neighbor', // sender has no alive direct link to us: control travels one hop
  'not-member', // advert of an origin that is not a member
  'bad-signature',
  'seq-in-future', // advert seq above wall clock + skew (seq-bounds.ts)
  'stale-seq', // advert older than wall clock − lifetime − skew
  'replayed', // advert at or below its origin's high-water mark, after our copy expired
  'origin-rate', // the origin's adverts arrive faster than any honest node originates
  'verify-budget', // the sender's signature-verification budget is spent
  'non-member-claim', // ANNOUNCE/SUMMARY entry naming a non-member
  'claim-in-future', // ANNOUNCE/SUMMARY entry with a seq above wall clock + skew
  'stale-claim', // ANNOUNCE/SUMMARY entry older than anything still alive
  'request-unanswered', // a neighbour did not deliver an advert it claimed: claim forgotten
  'duplicate-request', // a REQUEST naming an origin more than once (answered once)
  'summary-budget', // SUMMARY or DIGEST not examined: the sender's work budget is spent
  'reply-budget', // reply not sent: the requester's reply budget is spent
  'internal-error',
] as const;

export interface RouterStats {
  advertsOriginated: number;
  /** Our adverts by why they went out (originator.ts). */
  advertsOriginatedBy: Record<OriginationCause, number>;
  advertsReceived: number;
  advertsAccepted: number;
  /** Copies of adverts we already had (flooding redundancy), not errors. */
  advertsDuplicate: number;
  /** Received adverts sent on to other neighbours by flooding. */
  advertsForwarded: number;
  /** Adverts sent to a neighbour by anti-entropy (answering a SUMMARY or REQUEST). */
  advertsPushed: number;
  advertsExpired: number;
  /** Dropped control messages and adverts, by reason (bad-signature, not-member, truncated, …). */
  rejected: Record<string, number>;
  ownSeqJumps: number;
  summariesSent: number;
  requestsSent: number;
  /** ANNOUNCE batches sent (lazy flooding). */
  announcementsSent: number;
  controlMessagesSent: number;
  controlBytesSent: number;
  controlMessagesReceived: number;
  controlBytesReceived: number;
  routeComputations: number;
  routeComputeMsTotal: number;
  routeComputeMsMax: number;
  /** The most recent computation times (ms), oldest first. */
  recentComputeMs: number[];
  routeChanges: number;
  lsdbSize: number;
  neighbors: number;
  routes: number;
  /** Entries in each routing table (all bounded by members, or members × neighbours): see Router.stats. */
  state: Record<string, number>;
}

export interface LinkStateEntry {
  a: NodeId;
  b: NodeId;
  costMs: number;
  /** One end is us: measured by our prober rather than taken from adverts. */
  own: boolean;
}

type Live = Pick<
  RouterStats,
  | 'advertsOriginatedBy'
  | 'summariesSent'
  | 'requestsSent'
  | 'announcementsSent'
  | 'advertsPushed'
  | 'lsdbSize'
  | 'neighbors'
  | 'routes'
  | 'state'
>;

export class RouterCounters {
  advertsOriginated = 0;
  advertsReceived = 0;
  advertsAccepted = 0;
  advertsDuplicate = 0;
  advertsForwarded = 0;
  advertsExpired = 0;
  ownSeqJumps = 0;
  controlMessagesSent = 0;
  controlBytesSent = 0;
  controlMessagesReceived = 0;
  controlBytesReceived = 0;
  routeComputations = 0;
  routeComputeMsTotal = 0;
  routeComputeMsMax = 0;
  routeChanges = 0;
  private readonly rejected: Record<string, number> = {};
  private readonly recent: number[] = [];
  private recentPos = 0;

  reject(reason: string, count = 1): void {
    this.rejected[reason] = (this.rejected[reason] ?? 0) + count;
  }

  computed(ms: number): void {
    this.routeComputations++;
    this.routeComputeMsTotal += ms;
    this.routeComputeMsMax = Math.max(this.routeComputeMsMax, ms);
    if (this.recent.length < RECENT_COMPUTATIONS) this.recent.push(ms);
    else {
      this.recent[this.recentPos] = ms;
      this.recentPos = (this.recentPos + 1) % RECENT_COMPUTATIONS;
    }
  }

  snapshot(live: Live): RouterStats {
    const recentComputeMs = [...this.recent.slice(this.recentPos), ...this.recent.slice(0, this.recentPos)];
    return {
      advertsOriginated: this.advertsOriginated,
      advertsReceived: this.advertsReceived,
      advertsAccepted: this.advertsAccepted,
      advertsDuplicate: this.advertsDuplicate,
      advertsForwarded: this.advertsForwarded,
      advertsExpired: this.advertsExpired,
      rejected: { ...this.rejected },
      ownSeqJumps: this.ownSeqJumps,
      controlMessagesSent: this.controlMessagesSent,
      controlBytesSent: this.controlBytesSent,
      controlMessagesReceived: this.controlMessagesReceived,
      controlBytesReceived: this.controlBytesReceived,
      routeComputations: this.routeComputations,
      routeComputeMsTotal: this.routeComputeMsTotal,
      routeComputeMsMax: this.routeComputeMsMax,
      recentComputeMs,
      routeChanges: this.routeChanges,
      ...live,
    };
  }
}
