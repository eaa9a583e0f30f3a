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

/**
 * A node's housekeeping beat: instants phase + k·period. Timer work that may wait up to a period
 * (an idle link's probe every few seconds, an anti-entropy round, a drift advert, a NAT check) is
 * set to the beat at or after its due time, so an idle node does all of it in one wake-up a period
 * instead of one wake-up for each: each wake-up of a daemon among dozens on a busy host costs about
 * half a millisecond of CPU before any work (caches refilled), whatever it then does. Urgent work
 * (the 50 ms probes of a link carrying data, a link going down) never waits for the beat.
 */
export interface Beat {
  readonly periodMs: number;
  /** The first beat at or after `t`. */
  at(t: number): number;
}

/** No beat: every time is its own (pure cores' default, and what their unit tests assume). */
export const NO_BEAT: Beat = { periodMs: 0, at: (t) => t };

export function beat(periodMs: number, phaseMs: number): Beat {
  return {
    periodMs,
    // The epsilon keeps a time already on a beat (computed from one) there despite rounding.
    at: (t) => phaseMs + Math.ceil((t - phaseMs) / periodMs - 1e-9) * periodMs,
  };
}
