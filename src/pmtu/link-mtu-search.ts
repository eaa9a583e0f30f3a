// Path MTU discovery for one direct link: the largest datagram (UDP payload) that crosses it.
//
// The data plane sends padded probes with DF set (the socket never fragments, see native/udp.c) and the
// member answers each with the size it received. ICMP "fragmentation needed" from the underlay is not
// trusted or needed: a black hole that filters it is exactly the case to catch (RFC 4821, PLPMTUD).
//
// Pure: time comes in as `now`, sizes to probe go out as return values. The search works in rounds:
//   - a round probes a few sizes spread between the largest size known to pass (`confirmed`, at first
//     the floor every link is assumed to carry) and the smallest known to fail (`ceiling`, at first one
//     past the largest datagram the network ever needs), all at once, and waits for their answers or
//     the round's timeout;
//   - an answer raises `confirmed`; a size left unanswered `missesToFail` rounds in a row (random loss
//     must not lower a link's MTU) lowers `ceiling`; the next round starts at once;
//   - when ceiling − confirmed ≤ precision the search settles on `confirmed` and looks again every
//     reprobeMs ("repeat slowly": a path may have grown), searching upward only;
//   - `suspect()` (large packets started failing: data-sized end-to-end probes lost) searches again at
//     once, at and below the current size, at most once per suspectHoldMs.
// `mtu` is what the data plane uses: optimistic (the largest size) until a round shows it fails, then
// the best size known to pass; it moves only at the end of a round.

export interface LinkMtuParams {
  /** Datagram every link is assumed to carry (never probed): wire/sizes.ts MIN_LINK_DATAGRAM. */
  floor: number;
  /** Largest datagram worth knowing about: the network's maxDatagramBytes(mtu). */
  top: number;
  sizesPerRound: number;
  /** The search stops when the unknown range is this narrow (bytes). */
  precision: number;
  missesToFail: number;
  /** A round waits for its answers at least this long, and at least 3 RTTs. */
  minRoundMs: number;
  maxRoundMs: number;
  reprobeMs: number;
  suspectHoldMs: number;
}

export const DEFAULT_LINK_MTU: Readonly<Omit<LinkMtuParams, 'floor' | 'top'>> = Object.freeze({
  // Six sizes a round: on the 1232..1449 range of a default network, a black hole takes four or five
  // rounds (two to fail a size, then two or three to narrow it to 8 bytes: 1.5–2 s); a clean link one
  // round trip.
  sizesPerRound: 6,
  precision: 8,
  missesToFail: 2,
  minRoundMs: 300,
  maxRoundMs: 3000,
  // As Linux ages a learned PMTU (ip_rt_mtu_expires) and RFC 4821 suggests: paths rarely grow.
  reprobeMs: 10 * 60_000,
  suspectHoldMs: 5000,
});

export type LinkMtuPhase = 'searching' | 'settled';

export class LinkMtuSearch {
  private confirmed: number;
  private ceiling: number;
  private reported: number;
  private phase: LinkMtuPhase = 'searching';
  /** Sizes of the running round not answered yet; undefined between rounds. */
  private pending: Set<number> | undefined;
  private roundEndsAt = Infinity;
  private nextRoundAt: number;
  private suspectAllowedAt = -Infinity;
  private readonly misses = new Map<number, number>();

  constructor(
    private readonly p: LinkMtuParams,
    now: number,
  ) {
    this.confirmed = p.floor;
    this.ceiling = p.top + 1;
    this.reported = p.top;
    this.nextRoundAt = now;
  }

  /** The datagram size the data plane may use on this link now. */
  get mtu(): number {
    return this.reported;
  }

  get state(): LinkMtuPhase {
    return this.phase;
  }

  /** When tick() next has work. */
  nextWakeAt(): number {
    return this.pending ? this.roundEndsAt : this.nextRoundAt;
  }

