// Standing-delay control for the queue between the wire and the data plane: the socket's receive queue.
// When the daemon is the bottleneck (a bulk flow faster than it can open, or a CPU shared with other
// work), that queue fills and everything behind it waits — a ping, an ssh keystroke, the ACKs of the
// other direction. A small buffer alone bounds the wait only by dropping at the tail once full, in bursts,
// after the delay is already there. This is CoDel (RFC 8289) on the age of each receive, which the
// kernel stamps (SO_TIMESTAMPNS, native/udp.c): while the oldest message's wait stays above `target` for
// a whole `interval`, drop one bulk message, then more and more often (interval / √count) until the wait
// falls below target. The senders' congestion control sees the loss and slows down; a dropped packet is
// not written to the TUN, which also drains the queue faster when the sender does not slow down (BBR
// mostly ignores loss).
//
// Only bulk messages are picked (at least `minDropBytes`, i.e. a full-size datagram or a GRO receive of
// several): a ping, a TCP ACK, a handshake or a keepalive is never picked. A pick is a verdict on the
// queue, not on the packet: the transport marks the message and the data plane drops only the IP
// packets in it, after opening them — path probes are padded to the data's size and sealed like it, and
// losing them to this control would make a congested but working path look dead (path-liveness.ts).
// Pure: the caller passes the ages and the clock.

export interface StandingDelayOptions {
  /** Acceptable standing wait in the queue (ms). */
  targetMs: number;
  /** How long the wait must stay above target before the first drop (ms); also the control law's base. */
  intervalMs: number;
  /** Messages shorter than this are never dropped (bytes). */
  minDropBytes: number;
}

/**
 * Defaults: a standing wait of 0.5 ms is what an idle path through two daemons costs anyway; 10 ms of it
 * before acting lets a burst pass (a GRO receive of 64 kB takes ~0.3 ms to open) while a flow that keeps
 * the queue full is told within a few of its round trips on a LAN, and within one on a WAN.
 */
export const DEFAULT_STANDING_DELAY: StandingDelayOptions = Object.freeze({
  targetMs: 0.5,
  intervalMs: 10,
  minDropBytes: 1000,
});

export class StandingDelay {
  /** When the wait has been above target long enough to drop (0: below target). */
  private firstAboveAt = 0;
  private dropping = false;
  private dropNextAt = 0;
  /** Drops since dropping started (remembered across a short pause, as RFC 8289 does). */
  private count = 0;
  private lastCount = 0;

  constructor(private readonly opts: StandingDelayOptions = DEFAULT_STANDING_DELAY) {}

  /**
   * One received message, oldest first: it waited `ageMs` in the queue, is `bytes` long, and is being
   * dequeued at `nowMs` (a monotonic clock). True: drop it.
   */
  drop(ageMs: number, bytes: number, nowMs: number): boolean {
    if (bytes < this.opts.minDropBytes) return false;
    const ok = this.okToDrop(ageMs, nowMs);
    if (this.dropping) {
      if (!ok) {
        this.dropping = false;
        return false;
      }
      if (nowMs < this.dropNextAt) return false;
      this.count++;
      this.dropNextAt = this.controlLaw(this.dropNextAt);
      return true;
    }
    if (!ok) return false;
    this.dropping = true;
    // Back to dropping soon after it stopped: resume near the rate that was needed then.
    const delta = this.count - this.lastCount;
    this.count = delta > 1 && nowMs - this.dropNextAt < 16 * this.opts.intervalMs ? delta : 1;
    this.lastCount = this.count;
    this.dropNextAt = this.controlLaw(nowMs);
    return true;
  }

  /** Messages shorter than this are never looked at (StandingDelayOptions.minDropBytes). */
  get minDropBytes(): number {
    return this.opts.minDropBytes;
  }

  /** True while the control is dropping (the queue has a standing wait above target). */
  get active(): boolean {
    return this.dropping;
  }

  private okToDrop(ageMs: number, nowMs: number): boolean {
    if (ageMs < this.opts.targetMs) {
      this.firstAboveAt = 0;
      return false;
    }
    if (this.firstAboveAt === 0) {
      this.firstAboveAt = nowMs + this.opts.intervalMs;
      return false;
    }
    return nowMs >= this.firstAboveAt;
  }

  private controlLaw(t: number): number {
    return t + this.opts.intervalMs / Math.sqrt(this.count);
  }
}
