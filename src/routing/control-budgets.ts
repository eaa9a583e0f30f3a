// Budgets that bound what one member can make us do, whatever it sends.
//
// Control messages come from authenticated members, but an authenticated member may be hostile (or
// broken). Most of what it sends costs us work in proportion to its own bytes, and needs no budget.
// These do not, so each is a token bucket, checked before the work is done:
//
//   replies      a REQUEST of 4 bytes per origin is answered with whole adverts (up to 1.2 kB each),
//                a DIGEST with SUMMARYs of every bucket that differs; per neighbour, in bytes and in
//                messages. Sized so a neighbour can pull our whole database twice at once (a link
//                that just came up, after a restart) and then once per anti-entropy interval —
//                twice what it needs if every refresh in the network were pulled from us;
//   summary work a SUMMARY of 11 bytes that covers the whole id space makes us walk every origin we
//                hold (1.5–3 ms at N = 1000–2000); per neighbour, in origins examined (ours in the
//                range + the entries listed). A full exchange at link-up costs ~2 × members, and
//                digest answers afterwards a few buckets of ~16: three full ones at once, then two
//                per anti-entropy interval;
//   verification an advert that is news costs an Ed25519 verification (~45–90 µs) before we know it
//                is real; per neighbour, two full databases at once, then one per interval;
//   origination  per ORIGIN, checked before the signature and charged once it verified: an honest
//                node originates at most about one advert a second after its backoff
//                (originator.ts: bad news every minOriginationIntervalMs, doubling up to
//                goodNewsIntervalMs) — twice that rate, with a burst of twice the backoff's steps,
//                and a member flooding its own adverts costs us two verifications a second. Charged
//                only for verified adverts, so nobody can spend an origin's budget but the origin.
//
// Sizes follow the network (members) and our database (adverts, bytes) at the moment of use, so one
// shape serves 3 members and 2000. Buckets are per member and outlive a link going down (a member
// cannot refill its budget by flapping the link); a bucket that has refilled is the same as none, so
// sweep() forgets it. At most one set per member: bounded.
import type { NodeId } from '../identity/node-id.js';
import type { RoutingParams } from './routing-params.js';
import { TokenBucket, type BucketShape } from './token-bucket.js';

export interface BudgetSizes {
  members: number;
  /** Adverts and their signed bytes in our link-state database. */
  adverts: number;
  advertBytes: number;
}

type BudgetParams = Pick<RoutingParams, 'antiEntropyMs' | 'goodNewsIntervalMs' | 'minOriginationIntervalMs'>;

/** Floors: a small network still gets room for one round of each exchange. */
const REPLY_BYTES_FLOOR = 16 * 1024;
const REPLY_BYTES_RATE_FLOOR = 4 * 1024;
const MESSAGES_FLOOR = 64;
const MESSAGES_RATE_FLOOR = 8;
const WORK_FLOOR = 256;
const WORK_RATE_FLOOR = 32;

interface MemberBudgets {
  replyBytes: TokenBucket;
  replyMessages: TokenBucket;
  summaryWork: TokenBucket;
  verifications: TokenBucket;
}

type Kind = keyof MemberBudgets;

export class ControlBudgets {
  private readonly byMember = new Map<NodeId, MemberBudgets>();
  private readonly byOrigin = new Map<NodeId, TokenBucket>();
  private readonly origination: BucketShape;

  constructor(
    private readonly params: BudgetParams,
    private readonly sizes: () => BudgetSizes,
  ) {
    this.origination = {
      capacity: (2 * params.goodNewsIntervalMs) / params.minOriginationIntervalMs,
      perSecond: 2000 / params.goodNewsIntervalMs,
    };
  }

  /** A reply of `bytes` to neighbour `n`: one message and its bytes, or false (send nothing). */
  reply(n: NodeId, bytes: number, now: number): boolean {
    const b = this.of(n, now);
    const byteShape = this.shape('replyBytes');
    if (!b.replyBytes.has(bytes, byteShape, now)) return false;
    if (!b.replyMessages.take(1, this.shape('replyMessages'), now)) return false;
    return b.replyBytes.take(bytes, byteShape, now);
  }

  /** Examining `origins` origins for neighbour `n`'s SUMMARY or DIGEST. */
  summaryWork(n: NodeId, origins: number, now: number): boolean {
    return this.of(n, now).summaryWork.take(origins, this.shape('summaryWork'), now);
  }

  /** One signature verification for an advert neighbour `n` sent. */
  verification(n: NodeId, now: number): boolean {
    return this.of(n, now).verifications.take(1, this.shape('verifications'), now);
  }

  /** Whether an advert of `origin` may be verified now (checked before the signature). */
  mayOriginate(origin: NodeId, now: number): boolean {
    const b = this.byOrigin.get(origin);
    return !b || b.has(1, this.origination, now);
  }

  /** A verified, accepted advert of `origin`: charge its budget. */
  originated(origin: NodeId, now: number): void {
    let b = this.byOrigin.get(origin);
    if (!b) this.byOrigin.set(origin, (b = new TokenBucket(this.origination, now)));
    b.take(1, this.origination, now);
  }

  /** Forgets buckets that have refilled, and everything of members that left. */
  sweep(now: number, isMember: (id: NodeId) => boolean): void {
    for (const [n, b] of this.byMember) {
      const full = (Object.keys(b) as Kind[]).every((k) => b[k].isFull(this.shape(k), now));
      if (full || !isMember(n)) this.byMember.delete(n);
    }
    for (const [origin, b] of this.byOrigin)
      if (b.isFull(this.origination, now) || !isMember(origin)) this.byOrigin.delete(origin);
  }

  /** Buckets kept, for the routing state gauge. */
  get size(): number {
    return this.byMember.size + this.byOrigin.size;
  }

  private of(n: NodeId, now: number): MemberBudgets {
    let b = this.byMember.get(n);
    if (!b) {
      const bucket = (k: Kind): TokenBucket => new TokenBucket(this.shape(k), now);
      b = {
        replyBytes: bucket('replyBytes'),
        replyMessages: bucket('replyMessages'),
        summaryWork: bucket('summaryWork'),
        verifications: bucket('verifications'),
      };
      this.byMember.set(n, b);
    }
    return b;
  }

  private shape(kind: Kind): BucketShape {
    const s = this.sizes();
    const perInterval = 1000 / this.params.antiEntropyMs; // "once per anti-entropy interval", per second
    switch (kind) {
      case 'replyBytes':
        return {
          capacity: 2 * s.advertBytes + REPLY_BYTES_FLOOR,
          perSecond: s.advertBytes * perInterval + REPLY_BYTES_RATE_FLOOR,
        };
      case 'replyMessages':
        return {
          capacity: 2 * s.adverts + MESSAGES_FLOOR,
          perSecond: s.adverts * perInterval + MESSAGES_RATE_FLOOR,
        };
      case 'summaryWork':
        return {
          capacity: 3 * 2 * s.members + WORK_FLOOR,
          perSecond: 2 * 2 * s.members * perInterval + WORK_RATE_FLOOR,
        };
      case 'verifications':
        return {
          capacity: 2 * s.members + MESSAGES_FLOOR,
          perSecond: s.members * perInterval + MESSAGES_RATE_FLOOR,
        };
    }
  }
}
