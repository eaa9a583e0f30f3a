// A token bucket whose size and refill rate are given at each use rather than fixed: the routing
// budgets (control-budgets.ts) follow the size of the network and of the link-state database, which
// change while a bucket lives. Pure: time comes in as `now` (monotonic ms).

export interface BucketShape {
  /** Most tokens the bucket holds (the burst). */
  capacity: number;
  perSecond: number;
}

export class TokenBucket {
  private tokens: number;
  private at: number;

  /** A new bucket is full: someone we never heard from gets the whole burst. */
  constructor(shape: BucketShape, now: number) {
    this.tokens = shape.capacity;
    this.at = now;
  }

  /** Whether `cost` tokens are there now (taking nothing). */
  has(cost: number, shape: BucketShape, now: number): boolean {
    this.refill(shape, now);
    return this.tokens >= cost;
  }

  /** Takes `cost` tokens if that many are there; otherwise takes nothing and returns false. */
  take(cost: number, shape: BucketShape, now: number): boolean {
    if (!this.has(cost, shape, now)) return false;
    this.tokens -= cost;
    return true;
  }

  /** Full again: indistinguishable from a new bucket, so its owner may forget it. */
  isFull(shape: BucketShape, now: number): boolean {
    this.refill(shape, now);
    return this.tokens >= shape.capacity;
  }

  private refill(shape: BucketShape, now: number): void {
    if (now > this.at) this.tokens += ((now - this.at) * shape.perSecond) / 1000;
    this.at = Math.max(this.at, now);
    if (this.tokens > shape.capacity) this.tokens = shape.capacity;
  }
}
