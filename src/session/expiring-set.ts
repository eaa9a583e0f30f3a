// A set of strings each remembered for the same fixed time, with a cap: the replay filter of
// initiations (keyed by mac1) and the table of members' recent addresses are made of it.
//
// Every entry lives `ttlMs` from its last add, so Map insertion order (an add re-inserts) is expiry
// order: expired entries are always a prefix, and so are the oldest ones the cap evicts. A lookup is one
// Map.get; adds and sweeps cost only the entries they drop.
export class ExpiringSet {
  private readonly expiries = new Map<string, number>();

  constructor(
    private readonly cap: number,
    private readonly ttlMs: number,
  ) {
    if (cap < 1) throw new RangeError('cap must be at least 1');
  }

  /** True if `key` was added less than ttlMs before `now` (and not evicted since). */
  has(key: string, now: number): boolean {
    const expiresAt = this.expiries.get(key);
    return expiresAt !== undefined && now < expiresAt;
  }

  /** Adds `key` (or renews it) until now + ttlMs; drops expired entries, then the oldest over the cap. */
  add(key: string, now: number): void {
    this.expiries.delete(key);
    this.expiries.set(key, now + this.ttlMs);
    this.sweep(now);
    if (this.expiries.size > this.cap) {
      for (const k of this.expiries.keys()) {
        this.expiries.delete(k);
        if (this.expiries.size <= this.cap) break;
      }
    }
  }

  /** Drops expired entries. */
  sweep(now: number): void {
    for (const [k, expiresAt] of this.expiries) {
      if (now < expiresAt) break;
      this.expiries.delete(k);
    }
  }

  get size(): number {
    return this.expiries.size;
  }
}
