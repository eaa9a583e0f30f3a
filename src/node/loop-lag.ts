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
  // Long enough to cover the stalls of a busy start-up or a storm, short enough that a daemon that
  // recovered is back to exact timeouts (and sub-second failover) within seconds.
  windowMs: 10_000,
  floorMs: 5,
  // A loop late by more than a second is starved beyond what waiting helps; the prober's own
  // maxTimeoutMs (2 s) is the same order.
  maxAllowanceMs: 2000,
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
