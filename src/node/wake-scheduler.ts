// The one timer of a node's control plane. The pure cores (sessions, prober, router) each say when
// they next have work (nextWakeAt); the scheduler arms a single timer at the earliest of those and,
// when it fires, runs them and arms again. An idle node therefore sleeps until its next probe, advert
// refresh or rekey instead of waking on a fixed tick (the daemon used to poll every 10 ms: 100
// wake-ups a second doing nothing). Anything that may move work (a packet, a reload, data wanting a
// session) calls poke(), which re-arms the timer at the cores' earliest wake, earlier or later. Every
// core's nextWakeAt must therefore be exact: never later than its next work.
//
// The timers are injected: real ones in the daemon, an event queue in the simulator and in e2e tests,
// which then run the very same code step by step on virtual time.
import type { Clock, TimerHandle, Timers } from '../clock.js';

export interface WakeTarget {
  /** Earliest monotonic ms at which run() has work; at or before now means at once; Infinity: none. */
  nextWakeAt(): number;
  /** Does the work due at `now`. */
  run(now: number): void;
}

/** Told how late each firing was (the daemon's loop lag: loop-lag.ts); virtual timers are never late. */
export interface LatenessObserver {
  note(lateMs: number, now: number): void;
}

export class WakeScheduler {
  /** Times the timer fired (each one ran the cores once): the daemon's own idle wake-up count. */
  wakeups = 0;
  private armedAt = Infinity;
  private handle: TimerHandle | undefined;
  private stopped = false;
  private running = false;

  constructor(
    private readonly clock: Clock,
    private readonly timers: Timers,
    private readonly target: WakeTarget,
    private readonly lateness?: LatenessObserver,
  ) {}

  /**
   * The cores' earliest wake may have moved: arm the timer there. Earlier, because work came
   * forward; later, because work went away (a probe's reply came, so its timeout need not fire): a
   * timer left armed early costs a wake-up that finds nothing due, and each probe answered in time
   * left one (an idle 50-member lab: 1–1.3 of 7–8 timer wake-ups a second found nothing).
   */
  poke(): void {
    // During run() the cores' own ports poke (a probe that wants a session, say); fire() looks again
    // once run() returns, so that work lands in the same wake-up or the next one, never in a lost one.
    if (this.stopped || this.running) return;
    const at = Math.max(this.target.nextWakeAt(), this.clock.now());
    if (at === this.armedAt) return;
    this.handle?.cancel();
    this.handle = undefined;
    this.armedAt = at;
    if (at !== Infinity) this.handle = this.timers.at(at, this.fire);
  }

  /** When the timer is armed for (Infinity: not armed). */
  get nextFireAt(): number {
    return this.armedAt;
  }

  stop(): void {
    this.stopped = true;
    this.handle?.cancel();
    this.handle = undefined;
    this.armedAt = Infinity;
  }

  private readonly fire = (): void => {
    const dueAt = this.armedAt;
    this.handle = undefined;
    this.armedAt = Infinity;
    if (this.stopped) return;
    this.wakeups++;
    this.running = true;
    try {
      const now = this.clock.now();
      // Noted before run(): the prober's timeouts in this very run must already allow for it.
      this.lateness?.note(now - dueAt, now);
      this.target.run(now);
    } finally {
      this.running = false;
    }
    this.poke();
  };
}
