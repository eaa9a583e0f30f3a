// The data plane's two fast lanes, outbound (fast-lane.ts) and inbound (rx-lane.ts), behind one object
// that every event of the data plane reaches: outbound.ts and inbound.ts install them (each owns what
// its lane decides from), and call sync() at the end of each batch; DataPlane calls it after timer
// work and reloads. A lane whose device fails under it (closed, or a bug) is turned off here, once,
// and the JS path carries everything from then on.
import type { NodeId } from '../identity/node-id.js';
import type { Logger } from '../log.js';
import type { FastLane } from './fast-lane.js';
import type { RxLane } from './rx-lane.js';

interface Lane {
  sync(now: number): void;
  forget(peer: NodeId): void;
  clearAll(): void;
}

export class FastLanes {
  /** Absent when the TUN has no fast lane (--no-fast-lane, the memory TUN). */
  tx: FastLane | undefined;
  /** Absent too when the transport has no sockets to take it (dgram, memory). */
  rx: RxLane | undefined;

  constructor(private readonly log: Logger) {}

  sync(now: number): void {
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
