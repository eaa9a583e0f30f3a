// The delay emulator's core, without I/O: packets held per directed site pair until their delivery time.
//
// Delivery time = max(previous delivery time of the pair, now + delay ± jitter). The max keeps each pair
// FIFO, so jitter varies the delay without reordering a TCP flow (which would look like loss to it). Each
// pair's queue is therefore sorted, and the earliest deadline overall is the earliest queue head: the
// emulator arms one timer for it instead of one per packet.
//
// Time is passed in (milliseconds, any monotonic origin) so tests drive it without sleeping.

export interface DelayConfig {
  /** One-way delay added to every packet of the pair. */
  delayMs: number;
  /** Each packet's delay is drawn uniformly from delayMs ± jitterMs (never below zero). */
  jitterMs: number;
}

export interface PairStats {
  src: number;
  dst: number;
  delayMs: number | null;
  jitterMs: number | null;
  queued: number;
  delivered: number;
  /** Dropped because the pair's queue was full. */
  dropped: number;
}

export type HoldResult = 'held' | 'pass' | 'dropped';

interface PairQueue {
  src: number;
  dst: number;
  config: DelayConfig | null;
  // Parallel FIFO arrays with a moving head; compacted when the dead prefix grows (Array.shift is O(n)).
  at: number[];
  data: Buffer[];
  head: number;
  lastAt: number;
  delivered: number;
  dropped: number;
}

export class DelayLine {
  private readonly pairs = new Map<number, PairQueue>();

  constructor(
    private readonly maxQueuedPerPair = 10_000,
    private readonly random: () => number = Math.random,
  ) {}

  /** Configures the delay of packets from site `src` to site `dst` (one direction). */
  set(src: number, dst: number, config: DelayConfig): void {
    if (!(config.delayMs >= 0) || !(config.jitterMs >= 0))
      throw new RangeError('delay and jitter must be >= 0');
    this.pair(src, dst).config = { ...config };
  }

  /** New packets of the pair pass at once; packets already held still leave at their time, in order. */
  clear(src: number, dst: number): void {
    const q = this.pairs.get(key(src, dst));
    if (q) q.config = null;
  }

  /**
   * Offers a packet. 'pass': the pair has no delay, deliver it now (nothing was copied). 'held': a copy is
   * queued (the caller's buffer may be reused at once). 'dropped': the pair's queue is full.
   */
  hold(src: number, dst: number, packet: Uint8Array, now: number): HoldResult {
    const q = this.pairs.get(key(src, dst));
    if (!q || (q.config === null && q.head === q.at.length)) return 'pass';
    if (q.at.length - q.head >= this.maxQueuedPerPair) {
      q.dropped++;
      return 'dropped';
    }
    // A cleared pair with packets still queued keeps FIFO: new packets wait behind them with no delay.
    const c = q.config ?? { delayMs: 0, jitterMs: 0 };
    const jitter = c.jitterMs === 0 ? 0 : (this.random() * 2 - 1) * c.jitterMs;
    const at = Math.max(q.lastAt, now + Math.max(0, c.delayMs + jitter));
    q.lastAt = at;
    q.at.push(at);
    q.data.push(Buffer.from(packet));
    return 'held';
  }

  /** Earliest delivery time of any held packet, or null if nothing is held. */
  nextDeadline(): number | null {
    let min = Infinity;
    for (const q of this.pairs.values()) if (q.head < q.at.length && q.at[q.head]! < min) min = q.at[q.head]!;
    return min === Infinity ? null : min;
  }

  /** Hands every packet due at or before `now` to `deliver`, pair by pair in FIFO order. Returns the count. */
  releaseDue(now: number, deliver: (packet: Buffer) => void): number {
    let n = 0;
    for (const q of this.pairs.values()) {
      while (q.head < q.at.length && q.at[q.head]! <= now) {
        const data = q.data[q.head]!;
        q.data[q.head] = EMPTY;
        q.head++;
        q.delivered++;
        n++;
        deliver(data);
      }
      if (q.head === q.at.length) {
        q.at.length = 0;
        q.data.length = 0;
        q.head = 0;
      } else if (q.head > 1024 && q.head * 2 > q.at.length) {
        q.at.splice(0, q.head);
        q.data.splice(0, q.head);
        q.head = 0;
      }
    }
    return n;
  }

  stats(): PairStats[] {
    return [...this.pairs.values()].map((q) => ({
      src: q.src,
      dst: q.dst,
      delayMs: q.config?.delayMs ?? null,
      jitterMs: q.config?.jitterMs ?? null,
      queued: q.at.length - q.head,
      delivered: q.delivered,
      dropped: q.dropped,
    }));
  }

  private pair(src: number, dst: number): PairQueue {
    let q = this.pairs.get(key(src, dst));
    if (!q) {
      q = { src, dst, config: null, at: [], data: [], head: 0, lastAt: -Infinity, delivered: 0, dropped: 0 };
      this.pairs.set(key(src, dst), q);
    }
    return q;
  }
}

const EMPTY = Buffer.alloc(0);

function key(src: number, dst: number): number {
  return src * 65536 + dst;
}
