// Where a target's inputs ended up (drop reasons, reject reasons, "accepted"): the report prints the
// most common ones, which shows whether mutants got past the cheap checks into the deep code.

export class OutcomeCounter {
  readonly counts = new Map<string, number>();

  add(outcome: string, n = 1): void {
    this.counts.set(outcome, (this.counts.get(outcome) ?? 0) + n);
  }

  /** Adds the increase of every counter in `now` over `before` (both maps of running totals). */
  addDelta(before: ReadonlyMap<string, number>, now: ReadonlyMap<string, number>): void {
    for (const [k, v] of now) {
      const d = v - (before.get(k) ?? 0);
      if (d > 0) this.add(k, d);
    }
  }
}
