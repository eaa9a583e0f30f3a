// Probes sent and not yet resolved, keyed by probe id.
//
// Ids are u32: the top bit (NO_RETURN_BIT) says "do not probe me back" (an exploration trial, or a
// probe sent only in return; see ProbeSet), the other
// 31 bits count up from a random start so that ids are not predictable across restarts. What
// actually rejects a stale, duplicated or forged reply is this table: a reply must match an
// outstanding id AND the member and endpoint it was sent to, and each id resolves once. The table is
// bounded; when full, the oldest probe is given up (and counted lost by the caller). Deadlines sit
// in a heap, so timing out costs O(log n) per probe rather than a scan per tick.
//
// A probe that timed out is kept a little longer, in a table of the same bound, so a reply that
// comes after all can still be matched (takeExpired): it is counted lost already, but it says the
// link works and how slow it has become (Prober.onReply, a spurious timeout).
import type { NodeId } from '../identity/node-id.js';
import { BinaryHeap } from './min-heap.js';

export const NO_RETURN_BIT = 0x8000_0000;

export interface Outstanding {
  member: NodeId;
  key: string;
  sentAt: number;
  deadline: number;
}

/** How long a timed-out probe can still be answered (past any timeout: maxTimeoutMs is 4 s). */
export const LATE_REPLY_MAX_MS = 10_000;

export class OutstandingProbes {
  private readonly table = new Map<number, Outstanding>();
  /** Timed out, oldest first, at most `max`: a late reply may still match one. */
  private readonly expired = new Map<number, Outstanding>();
  private readonly deadlines = new BinaryHeap<{ deadline: number; id: number; entry: Outstanding }>(
    (a, b) => a.deadline < b.deadline,
  );
  private nextId: number;

  constructor(
    private readonly max: number,
    random: () => number,
  ) {
    this.nextId = Math.floor(random() * 0x8000_0000);
  }

  get size(): number {
    return this.table.size;
  }

  /** The oldest outstanding probe, removed, when the table is full (the caller counts it lost). */
  evictIfFull(): Outstanding | undefined {
    if (this.table.size < this.max) return undefined;
    const first = this.table.entries().next().value;
    if (!first) return undefined;
    this.table.delete(first[0]);
    return first[1];
  }

  /** Records a probe and returns its id; `noReturn` marks it "do not probe me back". */
  add(entry: Outstanding, noReturn: boolean): number {
    const id = (this.nextId | (noReturn ? NO_RETURN_BIT : 0)) >>> 0;
    this.nextId = (this.nextId + 1) & ~NO_RETURN_BIT;
    this.table.set(id, entry);
    this.deadlines.push({ deadline: entry.deadline, id, entry });
    return id;
  }

  /** Resolves a reply: the entry if `id` is outstanding for exactly this member and endpoint. */
  take(id: number, member: NodeId, key: string): Outstanding | undefined {
    const o = this.table.get(id);
    if (!o || o.member !== member || o.key !== key) return undefined;
    this.table.delete(id);
    return o;
  }

  /** Removes and returns every probe whose deadline is at or before `now`. */
  expire(now: number): Outstanding[] {
    const out: Outstanding[] = [];
    for (let top = this.live(); top !== undefined && top.deadline <= now; top = this.live()) {
      this.deadlines.pop();
      this.table.delete(top.id);
      out.push(top.entry);
      this.expired.set(top.id, top.entry);
      if (this.expired.size > this.max) this.expired.delete(this.expired.keys().next().value!);
    }
    return out;
  }

  /**
   * A reply to a probe that already timed out: the entry if `id` timed out for exactly this member
   * and endpoint within LATE_REPLY_MAX_MS of being sent; each resolves once, like take().
   */
  takeExpired(id: number, member: NodeId, key: string, now: number): Outstanding | undefined {
    const o = this.expired.get(id);
    if (!o || o.member !== member || o.key !== key) return undefined;
    this.expired.delete(id);
    return now - o.sentAt <= LATE_REPLY_MAX_MS ? o : undefined;
  }

  earliestDeadline(): number {
    return this.live()?.deadline ?? Infinity;
  }

  /** The heap's top once entries already resolved (replied, evicted) are dropped. */
  private live(): { deadline: number; id: number; entry: Outstanding } | undefined {
    for (let top = this.deadlines.peek(); top !== undefined; top = this.deadlines.peek()) {
      if (this.table.get(top.id) === top.entry) return top;
      this.deadlines.pop();
    }
    return undefined;
  }
}
