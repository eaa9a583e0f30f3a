// Token buckets that cap how many handshakes we run Diffie-Hellman for: one bucket per rate key (the
// data plane passes the underlay source IP, or ip:port) and one global bucket. A handshake needs a
// token from both. mac1 is checked before this, so only someone who knows our public key gets here.
//
// Memory is bounded: the map holds at most `maxKeys` buckets, ordered by last use. A bucket that has
// refilled is identical to a missing one, so forgetting it loses nothing; when the map is full the least
// recently used bucket goes even if not full, which at worst grants that key a fresh burst, still
// capped by the global bucket.
import { DEFAULT_RATE_LIMIT, type RateLimitParams } from './params.js';

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export class RateLimiter {
  private readonly params: RateLimitParams;
  private readonly buckets = new Map<string, Bucket>();
  private readonly global: Bucket;

  constructor(params: Partial<RateLimitParams> = {}) {
    this.params = { ...DEFAULT_RATE_LIMIT, ...params };
    if (this.params.maxKeys < 1) throw new RangeError('maxKeys must be at least 1');
    this.global = { tokens: this.params.globalBurst, updatedAt: -Infinity };
  }

  /**
   * Takes one token for `key` and one global token if both are available; otherwise takes nothing and
   * returns false. `now` is monotonic milliseconds.
   */
  allow(key: string, now: number): boolean {
    const p = this.params;
    refill(this.global, now, p.globalPerSecond, p.globalBurst);
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: p.perKeyBurst, updatedAt: now };
    } else {
      refill(bucket, now, p.perKeyPerSecond, p.perKeyBurst);
      // Re-insert so Map order is least-recently-used first.
      this.buckets.delete(key);
    }
    this.buckets.set(key, bucket);
    if (this.buckets.size > p.maxKeys) this.evictOldest();
    if (bucket.tokens < 1 || this.global.tokens < 1) return false;
    bucket.tokens -= 1;
    this.global.tokens -= 1;
    return true;
  }

  /** Buckets currently remembered (for tests and metrics). */
  get size(): number {
    return this.buckets.size;
  }

  /**
   * Forgets buckets that have refilled (they are identical to a missing one). Optional housekeeping
   * for idle periods: `allow` alone already keeps the map within maxKeys.
   */
  sweep(now: number): void {
    const p = this.params;
    const fullAfterMs = (p.perKeyBurst / p.perKeyPerSecond) * 1000;
    // Map order is last-use order, so the refilled buckets are a prefix.
    for (const [key, b] of this.buckets) {
      if (now - b.updatedAt < fullAfterMs) break;
      this.buckets.delete(key);
    }
  }

  private evictOldest(): void {
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= this.params.maxKeys) break;
      this.buckets.delete(key);
    }
  }
}

function refill(b: Bucket, now: number, perSecond: number, burst: number): void {
  if (now > b.updatedAt) {
    b.tokens = Math.min(burst, b.tokens + ((now - b.updatedAt) * perSecond) / 1000);
    b.updatedAt = now;
  }
}
