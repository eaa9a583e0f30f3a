// The paths an operator could have had, and why the router chose the one it did (`overlayd paths`).
// Pure: works on the same graph the router runs Dijkstra on, on demand (never per packet).
//
// Alternatives are "the best path through each first hop": for every direct neighbour n, the
// cheapest path self → n → … → dst that does not come back through self. That is what a failover
// would fall back to (a dead first hop takes all its paths with it), and with a handful of
// neighbours it is a handful of Dijkstra runs.
import type { NodeId } from '../identity/node-id.js';
import { fromCostUnits } from './cost.js';
import { shortestPaths, type AdjacencyGraph } from './dijkstra.js';
import type { RoutingParams } from './routing-params.js';

export interface Alternative {
  /** self … dst. */
  nodes: NodeId[];
  /** ms-equivalent cost on the graph now. */
  cost: number;
}

/** The best path to `dst` through each neighbour of `self`, cheapest first, at most `limit`. */
export function pathAlternatives(
  graph: AdjacencyGraph,
  self: NodeId,
  dst: NodeId,
  maxHops: number,
  limit = 4,
  /** Whether neighbour `n` relays for us (graph.ts: its advert lists us); else paths may only end there. */
  relaysForUs: (n: NodeId) => boolean = () => true,
): Alternative[] {
  const first = graph.adjacency(self);
  if (!first || dst === self) return [];
  // The graph without self: an alternative through n must not loop back through us.
  const withoutSelf: AdjacencyGraph = {
    adjacency: (u) => {
      if (u === self) return undefined;
      const adj = graph.adjacency(u);
      if (!adj?.has(self)) return adj;
      const copy = new Map(adj);
      copy.delete(self);
      return copy;
    },
  };
  const out: Alternative[] = [];
  for (const [n, units] of first) {
    if (!(units > 0) || units === Infinity) continue;
    if (n === dst) {
      out.push({ nodes: [self, dst], cost: fromCostUnits(units) });
      continue;
    }
    if (!relaysForUs(n)) continue;
    const tree = shortestPaths(withoutSelf, n, maxHops - 1);
    const rest = tree.pathTo(dst);
    const restUnits = tree.costUnits(dst);
    if (!rest || restUnits === undefined) continue;
    out.push({ nodes: [self, ...rest], cost: fromCostUnits(units + restUnits) });
  }
  out.sort((a, b) => a.cost - b.cost || a.nodes.length - b.nodes.length);
  return out.slice(0, limit);
}

type ExplainParams = Pick<RoutingParams, 'switchRatio' | 'switchMarginMs'>;

/**
 * Why `current` carries the traffic, given the alternatives: the best one, kept within hysteresis
 * of a cheaper one, or about to be left. Never calls a path that works "dead"; a current path the
 * graph no longer supports says it is being replaced.
 */
export function explainChoice(
  current: Alternative | undefined,
  alternatives: readonly Alternative[],
  params: ExplainParams,
  nameOf: (id: NodeId) => string = String,
): string {
  if (!current) return alternatives.length ? 'no path selected yet' : 'no path: no neighbour reaches it';
  const others = alternatives.filter((a) => !samePath(a.nodes, current.nodes));
  const via = (a: Alternative) => (a.nodes.length > 2 ? `via ${nameOf(a.nodes[1])}` : 'direct');
  if (!Number.isFinite(current.cost)) {
    return others.length
      ? `switching: current path lost a link, ${via(others[0])} next`
      : 'current path lost a link';
  }
  const best = others[0];
  if (!best) return 'only path';
  if (best.cost >= current.cost) {
    return `best: next ${via(best)} costs ${pctMore(best.cost, current.cost)}% more`;
  }
  const threshold = current.cost * (1 - params.switchRatio) - params.switchMarginMs;
  const better = Math.round((1 - best.cost / current.cost) * 100);
  if (best.cost >= threshold) {
    return `kept: within hysteresis of ${via(best)} (${better}% cheaper, under the ${Math.round(params.switchRatio * 100)}% bar)`;
  }
  return `kept for now: ${via(best)} is ${better}% cheaper, switching once that holds`;
}

function pctMore(a: number, b: number): number {
  return b > 0 ? Math.round((a / b - 1) * 100) : 0;
}

function samePath(a: readonly NodeId[], b: readonly NodeId[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
