// A set of strings each remembered for the same fixed time, with a cap: the replay filter of
// initiations (keyed by mac1) is made of two.
//
// Every add writes a record at the tail of a ring of `cap` slots; the Map says which slot holds a key's
// latest record. Records expire in ring order (one ttl for all), so expiry and eviction both pop the
// head, and a popped record removes its key only if it is still that key's latest (an add renews by
// writing a new record). Nothing ever iterates the Map: a V8 Map that is emptied from the front and
// iterated from the front rescans its deleted slots on every pass, which turned each add into a scan of
// thousands under a flood.
export class ExpiringSet {
  private readonly slotOf = new Map<string, number>();
  private readonly keys: Array<string | undefined>;
  private readonly expiries: Float64Array;
  private head = 0;
  private count = 0;

  constructor(
    private readonly cap: number,
    private readonly ttlMs: number,
  ) {
    if (cap < 1) throw new RangeError('cap must be at least 1');
    this.keys = new Array<string | undefined>(cap).fill(undefined);
    this.expiries = new Float64Array(cap);
  }

  /** True if `key` was added less than ttlMs before `now` (and not evicted since). */
  has(key: string, now: number): boolean {
    const slot = this.slotOf.get(key);
    return slot !== undefined && now < this.expiries[slot]!;
  }

  /** Adds `key` (or renews it) until now + ttlMs; drops expired records, then the oldest if full. */
  add(key: string, now: number): void {
    this.sweep(now);
    if (this.count === this.cap) this.popHead();
    const slot = (this.head + this.count) % this.cap;
    this.keys[slot] = key;
    this.expiries[slot] = now + this.ttlMs;
    this.count++;
    this.slotOf.set(key, slot);
  }

  /** Drops expired records. */
  sweep(now: number): void {
    while (this.count > 0 && this.expiries[this.head]! <= now) this.popHead();
  }

  /** Keys currently remembered. */
  get size(): number {
    return this.slotOf.size;
  }

  private popHead(): void {
    const key = this.keys[this.head];
    if (key !== undefined && this.slotOf.get(key) === this.head) this.slotOf.delete(key);
    this.keys[this.head] = undefined;
    this.head = (this.head + 1) % this.cap;
    this.count--;
  }
}
