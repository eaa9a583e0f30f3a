// The Data packets for us in one received batch, grouped by the keypair that opens them (in practice one
// or two runs per batch: a bulk flow from one member), so each group is opened in one native call.
// Finding the keypair is the session layer's index lookup, skipped while the receiver index repeats;
// a packet whose index is unknown, or belongs to another member than its header's src, is dropped here.
import type { NodeId } from '../identity/node-id.js';
import type { DataPlaneCounters } from './counters.js';
import type { OpeningKeypair, SessionPort } from './ports.js';

export interface OpenRun {
  readonly peer: NodeId;
  readonly keypair: OpeningKeypair;
  /** Datagram indexes of the batch, in arrival order: list[0, n). */
  readonly list: Uint32Array;
  readonly n: number;
}

interface Run extends OpenRun {
  peer: NodeId;
  keypair: OpeningKeypair;
  list: Uint32Array;
  n: number;
}

export class OpenRuns {
  private readonly runs: Run[] = [];
  private used = 0;
  private capacity = 64;
  private lastIndex = -1;
  private lastRun: Run | undefined;

  constructor(
    private readonly sessions: SessionPort,
    private readonly counters: DataPlaneCounters,
  ) {}

  /** Starts a batch of up to `count` datagrams. */
  reset(count: number): void {
    this.used = 0;
    this.lastIndex = -1;
    this.lastRun = undefined;
    if (count > this.capacity) {
      this.capacity = count;
      for (const r of this.runs) r.list = new Uint32Array(count);
    }
  }

  /** Datagram `i` of the batch names receiver index `index` and source `src`. */
  add(i: number, index: number, src: NodeId): void {
    let run = index === this.lastIndex ? this.lastRun : undefined;
    if (run === undefined) {
      const found = this.sessions.receiveKeypair(index);
      if (found === undefined) return this.counters.drop('unknown-index');
      if (found.peer !== src) return this.counters.drop('wrong-source');
      run = this.runFor(found.peer, found.keypair);
      this.lastIndex = index;
      this.lastRun = run;
    } else if (run.peer !== src) {
      return this.counters.drop('wrong-source');
    }
    run.list[run.n++] = i;
  }

  /** The runs of this batch, in the order their first packet arrived. */
  *each(): IterableIterator<OpenRun> {
    for (let k = 0; k < this.used; k++) yield this.runs[k]!;
  }

  private runFor(peer: NodeId, keypair: OpeningKeypair): Run {
    for (let k = 0; k < this.used; k++) {
      const r = this.runs[k]!;
      if (r.keypair === keypair) return r;
    }
    let r = this.runs[this.used];
    if (r === undefined) {
      r = { peer, keypair, list: new Uint32Array(this.capacity), n: 0 };
      this.runs.push(r);
    }
    r.peer = peer;
    r.keypair = keypair;
    r.n = 0;
    this.used++;
    return r;
  }
}
