// Token buckets by key, in bounded memory: the building block of every handshake budget (per source IP,
// per relay, per member, per cookie destination, and the global ones, which are a single key).
//
// The map holds at most `maxKeys` buckets, ordered by last use. A bucket that has refilled is identical
// to a missing one, so forgetting it loses nothing; when the map is full the least recently used bucket
// goes even if not full, which at worst grants that key a fresh burst, still capped by whatever coarser
// budget the caller checks alongside (see takeAll).
import type { BucketRate } from './params.js';

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly rate: BucketRate,
    private readonly maxKeys: number,
  ) {
    if (maxKeys < 1) throw new RangeError('maxKeys must be at least 1');
  }

  /** True if `key` has a whole token at `now` (monotonic ms). Takes nothing; marks the key as used. */
  ready(key: string, now: number): boolean {
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: this.rate.burst, updatedAt: now };
    } else {
      refill(bucket, now, this.rate);
      // Re-insert so Map order is least-recently-used first.
      this.buckets.delete(key);
    }
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.maxKeys) this.evictOldest();
    return bucket.tokens >= 1;
  }

  /** Takes the token `ready(key)` just found. */
  take(key: string): void {
    const bucket = this.buckets.get(key);
    if (bucket !== undefined) bucket.tokens -= 1;
  }

  /** ready + take for a budget checked on its own. */
  allow(key: string, now: number): boolean {
    if (!this.ready(key, now)) return false;
    this.take(key);
    return true;
  }

  /** Buckets currently remembered. */
  get size(): number {
    return this.buckets.size;
  }

  /** Forgets buckets that have refilled (housekeeping for idle periods; the cap holds regardless). */
  sweep(now: number): void {
    const fullAfterMs = (this.rate.burst / this.rate.perSecond) * 1000;
    // Map order is last-use order, so the refilled buckets are a prefix.
    for (const [key, b] of this.buckets) {
      if (now - b.updatedAt < fullAfterMs) break;
      this.buckets.delete(key);
    }
  }

  private evictOldest(): void {
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= this.maxKeys) break;
      this.buckets.delete(key);
    }
  }
}

/**
 * Takes one token from every (buckets, key) pair if all of them have one; otherwise takes none, so a
 * refusal by a coarse budget does not spend the finer one (and vice versa).
 */
export function takeAll(now: number, ...pairs: ReadonlyArray<readonly [TokenBuckets, string]>): boolean {
  let ok = true;
  // Every pair is refilled and touched even after a refusal, so LRU order reflects all traffic.
  for (const [buckets, key] of pairs) if (!buckets.ready(key, now)) ok = false;
  if (ok) for (const [buckets, key] of pairs) buckets.take(key);
  return ok;
}

function refill(b: Bucket, now: number, rate: BucketRate): void {
  if (now > b.updatedAt) {
    b.tokens = Math.min(rate.burst, b.tokens + ((now - b.updatedAt) * rate.perSecond) / 1000);
    b.updatedAt = now;
  }
}
