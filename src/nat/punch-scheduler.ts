// When to try a simultaneous open with a member, whether an attempt worked, and how many punch
// requests we answer. Pure: time comes in as `now`; the caller (nat-channel.ts) decides which members
// lack a working direct link and does the sending.
//
//   outgoing   one attempt per member at a time; after a failure the next waits retryMs, doubling up
//              to maxRetryMs (a pair behind symmetric NATs never punches: it must not cost much);
//              at most attemptsPerSecond new attempts over all members.
//   outcome    an attempt succeeds when the member's direct link comes up within timeoutMs of the
//              request (the caller reports linkUp), and fails otherwise.
//   incoming   requests from each member pass a token bucket (incomingBurst, incomingPerMinute) and
//              one shared by all members (incomingPerSecond); each accepted request costs us at most
//              PUNCH_MAX_ENDPOINTS × punchProbes probes. A member flooding requests gets no more.
import type { NodeId } from '../identity/node-id.js';
import { TokenBucket, type BucketShape } from '../routing/token-bucket.js';

export interface PunchParams {
  retryMs: number;
  maxRetryMs: number;
  timeoutMs: number;
  attemptsPerSecond: number;
  incomingBurst: number;
  incomingPerMinute: number;
  incomingPerSecond: number;
  /** Probes sent to each endpoint of a punch, every punchIntervalMs (the prober's candidates). */
  punchProbes: number;
  punchIntervalMs: number;
}

export const DEFAULT_PUNCH_PARAMS: PunchParams = {
  retryMs: 10_000,
  maxRetryMs: 300_000,
  timeoutMs: 5_000,
  attemptsPerSecond: 4,
  incomingBurst: 2,
  incomingPerMinute: 6,
  incomingPerSecond: 10,
  punchProbes: 10,
  punchIntervalMs: 200,
};

export type PunchResult = 'success' | 'failed';

interface Attempt {
  /** When the next attempt may start. */
  nextAt: number;
  backoffMs: number;
  pending?: { nonce: number; startedAt: number };
}

export class PunchScheduler {
  readonly params: PunchParams;
  private readonly attempts = new Map<NodeId, Attempt>();
  private readonly incoming = new Map<NodeId, TokenBucket>();
  private readonly global: TokenBucket;
  private readonly starts: TokenBucket;
  readonly counts = { started: 0, success: 0, failed: 0, rateLimited: 0, answered: 0, unsolicited: 0 };
  /** Time from request to a working direct link, of the successful attempts (last 32). */
  readonly successMs: number[] = [];

  constructor(params: Partial<PunchParams> = {}, now = 0) {
    this.params = { ...DEFAULT_PUNCH_PARAMS, ...params };
    this.global = new TokenBucket(this.globalShape, now);
    this.starts = new TokenBucket(this.startShape, now);
  }

  /** Whether to start an attempt with `member` now (it has no working direct link). */
  due(member: NodeId, now: number): boolean {
    const a = this.attempts.get(member);
    if (a && (a.pending || now < a.nextAt)) return false;
    return this.starts.has(1, this.startShape, now);
  }

  /** An attempt started: a request with `nonce` went out. */
  started(member: NodeId, nonce: number, now: number): void {
    this.starts.take(1, this.startShape, now);
    this.counts.started++;
    const a = this.attempts.get(member) ?? { nextAt: now, backoffMs: this.params.retryMs };
    a.pending = { nonce, startedAt: now };
    this.attempts.set(member, a);
  }

  /** An answer from `member`: true when it answers our pending request (else counted, ignored). */
  answerMatches(member: NodeId, nonce: number): boolean {
    const p = this.attempts.get(member)?.pending;
    if (p && p.nonce === nonce) return true;
    this.counts.unsolicited++;
    return false;
  }

  /** The direct link to `member` is up: the pending attempt (if any) succeeded; ms it took. */
  linkUp(member: NodeId, now: number): number | undefined {
    const a = this.attempts.get(member);
    if (!a?.pending) return undefined;
    const ms = now - a.pending.startedAt;
    a.pending = undefined;
    a.backoffMs = this.params.retryMs;
    a.nextAt = now + this.params.retryMs;
    this.counts.success++;
    this.successMs.push(ms);
    if (this.successMs.length > 32) this.successMs.shift();
    return ms;
  }

  /** Attempts past their timeout: failed (returned), and the next one backs off. */
  expire(now: number): NodeId[] {
    const failed: NodeId[] = [];
    for (const [member, a] of this.attempts) {
      if (!a.pending || now - a.pending.startedAt < this.params.timeoutMs) continue;
      a.pending = undefined;
      a.nextAt = now + a.backoffMs;
      a.backoffMs = Math.min(a.backoffMs * 2, this.params.maxRetryMs);
      this.counts.failed++;
      failed.push(member);
    }
    return failed;
  }

  /** Whether to act on a punch request from `member` (per-member and global token buckets). */
  allowIncoming(member: NodeId, now: number): boolean {
    let bucket = this.incoming.get(member);
    if (!bucket) {
      bucket = new TokenBucket(this.memberShape, now);
      this.incoming.set(member, bucket);
    }
    if (!bucket.has(1, this.memberShape, now) || !this.global.take(1, this.globalShape, now)) {
      this.counts.rateLimited++;
      return false;
    }
    bucket.take(1, this.memberShape, now);
    this.counts.answered++;
    return true;
  }

  /** A member left the configuration. */
  forget(member: NodeId): void {
    this.attempts.delete(member);
    this.incoming.delete(member);
  }

  /** Members with an attempt in flight (few: bounded by attemptsPerSecond × timeoutMs). */
  *pendingMembers(): IterableIterator<NodeId> {
    for (const [member, a] of this.attempts) if (a.pending) yield member;
  }

  private get memberShape(): BucketShape {
    return { capacity: this.params.incomingBurst, perSecond: this.params.incomingPerMinute / 60 };
  }

  private get globalShape(): BucketShape {
    return { capacity: this.params.incomingPerSecond, perSecond: this.params.incomingPerSecond };
  }

  private get startShape(): BucketShape {
    return { capacity: this.params.attemptsPerSecond, perSecond: this.params.attemptsPerSecond };
  }
}
