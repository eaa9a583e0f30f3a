// One readable log line per route change: what changed, from what to what, and why.
//   route to carol: alice→carol (12.3 ms) ⇒ alice→bob→carol (4.1 ms), reason: dead
import type { NodeId } from '../identity/node-id.js';
import type { EventFields } from '../log.js';
import type { Path, RouteChange } from '../routing/path-selector.js';

const REASONS: Record<RouteChange['reason'], string> = {
  new: 'first path',
  dead: 'current path died',
  better: 'clearly better path held long enough',
  unreachable: 'no path left',
};

export function formatPath(path: Path | undefined, nameOf: (id: NodeId) => string): string {
  if (!path) return 'none';
  return `${path.nodes.map(nameOf).join('→')} (${formatCost(path.cost)})`;
}

function formatCost(cost: number): string {
  return Number.isFinite(cost) ? `${cost.toFixed(1)} ms` : 'dead';
}

export function describeRouteChange(change: RouteChange, nameOf: (id: NodeId) => string): string {
  return (
    `route to ${nameOf(change.dst)}: ${formatPath(change.from, nameOf)} ⇒ ${formatPath(change.to, nameOf)}, ` +
    `reason: ${REASONS[change.reason]}`
  );
}

/** The same change as structured fields (EventLog): names joined by '>', costs in ms. */
export function routeChangeFields(change: RouteChange, nameOf: (id: NodeId) => string): EventFields {
  const path = (p: Path | undefined) => (p ? p.nodes.map(nameOf).join('>') : 'none');
  const cost = (p: Path | undefined) => (p && Number.isFinite(p.cost) ? p.cost : undefined);
  return {
    from: path(change.from),
    to: path(change.to),
    from_cost_ms: cost(change.from),
    to_cost_ms: cost(change.to),
    reason: change.reason,
  };
}

/**
 * The last change in a few words for `paths`: "switched: 30% better", "switched: previous path
 * failed". Says what happened to the *previous* path, never labels the current one dead.
 */
export function describeSwitch(r: {
  reason: RouteChange['reason'];
  fromCost?: number;
  toCost?: number;
}): string {
  switch (r.reason) {
    case 'new':
      return 'first path';
    case 'unreachable':
      return 'no path left';
    case 'dead':
      return 'switched: previous path failed';
    case 'better': {
      const { fromCost: a, toCost: b } = r;
      if (a === undefined || b === undefined || !Number.isFinite(a) || !(a > 0)) return 'switched: better';
      return `switched: ${Math.round((1 - b / a) * 100)}% better`;
    }
  }
}
