// Token buckets by key, in bounded memory: the building block of every handshake budget (per source IP,
// per relay, per member, per cookie destination, and the global ones, which are a single key).
//
// Buckets live in two generations, `current` and `previous`, each at most maxKeys / 2. A bucket used
// again moves to `current`; when `current` is full, or when a refill period has passed since the last
// turn (sweep), `previous` is dropped and `current` becomes it. A time turn drops only buckets untouched
// for a whole refill period, which are full and so identical to missing ones; a size turn (a flood of
// new keys) may drop a bucket that was not full, which at worst grants that key a fresh burst, still
// capped by whatever coarser budget the caller checks alongside (see takeAll). No Map is ever
// iterated: under a flood every operation is a few hash lookups.
import type { BucketRate } from './params.js';

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export class TokenBuckets {
  private current = new Map<string, Bucket>();
  private previous = new Map<string, Bucket>();
  private readonly generationSize: number;
  private turnedAt = -Infinity;

  constructor(
    private readonly rate: BucketRate,
    maxKeys: number,
  ) {
    if (maxKeys < 1) throw new RangeError('maxKeys must be at least 1');
    this.generationSize = Math.max(1, Math.floor(maxKeys / 2));
  }

  /** True if `key` has a whole token at `now` (monotonic ms). Takes nothing. */
  ready(key: string, now: number): boolean {
    return this.bucket(key, now).tokens >= 1;
  }

  /** Takes the token `ready(key)` just found. */
  take(key: string): void {
    const bucket = this.current.get(key);
    if (bucket !== undefined) bucket.tokens -= 1;
  }

  /** ready + take for a budget checked on its own. */
  allow(key: string, now: number): boolean {
    if (!this.ready(key, now)) return false;
    this.take(key);
    return true;
  }

  /** Buckets currently remembered (at most maxKeys). */
  get size(): number {
    return this.current.size + this.previous.size;
  }

  /** Forgets buckets untouched for a whole refill period (full ones). Cheap: call it on every tick. */
  sweep(now: number): void {
    if (this.turnedAt === -Infinity) this.turnedAt = now;
    const fullAfterMs = (this.rate.burst / this.rate.perSecond) * 1000;
    if (now - this.turnedAt >= fullAfterMs) this.turn(now);
  }

  private bucket(key: string, now: number): Bucket {
    let bucket = this.current.get(key);
    if (bucket === undefined) {
      bucket = this.previous.get(key);
      if (bucket !== undefined) this.previous.delete(key);
      else bucket = { tokens: this.rate.burst, updatedAt: now };
      if (this.current.size >= this.generationSize) this.turn(now);
      this.current.set(key, bucket);
    }
    if (now > bucket.updatedAt) {
      const refilled = bucket.tokens + ((now - bucket.updatedAt) * this.rate.perSecond) / 1000;
      bucket.tokens = Math.min(this.rate.burst, refilled);
      bucket.updatedAt = now;
    }
    return bucket;
  }

  private turn(now: number): void {
    this.previous = this.current;
    this.current = new Map();
    this.turnedAt = now;
  }
}

/**
 * Takes one token from every (buckets, key) pair if all of them have one; otherwise takes none, so a
 * refusal by a coarse budget does not spend the finer one (and vice versa). Stops at the first pair
 * without a token: callers list the coarse (single-key) budgets first, so once a flood has emptied one,
 * each further packet costs one lookup, and no bucket is made (and no older one evicted) for each of
 * its spoofed keys.
 */
export function takeAll(now: number, ...pairs: ReadonlyArray<readonly [TokenBuckets, string]>): boolean {
  for (const [buckets, key] of pairs) if (!buckets.ready(key, now)) return false;
  for (const [buckets, key] of pairs) buckets.take(key);
  return true;
}
