// Token buckets that cap how many handshakes we run Diffie-Hellman for: one bucket per rate key (the
// data plane passes the underlay source IP) and one global bucket per lane. A handshake needs a token
// from both. The lanes let a caller keep classes of sources apart: the initiation guard gives members'
// proven addresses a lane of their own, so strangers who spend the global budget do not spend theirs.
//
// mac1, the replay filter and (under load) mac2 are checked before this, so only someone who knows our
// public key and receives at the address it sends from gets here. Memory is bounded (TokenBuckets).
import { DEFAULT_RATE_LIMIT, type RateLimitParams } from './params.js';
import { takeAll, TokenBuckets } from './token-buckets.js';

export class RateLimiter {
  private readonly perKey: TokenBuckets;
  private readonly global: TokenBuckets;

  constructor(params: Partial<RateLimitParams> = {}) {
    const p = { ...DEFAULT_RATE_LIMIT, ...params };
    this.perKey = new TokenBuckets({ perSecond: p.perKeyPerSecond, burst: p.perKeyBurst }, p.maxKeys);
    // Lanes are a handful of fixed names, so this map stays tiny.
    this.global = new TokenBuckets({ perSecond: p.globalPerSecond, burst: p.globalBurst }, 16);
  }

  /**
   * Takes one token for `key` and one from the global bucket of `lane` if both are available;
   * otherwise takes nothing and returns false. `now` is monotonic milliseconds.
   */
  allow(key: string, now: number, lane = 'all'): boolean {
    return takeAll(now, [this.global, lane], [this.perKey, key]);
  }

  /** Per-key buckets currently remembered (for tests and metrics). */
  get size(): number {
    return this.perKey.size;
  }

  /**
   * Forgets buckets that have refilled (they are identical to a missing one). Optional housekeeping
   * for idle periods: `allow` alone already keeps the map within maxKeys.
   */
  sweep(now: number): void {
    this.perKey.sweep(now);
  }
}
