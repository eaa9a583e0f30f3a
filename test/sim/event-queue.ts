// The simulator's agenda: callbacks ordered by virtual time, FIFO among equal times (so runs are
// deterministic whatever the heap does with ties).
import { BinaryHeap } from '../../src/probe/min-heap.js';

interface SimEvent {
  at: number;
  seq: number;
  run: () => void;
}

export class EventQueue {
  private readonly heap = new BinaryHeap<SimEvent>((a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq));
  private seq = 0;
  now = 0;
  processed = 0;

  get size(): number {
    return this.heap.size;
  }

  /** Runs `run` at virtual time `at` (never earlier than now). */
  at(at: number, run: () => void): void {
    this.heap.push({ at: Math.max(at, this.now), seq: this.seq++, run });
  }

  after(delayMs: number, run: () => void): void {
    this.at(this.now + delayMs, run);
  }

  /** Processes every event up to and including `until`; the clock ends at `until`. */
  runUntil(until: number): void {
    for (let e = this.heap.peek(); e !== undefined && e.at <= until; e = this.heap.peek()) {
      this.heap.pop();
      this.now = e.at;
      this.processed++;
      e.run();
    }
    this.now = Math.max(this.now, until);
  }
}
