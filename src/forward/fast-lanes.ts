// The data plane's two fast lanes, outbound (fast-lane.ts) and inbound (rx-lane.ts), behind one object
// that every event of the data plane reaches: outbound.ts and inbound.ts install them (each owns what
// its lane decides from) and call afterBatch() at the end of each batch; DataPlane calls sync() after
// every timer wake-up and reload. A lane whose device fails under it (closed, or a bug) is turned off
// here, once, and the JS path carries everything from then on.
//
// Why batches sync at most every BATCH_SYNC_MS: under a bulk flow JavaScript handles thousands of
// batches a second, and a sync is a few native calls and lookups. What a batch can change for the
// lanes tolerates that wait: a route or endpoint it teaches replaces one that still works (a path is
// called dead only on a timer, which syncs at once), a new session leaves the old keypair valid, a
// destroyed one is refused natively, and a new session's first packets take the JS path anyway.
import type { NodeId } from '../identity/node-id.js';
import type { Logger } from '../log.js';
import type { FastLane } from './fast-lane.js';
import type { RxLane } from './rx-lane.js';

interface Lane {
  sync(now: number): void;
  forget(peer: NodeId): void;
  clearAll(): void;
}

/** Least time between two syncs after batches (timer wake-ups and reloads always sync). */
export const BATCH_SYNC_MS = 10;

export class FastLanes {
  /** Absent when the TUN has no fast lane (--no-fast-lane, the memory TUN). */
  tx: FastLane | undefined;
  /** Absent too when the transport has no sockets to take it (dgram, memory). */
  rx: RxLane | undefined;

  private lastSync = -Infinity;

  constructor(private readonly log: Logger) {}

  /**
   * After a batch JavaScript handled: sync, unless one ran less than BATCH_SYNC_MS ago and no lane has a
   * new destination or session waiting (those go in at once: the next packet may take the lane).
   */
  afterBatch(now: number): void {
    if (now - this.lastSync >= BATCH_SYNC_MS || this.tx?.waiting || this.rx?.waiting) this.sync(now);
  }

  sync(now: number): void {
    this.lastSync = now;
    if (this.tx && !this.run(this.tx, now, 'outbound')) this.tx = undefined;
    if (this.rx && !this.run(this.rx, now, 'inbound')) this.rx = undefined;
  }

  forget(peer: NodeId): void {
    this.tx?.forget(peer);
    this.rx?.forget(peer);
  }

  /** False if the lane failed and is off now. */
  private run(lane: Lane, now: number, which: string): boolean {
    try {
      lane.sync(now);
      return true;
    } catch (err) {
      this.log.warn(`${which} fast lane off: ${(err as Error).message}`);
      try {
        lane.clearAll();
      } catch {
        // the device is gone, and its entries with it
      }
      return false;
    }
  }
}
