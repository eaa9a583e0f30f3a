// The last gateway changes of the subnets, for `overlayd paths` and the metrics: when (wall clock),
// which subnet, from which gateway to which, and why. Bounded like the route history.
import type { GatewayChange } from '../forward/gateway-choice.js';
import type { NodeId } from '../identity/node-id.js';
import type { RouteChangeReason } from '../routing/path-selector.js';

export interface GatewayChangeRecord {
  /** Wall-clock ms. */
  at: number;
  subnet: string;
  from: NodeId | null;
  to: NodeId | null;
  reason: RouteChangeReason;
}

const MAX_RECORDS = 200;

export class GatewayHistory {
  private readonly records: GatewayChangeRecord[] = [];
  /** Changes per `${subnet}|${reason}`, for the change counter metric. */
  readonly counts = new Map<string, number>();

  add(change: GatewayChange, wallNow: number): void {
    this.records.push({
      at: wallNow,
      subnet: change.prefix,
      from: change.from ?? null,
      to: change.to ?? null,
      reason: change.reason,
    });
    if (this.records.length > MAX_RECORDS) this.records.shift();
    const key = `${change.prefix}|${change.reason}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  recent(limit = MAX_RECORDS): GatewayChangeRecord[] {
    return this.records.slice(-limit);
  }

  lastReason(subnet: string): RouteChangeReason | undefined {
    for (let i = this.records.length - 1; i >= 0; i--)
      if (this.records[i].subnet === subnet) return this.records[i].reason;
    return undefined;
  }
}
