// Measurement state of one direct path (member, endpoint): RTT, loss, jitter and liveness.
//
// Every probe resolves exactly once, either as a sample (an in-time reply) or as lost (its timeout
// passed). A reply that comes after the timeout does not un-lose the probe: the prober has already
// acted on the loss, and letting late replies rewrite history would make the loss ratio depend on
// how late "late" was. But a late reply is a spurious timeout (RFC 5682's word): the link works, and
// its round trip is an unambiguous sample (probe ids are unique). It therefore feeds srtt and rttvar,
// so the next timeouts cover the delay, and it undoes the run of consecutive losses (onLateReply).
// Without that, a member starved of CPU (100 daemons on 2 cores) answered every probe after its
// timeout, the timeout never grew, its links were declared dead one after another, and the probes and
// adverts that followed starved everyone further. And a link that answered late lately is slow, not
// dead, until its run of losses spans the slowest of those round trips: four probes lost within
// 200 ms on the fast schedule say nothing about a link whose replies take 1.2 s (N = 75 on two cores:
// 59 % of probes timed out, most answered late, and each run of four declared a working link dead,
// re-advertised to every node; the advert storm kept the machine saturated). A link that never
// answered late dies exactly as before. Liveness is a count, not a clock: DEAD after `deadAfterLost`
// consecutive losses, ALIVE again on the first reply. A revived link starts its measurement afresh:
// the losses that made it dead describe the outage, which is over, and kept in the window they would
// price the healed link as lossy for a whole window of probes (that kept traffic on detours for
// ~20 s). Moving traffic back onto it is the path selector's decision (its hold time), not ours.
import type { EndpointView } from './link-view.js';
import { probeTimeoutMs, type ProbeParams } from './probe-params.js';

/** RFC 6298 gains. */
const ALPHA = 1 / 8;
const BETA = 1 / 4;
/** RFC 3550 jitter gain. */
const JITTER_GAIN = 1 / 16;
/** A late reply marks the link slow for this long (the grace it gives a run of losses, below). */
const SLOW_MEMORY_MS = 60_000;
/** The most a slow link's death waits beyond deadAfterLost losses (LATE_REPLY_MAX_MS bounds it too). */
const MAX_SLOW_GRACE_MS = 3000;

export type Transition = 'none' | 'up' | 'down';

export class LinkEstimator {
  srttMs = 0;
  rttvarMs = 0;
  lastRttMs = 0;
  jitterMs = 0;
  consecutiveLost = 0;
  alive = false;
  lastReplyAt = -Infinity;
  private hasSample = false;
  /** The slowest late round trip since `lateAt` - SLOW_MEMORY_MS, and when the last one came. */
  private lateRttMs = 0;
  private lateAt = -Infinity;
  /** When the first probe of the current run of losses was sent. */
  private lossRunFrom = 0;
  private readonly recent: number[] = [];
  /** Ring of outcomes, 1 = lost; `filled` of them are valid. */
  private readonly window: Uint8Array;
  private windowPos = 0;
  private filled = 0;
  private lostInWindow = 0;

  constructor(private readonly params: Pick<ProbeParams, 'lossWindow' | 'recentWindow' | 'deadAfterLost'>) {
    this.window = new Uint8Array(Math.max(1, params.lossWindow));
  }

  /** A reply arrived in time. */
  onSample(rttMs: number, now: number): Transition {
    const rtt = Math.max(0, rttMs);
    const revived = !this.alive;
    if (revived) this.forget();
    if (this.smooth(rtt)) this.jitterMs += (Math.abs(rtt - this.lastRttMs) - this.jitterMs) * JITTER_GAIN;
    this.lastRttMs = rtt;
    this.recent.push(rtt);
    if (this.recent.length > Math.max(1, this.params.recentWindow)) this.recent.shift();
    this.lastReplyAt = now;
    this.consecutiveLost = 0;
    this.record(0);
    if (!revived) return 'none';
    this.alive = true;
    return 'up';
  }