  /**
   * Ends a round whose time is up, and starts the next one when due: returns the datagram sizes to
   * probe now (each once), or an empty list. `rttMs` (the link's smoothed RTT) sizes the round's wait.
   */
  tick(now: number, rttMs: number): number[] {
    if (this.pending && now >= this.roundEndsAt) this.finishRound(now);
    if (this.pending || now < this.nextRoundAt) return [];
    if (this.phase === 'settled') {
      // The slow re-probe: has the path grown? Only sizes above what passes.
      if (this.confirmed >= this.p.top) {
        this.nextRoundAt = now + this.p.reprobeMs;
        return [];
      }
      this.phase = 'searching';
      this.ceiling = this.p.top + 1;
    }
    const sizes = spread(this.confirmed, this.ceiling, this.p.sizesPerRound);
    const wait = Math.min(this.p.maxRoundMs, Math.max(this.p.minRoundMs, 3 * rttMs));
    this.pending = new Set(sizes);
    this.roundEndsAt = now + wait;
    return sizes;
  }

  /**
   * The member received a probe of `size` bytes. True when that ended the round (every size answered):
   * the caller's timer should look again, the next round is due now.
   */
  onReply(size: number, now: number): boolean {
    if (size > this.p.top) return false;
    if (size > this.confirmed) this.confirmed = size;
    if (size >= this.ceiling) this.ceiling = size + 1; // the path grew since that size failed
    if (!this.pending) return false;
    this.pending.delete(size);
    if (this.pending.size > 0) return false;
    this.finishRound(now);
    return true;
  }

  /**
   * Large packets started failing on this link: search again now at and below the size in use. The
   * size in use stays until a round shows it fails.
   */
  suspect(now: number): void {
    if (now < this.suspectAllowedAt || this.phase === 'searching') return;
    this.suspectAllowedAt = now + this.p.suspectHoldMs;
    this.phase = 'searching';
    this.ceiling = this.reported + 1;
    this.confirmed = this.p.floor;
    this.misses.clear();
    this.nextRoundAt = now;
  }

  /**
   * The link went down: the round in flight is forgotten (its unanswered probes say nothing about
   * size), and the next one starts when the link is back and tick() is called again.
   */
  abandonRound(now: number): void {
    if (!this.pending) return;
    this.pending = undefined;
    this.roundEndsAt = Infinity;
    this.nextRoundAt = now;
  }

  private finishRound(now: number): void {
    for (const size of this.pending ?? []) {
      // Smaller than a size that passed: lost at random, not too big.
      if (size <= this.confirmed) continue;
      const missed = (this.misses.get(size) ?? 0) + 1;
      this.misses.set(size, missed);
      if (missed >= this.p.missesToFail && size < this.ceiling) this.ceiling = size;
    }
    for (const size of this.misses.keys())
      if (size <= this.confirmed || size >= this.ceiling) this.misses.delete(size);
    this.pending = undefined;
    this.roundEndsAt = Infinity;
    this.nextRoundAt = now;
    if (this.ceiling - this.confirmed <= this.p.precision) {
      this.phase = 'settled';
      this.reported = this.confirmed;
      this.nextRoundAt = now + this.p.reprobeMs;
    } else if (this.reported >= this.ceiling) {
      // What we use is known to fail: the best known to pass, until the search settles.
      this.reported = this.confirmed;
    }
  }
}

/**
 * Up to `k` sizes strictly between `lo` (passes) and `hi` (fails, or one past the top), evenly spread,
 * the largest hi − 1: a link that carries everything is confirmed by the first round.
 */
export function spread(lo: number, hi: number, k: number): number[] {
  const span = hi - 1 - lo;
  if (span <= 0) return [];
  if (span <= k) return Array.from({ length: span }, (_, i) => lo + 1 + i);
  const sizes: number[] = [];
  for (let i = 1; i <= k; i++) sizes.push(lo + Math.round((i * span) / k));
  return sizes;
}
