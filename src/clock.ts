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

/** A one-shot timer that can be called off. */
export interface TimerHandle {
  cancel(): void;
}

/**
 * One-shot timers on a Clock's time scale. The daemon uses real ones (systemTimers); e2e tests and the
 * simulator hand in an event queue, so the same node code runs step by step on virtual time.
 */
export interface Timers {
  /** Calls `fn` once when the clock reaches `at` (soon, if `at` is already past). */
  at(at: number, fn: () => void): TimerHandle;
}

/** Real timers for `clock` (setTimeout, rounded up so they never fire before `at`). */
export function systemTimers(clock: Clock = systemClock): Timers {
  return {
    at(at, fn) {
      const t = setTimeout(fn, Math.max(0, Math.ceil(at - clock.now())));
      return { cancel: () => clearTimeout(t) };
    },
  };
}
