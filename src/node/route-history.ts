// The last route changes, kept for `overlayd status --watch`, `overlayd paths` and the demo: what
// changed, when (wall clock, for people), from which path to which, and why.
import type { NodeId } from '../identity/node-id.js';
import type { RouteChange } from '../routing/path-selector.js';

export interface RouteChangeRecord {
  /** Wall-clock ms. */
  at: number;
  dst: NodeId;
  from: NodeId[] | null;
  to: NodeId[] | null;
  reason: RouteChange['reason'];
  /** Costs of the paths before and after (ms), where they had one. */
  fromCost?: number;
  toCost?: number;
}

const MAX_RECORDS = 200;

export class RouteHistory {
  private readonly records: RouteChangeRecord[] = [];
  private readonly listeners = new Set<(r: RouteChangeRecord) => void>();
  /** Changes per (destination, reason), for the path-change counter metric. */
  readonly counts = new Map<string, number>();

  add(change: RouteChange, wallNow: number): RouteChangeRecord {
    const r: RouteChangeRecord = {
      at: wallNow,
      dst: change.dst,
      from: change.from ? [...change.from.nodes] : null,
      to: change.to ? [...change.to.nodes] : null,
      reason: change.reason,
      fromCost: change.from?.cost,
      toCost: change.to?.cost,
    };
    this.records.push(r);
    if (this.records.length > MAX_RECORDS) this.records.shift();
    const key = `${change.dst}|${change.reason}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    for (const l of this.listeners) l(r);
    return r;
  }

  recent(limit = MAX_RECORDS): RouteChangeRecord[] {
    return this.records.slice(-limit);
  }

  /** The last change towards `dst`, if any. */
  last(dst: NodeId): RouteChangeRecord | undefined {
    for (let i = this.records.length - 1; i >= 0; i--)
      if (this.records[i].dst === dst) return this.records[i];
    return undefined;
  }

  /** The reason of the last change towards `dst`, if any. */
  lastReason(dst: NodeId): RouteChange['reason'] | undefined {
    for (let i = this.records.length - 1; i >= 0; i--)
      if (this.records[i].dst === dst) return this.records[i].reason;
    return undefined;
  }

  subscribe(listener: (r: RouteChangeRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
