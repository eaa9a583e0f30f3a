// What the router lets in from a member, cheapest check first. Every refusal names its reason
// (router-stats.ts), which the caller counts.
//
//   a control message   from a member with a direct link to us (not-neighbor);
//   ANNOUNCE/SUMMARY    entries are claims: members only (non-member-claim), seqs a live advert could
//   entries             have (claim-in-future, stale-claim; seq-bounds.ts);
//   a SUMMARY or DIGEST only within the sender's work budget (summary-budget): examining one costs
//                       the origins we hold in its range plus what it lists;
//   an advert           a member origin, a plausible seq (seq-in-future, stale-seq), above the
//                       origin's high-water mark if we hold none (replayed), and — before the
//                       signature is checked — within the origin's rate (origin-rate) and the
//                       sender's verification budget (verify-budget).
import type { NodeId } from '../identity/node-id.js';
import { ADVERT_MAX_LIFETIME_MS } from './advert.js';
import type { SummaryEntry } from './control-codec.js';
import type { ControlBudgets } from './control-budgets.js';
import type { LinkStateDb } from './lsdb.js';
import type { RoutingParams } from './routing-params.js';
import { seqVerdict } from './seq-bounds.js';

export interface AdmissionPorts {
  isMember(id: NodeId): boolean;
  wallClock(): number;
  reject(reason: string): void;
}

/** An advert's header as peekAdvert reads it, before anything is verified. */
export interface AdvertHead {
  origin: NodeId;
  seq: number;
  lifetimeMs: number;
}

export class Admission {
  constructor(
    private readonly params: Pick<RoutingParams, 'maxClockSkewMs'>,
    private readonly lsdb: LinkStateDb,
    private readonly budgets: ControlBudgets,
    private readonly ports: AdmissionPorts,
  ) {}

  /** The claims among `entries` worth believing; each one dropped is counted. */
  claims(entries: readonly SummaryEntry[]): SummaryEntry[] {
    const wall = this.ports.wallClock();
    const out: SummaryEntry[] = [];
    for (const e of entries) {
      if (!this.ports.isMember(e.origin)) {
        this.ports.reject('non-member-claim');
        continue;
      }
      // Any lifetime up to the maximum: we do not know the advert's own.
      const v = seqVerdict(e.seq, ADVERT_MAX_LIFETIME_MS, wall, this.params);
      if (v === undefined) out.push(e);
      else this.ports.reject(v === 'seq-in-future' ? 'claim-in-future' : 'stale-claim');
    }
    return out;
  }

  /**
   * Whether `from` may make us examine `origins` origins: for a SUMMARY, those we hold in its range
   * plus those it lists; for a DIGEST, its buckets.
   */
  examine(from: NodeId, origins: number, now: number): boolean {
    if (this.budgets.summaryWork(from, origins, now)) return true;
    this.ports.reject('summary-budget');
    return false;
  }

  /**
   * An advert `from` sent, before its signature: 'verify' to go on, 'duplicate' for a copy of what
   * we hold (the common case when flooding), or the refusal's reason (already counted).
   */
  advert(from: NodeId, head: AdvertHead, now: number): 'verify' | 'duplicate' | 'refused' {
    const reason = this.advertRefusal(from, head, now);
    if (reason === undefined) return 'verify';
    if (reason === 'duplicate') return reason;
    this.ports.reject(reason);
    return 'refused';
  }

  private advertRefusal(from: NodeId, head: AdvertHead, now: number): string | undefined {
    if (!this.ports.isMember(head.origin)) return 'not-member';
    const implausible = seqVerdict(head.seq, head.lifetimeMs, this.ports.wallClock(), this.params);
    if (implausible) return implausible;
    if (!this.lsdb.isNewer(head.origin, head.seq))
      // Below the high-water mark of an advert that expired here: nobody honest still sends that.
      return this.lsdb.get(head.origin) ? 'duplicate' : 'replayed';
    if (!this.budgets.mayOriginate(head.origin, now)) return 'origin-rate';
    if (!this.budgets.verification(from, now)) return 'verify-budget';
    return undefined;
  }
}
