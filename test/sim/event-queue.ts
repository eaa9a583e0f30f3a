// The simulator's agenda: callbacks ordered by virtual time, FIFO among equal times (so runs are
// deterministic whatever the heap does with ties). It is also the virtual Clock and the Timers that
// nodes' control planes (and e2e clusters on virtual time) are built with.
import type { Clock, TimerHandle, Timers } from '../../src/clock.js';
import { BinaryHeap } from '../../src/probe/min-heap.js';

interface SimEvent {
  at: number;
  seq: number;
  run: () => void;
}

export class EventQueue implements Timers {
  private readonly heap = new BinaryHeap<SimEvent>((a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq));
  private seq = 0;
  now = 0;
  processed = 0;
  readonly clock: Clock = { now: () => this.now };

  get size(): number {
    return this.heap.size;
  }

  /** Runs `run` at virtual time `at` (never earlier than now). */
  at(at: number, run: () => void): TimerHandle {
    let cancelled = false;
    this.heap.push({ at: Math.max(at, this.now), seq: this.seq++, run: () => cancelled || run() });
    return { cancel: () => (cancelled = true) };
  }

  after(delayMs: number, run: () => void): TimerHandle {
    return this.at(this.now + delayMs, run);
  }

  /** Time of the next event, or Infinity. */
  nextAt(): number {
    return this.heap.peek()?.at ?? Infinity;
  }

  /** Processes the earliest event alone, if it is due by `until`; false if none is. */
  runNext(until = Infinity): boolean {
    const e = this.heap.peek();
    if (e === undefined || e.at > until) return false;
    this.heap.pop();
    this.now = e.at;
    this.processed++;
    e.run();
    return true;
  }

  /** Processes every event up to and including `until`; the clock ends at `until`. */
  runUntil(until: number): void {
    while (this.runNext(until));
    this.now = Math.max(this.now, until);
  }
}
