// Outstanding REQUESTs, per (origin, neighbour).
//
// One request per advert is the point of pulling: when a partition heals, dozens of links announce
// the same (origin, seq) and the advert should cross once. So a claim for exactly the seq already
// being fetched from another neighbour waits (for at most requestTimeoutMs). Anything else is asked
// for at once, from whoever claims it: a request to one neighbour never stops us asking another for
// a different seq. Tracked per origin only, a member that claimed (X, 2^53 − 1) every 500 ms and
// never answered kept every honest neighbour's announcement of X waiting until X's advert expired.
//
// Bounded: at most MAX_PER_ORIGIN requests per origin (members only), each gone after its timeout.
import type { NodeId } from '../identity/node-id.js';

/** Parallel requests for one origin: the honest claim and a couple of others are enough. */
const MAX_PER_ORIGIN = 4;

export interface Request {
  origin: NodeId;
  n: NodeId;
  seq: number;
  at: number;
}

export class Requests {
  private readonly byOrigin = new Map<NodeId, Map<NodeId, Request>>();
  private entries = 0;
  private timeoutAt = Infinity;

  constructor(private readonly timeoutMs: number) {}

  /** Our request to `n` for `origin`, unless it timed out. */
  live(origin: NodeId, n: NodeId, now: number): Request | undefined {
    const r = this.byOrigin.get(origin)?.get(n);
    return r && now < r.at + this.timeoutMs ? r : undefined;
  }

  /** Whether (origin, seq) exactly is being fetched from a neighbour other than `n`. */
  fetching(origin: NodeId, seq: number, n: NodeId, now: number): boolean {
    for (const r of this.byOrigin.get(origin)?.values() ?? [])
      if (r.n !== n && r.seq === seq && now < r.at + this.timeoutMs) return true;
    return false;
  }

  /** Records a request; false when `origin` has as many outstanding as we allow. */
  add(origin: NodeId, n: NodeId, seq: number, now: number): boolean {
    let m = this.byOrigin.get(origin);
    if (!m) this.byOrigin.set(origin, (m = new Map()));
    if (!m.has(n)) {
      if (m.size >= MAX_PER_ORIGIN) return false;
      this.entries++;
    }
    m.set(n, { origin, n, seq, at: now });
    this.timeoutAt = Math.min(this.timeoutAt, now + this.timeoutMs);
    return true;
  }

  /** (origin, seq) arrived: requests for it or anything older are settled. */
  settled(origin: NodeId, seq: number): void {
    const m = this.byOrigin.get(origin);
    if (!m) return;
    for (const [n, r] of m) if (r.seq <= seq) this.remove(m, origin, n);
  }

  forgetNeighbor(n: NodeId): void {
    for (const [origin, m] of [...this.byOrigin]) if (m.has(n)) this.remove(m, origin, n);
  }

  forgetOrigin(origin: NodeId): void {
    this.entries -= this.byOrigin.get(origin)?.size ?? 0;
    this.byOrigin.delete(origin);
  }

  dueAt(): number {
    return this.timeoutAt;
  }

  /** Removes and returns the requests that timed out by `now`. */
  takeTimedOut(now: number): Request[] {
    if (now < this.timeoutAt) return [];
    const out: Request[] = [];
    this.timeoutAt = Infinity;
    for (const [origin, m] of [...this.byOrigin]) {
      for (const [n, r] of m) {
        // The same expression as the deadline it schedules: `now - at < timeout` can disagree with
        // `now < at + timeout` by a rounding error, and a timer that never fires spins.
        if (now < r.at + this.timeoutMs) this.timeoutAt = Math.min(this.timeoutAt, r.at + this.timeoutMs);
        else {
          this.remove(m, origin, n);
          out.push(r);
        }
      }
    }
    return out;
  }

  get size(): number {
    return this.entries;
  }

  private remove(m: Map<NodeId, Request>, origin: NodeId, n: NodeId): void {
    if (!m.delete(n)) return;
    this.entries--;
    if (m.size === 0) this.byOrigin.delete(origin);
  }
}
