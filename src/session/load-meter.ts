// "Under load", as WireGuard means it: the rate of initiations that would each cost a Diffie-Hellman is
// above a threshold. WireGuard measures its handshake queue; we handle each packet to completion, so we
// measure the rate itself with a token bucket, and stay under load for `holdMs` after it last ran dry
// (a flood that pauses for a moment does not get a round of free Diffie-Hellmans).
import type { BucketRate } from './params.js';

export class LoadMeter {
  private tokens: number;
  private updatedAt = -Infinity;
  private loadedUntil = -Infinity;

  constructor(
    private readonly rate: BucketRate,
    private readonly holdMs: number,
  ) {
    this.tokens = rate.burst;
  }

  /** Counts one initiation at `now`; returns whether we are under load (this one included). */
  note(now: number): boolean {
    if (now > this.updatedAt) {
      const refilled = this.tokens + ((now - this.updatedAt) * this.rate.perSecond) / 1000;
      this.tokens = Math.min(this.rate.burst, refilled);
      this.updatedAt = now;
    }
    if (this.tokens >= 1) this.tokens -= 1;
    else this.loadedUntil = now + this.holdMs;
    return this.underLoad(now);
  }

  underLoad(now: number): boolean {
    return now < this.loadedUntil;
  }
}
