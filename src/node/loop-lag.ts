// How late the daemon's event loop has been running lately, for the prober's timeouts.
//
// With 50–100 daemons on two cores a daemon's loop can be off the CPU for hundreds of ms. A probe
// reply that arrived during such a stall waits in the socket buffer, and libuv runs due timers
// before it polls sockets: the prober's timeout fires first and counts the reply lost (then late),
// links flap, adverts storm, and the extra work stalls everyone further. The measure is the drift
// of the control plane's own timer (WakeScheduler: how long after it was due it fired), which costs
// nothing — no extra timer, no wake-ups on an idle daemon — and is exactly what delays a timeout:
// a probe deadline is always one of the times that timer is armed for.
//
// allowanceMs() is what the prober adds to a probe's timeout: twice the largest drift within the
// last `windowMs`. Twice, because the stall that made this timer late also held back the socket read
// that follows it in the same loop turn; waiting one more stall's length lets that read happen.
// Drift under `floorMs` is timer granularity (setTimeout rounds to 1 ms), not a stall: it counts 0,
// so a healthy daemon times probes out exactly as the simulator's (which has no drift) does.

export interface LoopLagParams {
  windowMs: number;
  floorMs: number;
  maxAllowanceMs: number;
}

export const DEFAULT_LOOP_LAG: Readonly<LoopLagParams> = Object.freeze({
  // A stall matters to the timeouts decided around it (the reply read in the same or the next loop
  // turns), not to one seconds later. Stalls of a starved daemon recur every few hundred ms, so a
  // short window still covers them; once they stop, timeouts are exact again within 1 s. With 10 s,
  // a link cut just after a handshake flood took 1.1 s instead of 0.3 s to fail over
  // (test/adversary/handshake-flood.test.ts, through a relay).
  windowMs: 500,
  floorMs: 5,
  // The most a stall may add to a probe's timeout, and so to a failover's detection: waiting longer
  // than this helps a loop starved beyond help no more than declaring its links dead does.
  maxAllowanceMs: 1000,
});

export class LoopLag {
  /** Largest drift of the current and of the previous window: a sliding maximum in O(1). */
  private current = 0;
  private previous = 0;
  private windowStart = -Infinity;

  constructor(private readonly params: LoopLagParams = DEFAULT_LOOP_LAG) {}

  /** The loop ran something `lateMs` after it was due, at `now`. */
  note(lateMs: number, now: number): void {
    this.roll(now);
    if (lateMs >= this.params.floorMs) this.current = Math.max(this.current, lateMs);
  }

  /** Extra time to give a probe before it counts as lost (0 on a loop that keeps time). */
  allowanceMs(now: number): number {
    this.roll(now);
    return Math.min(this.params.maxAllowanceMs, 2 * Math.max(this.current, this.previous));
  }

  private roll(now: number): void {
    if (now - this.windowStart < this.params.windowMs) return;
    // More than two windows since the last roll: nothing recent survives.
    this.previous = now - this.windowStart < 2 * this.params.windowMs ? this.current : 0;
    this.current = 0;
    this.windowStart = now;
  }
}
