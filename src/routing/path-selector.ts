// Route selection with hysteresis: which of the paths Dijkstra offers each destination actually gets
// the traffic, and when to move it.
//
// Dijkstra always names the cheapest path of the moment. Following it blindly makes traffic flap
// between two paths whose costs cross and re-cross with measurement noise (nebula #893), and every
// flap reorders packets and resets TCP's view of the path. So we keep the current path while it
// works and move only for a reason:
//
//   dead         the current path uses a link that is gone or dead: move at once, nothing to weigh.
//   better       another path is cheaper by a clear margin (best < current·0.9 - 1 ms), and has been
//                continuously for holdMs (3 s). The timer restarts whenever the condition lapses,
//                so a link oscillating around the alternative never accumulates the hold time.
//   better/fast  the alternative is less than half the cost (best < current/2 - 5 ms), typically
//                because the current path turned lossy: waiting 3 s would hurt, 0.5 s is enough to
//                know it is not a blip.
//   new          first path to a destination.
//   unreachable  no path at all.
//
// Costs are re-evaluated whenever the graph changes, so "continuously" is exact: between two
// evaluations the graph, and hence the condition, did not change. The router calls us again at
// `nextDeadline()` so a hold can expire without a graph change.
import type { NodeId } from '../identity/node-id.js';
import type { RoutingParams } from './routing-params.js';

export interface Path {
  /** self … dst. */
  nodes: NodeId[];
  /** Cost (ms-equivalent) on the graph at the last evaluation. */
  cost: number;
  /** Monotonic ms when this path was selected. */
  since: number;
}

export type RouteChangeReason = 'new' | 'dead' | 'better' | 'unreachable';

export interface RouteChange {
  dst: NodeId;
  from?: Path;
  to?: Path;
  reason: RouteChangeReason;
  at: number;
}

export interface Candidate {
  nodes: NodeId[];
  cost: number;
}

type SelectorParams = Pick<
  RoutingParams,
  'switchRatio' | 'switchMarginMs' | 'holdMs' | 'fastMarginMs' | 'fastHoldMs'
>;

interface Pending {
  since: number;
  fastSince: number | undefined;
}

export class PathSelector {
  private readonly routes = new Map<NodeId, Path>();
  private readonly pending = new Map<NodeId, Pending>();
  /** nextDeadline() cache; undefined when `pending` changed since. */
  private deadline: number | undefined;

  constructor(private readonly params: SelectorParams) {}

  get(dst: NodeId): Path | undefined {
    return this.routes.get(dst);
  }

  all(): ReadonlyMap<NodeId, Path> {
    return this.routes;
  }

  /** Destinations with a running hold timer. */
  pendingDestinations(): IterableIterator<NodeId> {
    return this.pending.keys();
  }

  /** Earliest time a running hold timer can expire, or Infinity. */
  nextDeadline(): number {
    if (this.deadline !== undefined) return this.deadline;
    let t = Infinity;
    for (const p of this.pending.values()) {
      t = Math.min(t, p.since + this.params.holdMs);
      if (p.fastSince !== undefined) t = Math.min(t, p.fastSince + this.params.fastHoldMs);
    }
    return (this.deadline = t);
  }

  /**
   * `best` is the cheapest path now (undefined: none). `currentCost` is the current path's cost on
   * the same graph, Infinity when it crosses a missing or dead link (ignored if there is no current).
   */
  evaluate(
    dst: NodeId,
    best: Candidate | undefined,
    currentCost: number,
    now: number,
  ): RouteChange | undefined {
    const cur = this.routes.get(dst);
    if (!cur) return best ? this.install(dst, undefined, best, 'new', now) : undefined;
    if (currentCost === Infinity) {
      if (best) return this.install(dst, cur, best, 'dead', now);
      return this.remove(dst, now);
    }
    const p = this.params;
    if (
      best &&
      !sameNodes(best.nodes, cur.nodes) &&
      best.cost < currentCost * (1 - p.switchRatio) - p.switchMarginMs
    ) {
      const pend = this.pending.get(dst) ?? { since: now, fastSince: undefined };
      if (best.cost < currentCost / 2 - p.fastMarginMs) pend.fastSince ??= now;
      else pend.fastSince = undefined;
      // Written as `now >= start + hold`, the same expression nextDeadline() uses, so floating-point
      // rounding cannot leave a deadline that has passed but never fires.
      const fastDue = pend.fastSince !== undefined && now >= pend.fastSince + p.fastHoldMs;
      if (fastDue || now >= pend.since + p.holdMs) return this.install(dst, cur, best, 'better', now);
      this.pending.set(dst, pend);
      this.deadline = undefined;
    } else if (this.pending.delete(dst)) {
      this.deadline = undefined;
    }
    if (cur.cost !== currentCost) this.routes.set(dst, { ...cur, cost: currentCost });
    return undefined;
  }

  /** Drops the route to `dst` (it left the member list, or nothing reaches it). */
  remove(dst: NodeId, now: number): RouteChange | undefined {
    if (this.pending.delete(dst)) this.deadline = undefined;
    const cur = this.routes.get(dst);
    if (!cur) return undefined;
    this.routes.delete(dst);
    return { dst, from: cur, reason: 'unreachable', at: now };
  }

  private install(
    dst: NodeId,
    from: Path | undefined,
    best: Candidate,
    reason: RouteChangeReason,
    now: number,
  ): RouteChange {
    if (this.pending.delete(dst)) this.deadline = undefined;
    const to: Path = { nodes: best.nodes, cost: best.cost, since: now };
    this.routes.set(dst, to);
    return from ? { dst, from, to, reason, at: now } : { dst, to, reason, at: now };
  }
}

function sameNodes(a: readonly NodeId[], b: readonly NodeId[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
