// When to run Dijkstra, and turning its answer into selected paths through the path selector.
//
// Recomputation is driven by graph changes, never by the clock alone, and throttled by how bad the
// news is:
//   our own link died      → at once (that is the local half of failover);
//   a link vanished or got much dearer ('down')  → within spfMajorIntervalMs (50 ms), never later;
//   a link appeared or got much cheaper ('major') → OSPF-style throttle: 50 ms after a quiet spell,
//                            doubling up to spfMaxIntervalMs while such changes keep coming (a node
//                            booting or a partition healing delivers hundreds of adverts in a second,
//                            and each would otherwise cost every node a full computation);
//   a cost drifted ('minor') → at most every spfMinorIntervalMs; the hysteresis would ignore most
//                            such changes anyway.
// Between graph changes only the path selector's hold timers can change a decision; they are
// re-evaluated against the last tree. A change to someone else's link that cannot alter any path
// (see affects) is not a graph change for this purpose: in a large network most adverts are such.
//
// A destination whose path failed end to end (path-avoidance.ts) is decided on the graph without the
// failed path's relays or direct link while the avoidance runs; its end is a graph change like any.
import { NO_BEAT, type Beat } from '../clock.js';
import type { NodeId } from '../identity/node-id.js';
import { fromCostUnits } from './cost.js';
import { shortestPaths, type ShortestPathTree } from './dijkstra.js';
import { worse, type GraphChange, type LinkGraph } from './graph.js';
import { PathAvoidance, type Avoidance } from './path-avoidance.js';
import { PathSelector, type Candidate, type RouteChange } from './path-selector.js';
import type { RoutingParams } from './routing-params.js';

export class RouteComputer {
  readonly selector: PathSelector;
  readonly avoidance: PathAvoidance;
  private tree: ShortestPathTree | undefined;
  /** Destinations whose selected path is not the tree's (held by hysteresis): see affects. */
  private readonly offTree = new Set<NodeId>();
  private dirty: GraphChange = 'none';
  private urgent = false;
  private lastComputeAt = -Infinity;
  /** Current spacing after 'major' changes (backs off under churn). */
  private spfInterval: number;

  constructor(
    private readonly self: NodeId,
    private readonly params: RoutingParams,
    private readonly graph: LinkGraph,
    /** Real-time clock for measuring computation cost, and where to report it. */
    private readonly measure: { clock?: () => number; report(ms: number): void },
    /** Recomputing for drifted costs waits for the node's beat (clock.ts); topology changes never do. */
    private readonly beat: Beat = NO_BEAT,
  ) {
    this.selector = new PathSelector(params);
    this.avoidance = new PathAvoidance(self, params.maxHops);
    this.spfInterval = params.spfMajorIntervalMs;
  }

  mark(change: GraphChange): void {
    this.dirty = worse(this.dirty, change);
  }

  /**
   * Whether link a–b changing to `units` (undefined: gone) could change a path: it is on the last
   * shortest-path tree or on a selected path that differs from it (held by hysteresis), or, new or
   * cheaper, it would offer some node a path as good as its tree path. Anything else cannot: a
   * link Dijkstra did not choose getting dearer or vanishing changes no choice, and neither does
   * one too dear to win. Before the first computation everything matters.
   */
  readonly affects = (a: NodeId, b: NodeId, units: number | undefined): boolean => {
    if (!this.tree || this.tree.usesEdge(a, b)) return true;
    for (const dst of this.offTree) {
      const nodes = this.selector.get(dst)?.nodes;
      if (nodes && hasLink(nodes, a, b)) return true;
    }
    return units !== undefined && this.tree.shortens(a, b, units);
  };

  /** One of our own links died: recompute at the next tick whatever the throttle says. */
  markUrgent(): void {
    this.urgent = true;
  }

  /** The path to `dst` through `relays` (none: direct) failed end to end: avoid it until `until`. */
  avoid(dst: NodeId, relays: readonly NodeId[], until: number): void {
    this.avoidance.add(dst, relays, until);
    this.mark('down');
    this.markUrgent();
  }

  /** When run() next has work. */
  dueAt(): number {
    return Math.min(this.graphDueAt(), this.avoidance.nextExpiry());
  }

