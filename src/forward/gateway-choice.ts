// Which gateway carries each subnet (peers.yaml `subnets`), and when to move it. A subnet that several
// members list has redundant gateways; the one carrying it is the one routing reaches at the lowest cost
// (the cost of routing's selected path to it), chosen with the same hysteresis as any path: the path
// selector of routing/ is used as is, with the one-element "path" [gateway]. So:
//
//   new          the first gateway routing reaches takes the subnet;
//   dead         the path to the gateway in use died (routing says 'dead' or 'unreachable', which the
//                probes decide within a fraction of a second) or it no longer lists the subnet: the best
//                other gateway takes over at once — the same sub-second failover as any path;
//   better       another gateway has been clearly cheaper (by 10 % and 1 ms) for the hold time (3 s; 0.5 s
//                when less than half the cost): traffic goes back, and two equally good gateways never
//                trade it back and forth, because equal is never clearly better;
//   unreachable  routing reaches no gateway; packets still go to the first listed (a handshake may find a
//                way), and the first gateway routing reaches again takes over at once.
//
// Pure: routing's view comes in through `pathTo`, time as `now`. The packet path reads the decision as
// SubnetRoute.gateway (subnet-table.ts), which this class keeps current.
import type { NodeId } from '../identity/node-id.js';
import {
  PathSelector,
  type Path,
  type RouteChange,
  type RouteChangeReason,
} from '../routing/path-selector.js';
import type { RoutingParams } from '../routing/routing-params.js';
import type { SubnetRoute } from './subnet-table.js';

/** What the choice needs of routing's selected path to a gateway. */
export interface GatewayPath {
  readonly nodes: readonly NodeId[];
  /** ms-equivalent cost, as routing compares paths. */
  readonly cost: number;
}

export interface GatewayChange {
  prefix: string;
  from: NodeId | undefined;
  to: NodeId | undefined;
  reason: RouteChangeReason;
  /** Monotonic ms. */
  at: number;
}

export type GatewayChoiceParams = Pick<
  RoutingParams,
  'switchRatio' | 'switchMarginMs' | 'holdMs' | 'fastMarginMs' | 'fastHoldMs'
>;

export class GatewayChoice {
  private readonly selector: PathSelector;
  /** Selector key per prefix, stable across reloads so that a reload keeps every choice. */
  private readonly keys = new Map<string, number>();
  private nextKey = 1;
  /** Subnets with two or more gateways to choose from: the ones a hold timer can move. */
  private redundant: SubnetRoute[] = [];
  /** Gateway → the subnets it may carry, for route changes. */
  private readonly byGateway = new Map<NodeId, SubnetRoute[]>();

  constructor(
    params: GatewayChoiceParams,
    private readonly pathTo: (gateway: NodeId) => GatewayPath | undefined,
  ) {
    this.selector = new PathSelector(params);
  }

  /** The subnets changed (start, reload): decides every one of them again. */
  setRoutes(routes: readonly SubnetRoute[], now: number): GatewayChange[] {
    const live = new Set(routes.map((r) => r.prefix));
    for (const [prefix, key] of this.keys) {
      if (live.has(prefix)) continue;
      this.selector.remove(key, now);
      this.keys.delete(prefix);
    }
    this.byGateway.clear();
    const others = routes.filter((r) => !r.own);
    for (const r of others) {
      for (const g of r.gateways) {
        let list = this.byGateway.get(g.id);
        if (!list) this.byGateway.set(g.id, (list = []));
        list.push(r);
      }
    }
    this.redundant = others.filter((r) => r.gateways.length > 1);
    return this.decideAll(others, now, undefined);
  }

  /**
   * Routing changed its path to a member. When that path died, the subnets it carried move now rather
   * than at the next tick: this is the failover.
   */
  onRouteChange(change: RouteChange, now: number): GatewayChange[] {
    const routes = this.byGateway.get(change.dst);
    if (!routes) return [];
    const died = change.reason === 'dead' || change.reason === 'unreachable' ? change.dst : undefined;
    return this.decideAll(routes, now, died);
  }

  /** Re-decides the subnets with redundant gateways: costs drift and hold timers expire. Cheap. */
  tick(now: number): GatewayChange[] {
    return this.redundant.length === 0 ? [] : this.decideAll(this.redundant, now, undefined);
  }

  /** Whether tick() can change anything (some subnet has a choice to make). */
  get hasChoices(): boolean {
    return this.redundant.length > 0;
  }

  /** The selected gateway of `prefix` (as a one-node path: cost and since), if routing reaches one. */
  selected(prefix: string): Path | undefined {
    const key = this.keys.get(prefix);
    return key === undefined ? undefined : this.selector.get(key);
  }

  private decideAll(routes: readonly SubnetRoute[], now: number, died: NodeId | undefined): GatewayChange[] {
    const changes: GatewayChange[] = [];
    for (const r of routes) {
      const c = this.decide(r, now, died);
      if (c) changes.push(c);
    }
    return changes;
  }

  private decide(route: SubnetRoute, now: number, died: NodeId | undefined): GatewayChange | undefined {
    if (route.own) return undefined;
    const key = this.keyOf(route.prefix);
    const current = this.selector.get(key)?.nodes[0];
    let best: { id: NodeId; cost: number } | undefined;
    let currentCost = Infinity;
    for (const g of route.gateways) {
      const path = this.pathTo(g.id);
      if (!path) continue;
      if (g.id === current && g.id !== died) currentCost = path.cost;
      // Ties go to the gateway in use, then to the first listed: a stable choice.
      if (!best || path.cost < best.cost || (path.cost === best.cost && g.id === current)) {
        best = { id: g.id, cost: path.cost };
      }
    }
    const change = this.selector.evaluate(
      key,
      best && { nodes: [best.id], cost: best.cost },
      currentCost,
      now,
    );
    const chosen = this.selector.get(key)?.nodes[0];
    route.gateway = route.gateways.find((g) => g.id === chosen) ?? route.gateways[0];
    if (!change) return undefined;
    const from = change.from?.nodes[0];
    const to = change.to?.nodes[0];
    // The path to the same gateway died and another path to it is still the best: not a gateway change.
    if (from === to) return undefined;
    return { prefix: route.prefix, from, to, reason: change.reason, at: now };
  }

  private keyOf(prefix: string): number {
    let key = this.keys.get(prefix);
    if (key === undefined) this.keys.set(prefix, (key = this.nextKey++));
    return key;
  }
}