  /**
   * A reply came after its probe's timeout: a spurious timeout. The sample moves srtt and rttvar (the
   * timeout adapts) but not jitter or the recent minimum; the loss stays in the window (`recordLoss`
   * when it was not counted at the timeout). The link answered, so a run of losses ends; a dead link
   * stays dead until a reply in time (the caller probes it again at once).
   */
  onLateReply(rttMs: number, recordLoss: boolean, now: number): void {
    const rtt = Math.max(0, rttMs);
    this.lateRttMs = now - this.lateAt > SLOW_MEMORY_MS ? rtt : Math.max(this.lateRttMs, rtt);
    this.lateAt = now;
    this.smooth(rtt);
    if (recordLoss) this.record(1);
    if (this.alive) this.consecutiveLost = 0;
  }

  /**
   * A probe sent at `sentAt` timed out without a reply. DEAD after deadAfterLost in a row, and on a
   * link slow lately (late replies) only once the run spans its slowest late round trip.
   */
  onLost(sentAt: number, now: number): Transition {
    if (this.consecutiveLost === 0) this.lossRunFrom = sentAt;
    this.consecutiveLost++;
    this.record(1);
    const slow = now - this.lateAt <= SLOW_MEMORY_MS;
    const grace = slow ? Math.min(this.lateRttMs, MAX_SLOW_GRACE_MS) : 0;
    if (this.alive && this.consecutiveLost >= this.params.deadAfterLost && now - this.lossRunFrom >= grace) {
      this.alive = false;
      return 'down';
    }
    return 'none';
  }

  get sampled(): boolean {
    return this.hasSample;
  }

  /**
   * Lost fraction of the last `lossWindow` probes. Until the window has filled, the probes not yet
   * sent count as answered: one early loss reads 1/20, not 1/3. Three samples say almost nothing
   * about a 2 % link, and an estimate that swings from 0 to 33 % and back made every node with a
   * lossy link re-advertise once a second after boot.
   */
  get lossRatio(): number {
    return this.lostInWindow / this.window.length;
  }

  /** Minimum of the last few samples (0 before any). */
  get recentRttMs(): number {
    let m = Infinity;
    for (const r of this.recent) if (r < m) m = r;
    return m === Infinity ? 0 : m;
  }

  timeoutMs(p: Parameters<typeof probeTimeoutMs>[3]): number {
    return probeTimeoutMs(this.hasSample, this.srttMs, this.rttvarMs, p);
  }

  view(endpointKey: string, configured: boolean): EndpointView {
    return {
      endpointKey,
      configured,
      alive: this.alive,
      srttMs: this.srttMs,
      rttvarMs: this.rttvarMs,
      recentRttMs: this.recentRttMs,
      lastRttMs: this.lastRttMs,
      lossRatio: this.lossRatio,
      jitterMs: this.jitterMs,
      consecutiveLost: this.consecutiveLost,
      lastReplyAt: this.lastReplyAt,
    };
  }

  /** RFC 6298's srtt and rttvar take `rtt`; false when it was the first sample (nothing to smooth). */
  private smooth(rtt: number): boolean {
    if (!this.hasSample) {
      this.srttMs = rtt;
      this.rttvarMs = rtt / 2;
      this.hasSample = true;
      return false;
    }
    this.rttvarMs = (1 - BETA) * this.rttvarMs + BETA * Math.abs(this.srttMs - rtt);
    this.srttMs = (1 - ALPHA) * this.srttMs + ALPHA * rtt;
    return true;
  }

  /** Drops every sample and loss: the next reply starts the measurement over. */
  private forget(): void {
    this.hasSample = false;
    this.srttMs = this.rttvarMs = this.lastRttMs = this.jitterMs = 0;
    this.recent.length = 0;
    this.window.fill(0);
    this.windowPos = this.filled = this.lostInWindow = 0;
  }

  private record(lost: 0 | 1): void {
    if (this.filled === this.window.length) this.lostInWindow -= this.window[this.windowPos];
    else this.filled++;
    this.window[this.windowPos] = lost;
    this.lostInWindow += lost;
    this.windowPos = (this.windowPos + 1) % this.window.length;
  }
}