  private graphDueAt(): number {
    if (this.dirty === 'none') return this.selector.nextDeadline();
    if (this.urgent) return -Infinity;
    const p = this.params;
    if (this.dirty === 'down') return this.lastComputeAt + p.spfMajorIntervalMs;
    if (this.dirty === 'major') return this.lastComputeAt + this.spfInterval;
    return this.beat.at(this.lastComputeAt + p.spfMinorIntervalMs);
  }

  /** Recomputes if due, else lets expired hold timers decide; returns the route changes. */
  run(now: number, destinations: Iterable<NodeId>): RouteChange[] {
    // An avoidance ending may let a destination go back (through the hysteresis, as any better path).
    if (this.avoidance.expire(now)) this.mark('major');
    if (this.dirty !== 'none') return this.graphDueAt() <= now ? this.recompute(now, destinations) : [];
    if (this.selector.nextDeadline() > now) return [];
    const changes: RouteChange[] = [];
    for (const dst of [...this.selector.pendingDestinations()]) {
      const c = this.evaluate(dst, now);
      if (c) changes.push(c);
    }
    return changes;
  }

  private recompute(now: number, destinations: Iterable<NodeId>): RouteChange[] {
    const t0 = this.measure.clock?.() ?? 0;
    this.tree = shortestPaths(this.graph.snapshot(), this.self, this.params.maxHops);
    const changes: RouteChange[] = [];
    for (const dst of destinations) {
      if (dst === this.self) continue;
      const c = this.evaluate(dst, now);
      if (c) changes.push(c);
    }
    const p = this.params;
    if (this.dirty === 'major' && now - this.lastComputeAt < 2 * this.spfInterval) {
      this.spfInterval = Math.min(2 * this.spfInterval, p.spfMaxIntervalMs);
    } else if (now - this.lastComputeAt >= 2 * this.spfInterval) {
      this.spfInterval = p.spfMajorIntervalMs;
    }
    this.dirty = 'none';
    this.urgent = false;
    this.lastComputeAt = now;
    this.measure.report((this.measure.clock?.() ?? 0) - t0);
    return changes;
  }

  /** The selector's decision for `dst`, noting whether the path it keeps is the tree's. */
  private evaluate(dst: NodeId, now: number): RouteChange | undefined {
    const change = this.decide(dst, now);
    const kept = this.selector.get(dst);
    if (kept && !this.tree?.isTreePath(kept.nodes)) this.offTree.add(dst);
    else this.offTree.delete(dst);
    return change;
  }

  /** The selector's decision for `dst` given the last tree and the current graph. */
  private decide(dst: NodeId, now: number): RouteChange | undefined {
    const tree = this.tree;
    const units = tree?.costUnits(dst);
    const cur = this.selector.get(dst);
    const curCost = (): number => (cur ? fromCostUnits(this.graph.pathUnits(cur.nodes)) : Infinity);
    const avoid = this.avoidance.get(dst, now);
    const alternative = avoid && this.avoiding(dst, avoid);
    if (avoid && alternative) {
      const current = cur && this.avoidance.touches(avoid, cur.nodes) ? Infinity : curCost();
      return this.selector.evaluate(dst, alternative, current, now);
    }
    if (!tree || units === undefined) return this.selector.evaluate(dst, undefined, curCost(), now);
    const cost = fromCostUnits(units);
    if (cur && tree.isTreePath(cur.nodes))
      return this.selector.evaluate(dst, { nodes: cur.nodes, cost }, cost, now);
    return this.selector.evaluate(dst, { nodes: tree.pathTo(dst) as NodeId[], cost }, curCost(), now);
  }

  /** The cheapest path to `dst` without what `avoid` names (the current one if it is that), if any. */
  private avoiding(dst: NodeId, avoid: Avoidance): Candidate | undefined {
    const tree = this.avoidance.treeFor(avoid, this.graph.snapshot());
    const units = tree.costUnits(dst);
    if (units === undefined) return undefined;
    const cur = this.selector.get(dst);
    const nodes = cur && tree.isTreePath(cur.nodes) ? cur.nodes : (tree.pathTo(dst) as NodeId[]);
    return { nodes, cost: fromCostUnits(units) };
  }
}

function hasLink(nodes: readonly NodeId[], a: NodeId, b: NodeId): boolean {
  for (let k = 1; k < nodes.length; k++) {
    const u = nodes[k - 1];
    const v = nodes[k];
    if ((u === a && v === b) || (u === b && v === a)) return true;
  }
  return false;
}
