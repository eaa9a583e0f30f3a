// Time is injected everywhere outside the I/O shell, so tests and the simulator move it by hand.
// All values are milliseconds on a monotonic scale (never the wall clock).

export interface Clock {
  now(): number;
}

export const systemClock: Clock = {
  now: () => performance.now(),
};

/** A clock a test or simulator advances explicitly. */
export class ManualClock implements Clock {
  private t: number;

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  set(t: number): void {
    if (t < this.t) throw new RangeError(`clock cannot go back: ${t} < ${this.t}`);
    this.t = t;
  }

  advance(ms: number): void {
    this.set(this.t + ms);
  }
}
