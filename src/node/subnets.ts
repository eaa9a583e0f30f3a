// The site LANs of a running node (peers.yaml `subnets`): which gateway carries each subnet
// (forward/gateway-choice.ts, driven by routing's changes and a short timer for hold times), and what
// the host needs for them (host/: routes into our TUN for other members' subnets, masquerade for ours).
//
//   start, reload ──► apply(config): subnets decided again; host routes and nft table brought in line
//   route change  ──► the subnets whose gateway path died move at once (failover)
//   every 100 ms  ──► redundant gateways re-weighed (hysteresis hold timers), only if there are any
//   every 10 s    ──► routes someone removed are put back (host/tun-routes.ts audit)
//   stop          ──► our routes and nft table removed
//
// Host changes run one at a time, in order, off the caller's stack: a reload answers at once and the
// routes follow within milliseconds; settled() waits for them (start, tests).
import type { Clock } from '../clock.js';
import { formatCidr } from '../config/cidr.js';
import type { OverlayConfig } from '../config/types.js';
import { GatewayChoice, type GatewayChange } from '../forward/gateway-choice.js';
import type { PeerTable } from '../forward/peer-table.js';
import type { SubnetRoute } from '../forward/subnet-table.js';
import { forwardingSysctl } from '../host/forwarding.js';
import type { HostNetwork } from '../host/host-network.js';
import type { RouteState } from '../host/tun-routes.js';
import type { NodeId } from '../identity/node-id.js';
import type { Logger } from '../log.js';
import type { RouteChangeReason } from '../routing/path-selector.js';
import type { Router } from '../routing/router.js';
import { GatewayHistory } from './gateway-history.js';

const TICK_MS = 100;
const AUDIT_MS = 10_000;

const REASONS: Record<RouteChangeReason, string> = {
  new: 'first gateway reached',
  dead: 'path to the gateway in use died',
  better: 'clearly better gateway held long enough',
  unreachable: 'no gateway reachable',
};

export interface SubnetServiceOptions {
  self: NodeId;
  peers: PeerTable;
  router: Pick<Router, 'route' | 'onRouteChange' | 'params'>;
  clock: Clock;
  /** Wall-clock ms, for the history people read. */
  wallClock: () => number;
  log: Logger;
  nameOf: (id: NodeId) => string;
  /** The host's routes and firewall; absent for in-process nodes (no kernel behind their TUN). */
  host?: HostNetwork;
}

/** One subnet as `status`, `paths` and the metrics show it. */
export interface SubnetView {
  subnet: string;
  /** Names of the members listing it, in peers.yaml order. */
  gateways: string[];
  /** This node is one of them: the subnet is its LAN, not routed through the overlay. */
  own: boolean;
  /** The gateway carrying it now, if routing reaches one (null for own subnets). */
  gateway: string | null;
  /** Routing's path to that gateway (names, this node first) and its cost. */
  path: string[] | null;
  costMs: number | null;
  /** How long that gateway has carried it. */
  sinceMs: number | null;
  lastChange?: RouteChangeReason;
  /** The other gateways, with routing's path and cost to each (null: unreachable). */
  alternatives: Array<{ gateway: string; path: string[] | null; costMs: number | null }>;
  /** Why this gateway (or none). */
  why: string;
  /** The kernel route into our TUN (others' subnets, daemons with a host network). */
  route?: RouteState;
  /** Own subnets: masquerade asked for in peers.yaml, and whether the nft table has it. */
  masquerade?: { wanted: boolean; active: boolean; error?: string };
}

export class SubnetService {
  readonly choice: GatewayChoice;
  readonly history = new GatewayHistory();
  private config: OverlayConfig | undefined;
  private hostWork: Promise<void> = Promise.resolve();
  private tickTimer: NodeJS.Timeout | undefined;
  private auditTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly o: SubnetServiceOptions) {
    this.choice = new GatewayChoice(o.router.params, (id) => o.router.route(id));
    o.router.onRouteChange((c) => this.record(this.choice.onRouteChange(c, o.clock.now())));
  }

  /** The configuration to serve (start, reload). PeerTable must already hold it. */
  apply(config: OverlayConfig): void {
    if (this.stopped) return;
    this.config = config;
    this.record(this.choice.setRoutes(this.o.peers.subnets.routes(), this.o.clock.now()));
    this.armTimers();
    if (!this.o.host) return;
    this.warnForwarding(config);
    this.queue(() => this.syncHost());
  }

  /** Resolves when the host changes asked for so far are done. */
  settled(): Promise<void> {
    return this.hostWork;
  }

  /** Stops the timers and removes our routes and nft table. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.tickTimer);
    clearInterval(this.auditTimer);
    const host = this.o.host;
    if (host) this.queue(() => host.close());
    await this.hostWork;
  }

  /** The kernel route of a subnet routed through the overlay; undefined without a host network. */
  routeState(prefix: string): RouteState | undefined {
    return this.o.host?.routes.state(prefix);
  }

  /** Every subnet in peers.yaml, as this node sees it. */
  view(now: number): SubnetView[] {
    return this.o.peers.subnets.routes().map((r) => this.viewOf(r, now));
  }

  private viewOf(r: SubnetRoute, now: number): SubnetView {
    const { nameOf, router } = this.o;
    const pathOf = (id: NodeId) => {
      const p = router.route(id);
      return { path: p ? p.nodes.map(nameOf) : null, costMs: p ? round(p.cost) : null };
    };
    const base = { subnet: r.prefix, gateways: r.gateways.map((g) => g.name), own: r.own };
    if (r.own) {
      const wanted = this.ownSubnet(r.prefix)?.masquerade ?? false;
      const m = this.o.host?.masquerade.state;
      return {
        ...base,
        gateway: null,
        path: null,
        costMs: null,
        sinceMs: null,
        alternatives: [],
        why: "this node's LAN: delivered to its TUN, not routed through the overlay",
        masquerade: { wanted, active: m?.prefixes.includes(r.prefix) ?? false, error: m?.error },
      };
    }
    const selected = this.choice.selected(r.prefix);
    const chosen = selected?.nodes[0];
    const alternatives = r.gateways
      .filter((g) => g.id !== chosen)
      .map((g) => ({ gateway: g.name, ...pathOf(g.id) }));
    const carrying = chosen === undefined ? { path: null, costMs: null } : pathOf(chosen);
    return {
      ...base,
      gateway: chosen === undefined ? null : nameOf(chosen),
      ...carrying,
      sinceMs: selected ? Math.round(now - selected.since) : null,
      lastChange: this.history.lastReason(r.prefix),
      alternatives,
      why: this.why(r, carrying.costMs, alternatives),
      route: this.routeState(r.prefix),
    };
  }

  private why(r: SubnetRoute, cost: number | null, alternatives: SubnetView['alternatives']): string {
    if (cost === null) return 'no gateway reachable';
    if (r.gateways.length === 1) return 'only gateway';
    const cheaper = alternatives.filter((a) => a.costMs !== null && a.costMs < cost);
    if (cheaper.length === 0) return 'lowest cost';
    const p = this.o.router.params;
    const needed = round(cost * (1 - p.switchRatio) - p.switchMarginMs);
    return `kept (hysteresis): ${cheaper[0].gateway} must cost < ${needed} ms for ${p.holdMs / 1000} s to take over`;
  }

  private ownSubnet(prefix: string) {
    const self = this.config?.peers.find((p) => p.id === this.o.self);
    return self?.subnets.find((s) => formatCidr(s.prefix) === prefix);
  }

  private record(changes: GatewayChange[]): void {
    const { nameOf, log } = this.o;
    const name = (id: NodeId | undefined): string => (id === undefined ? 'none' : nameOf(id));
    for (const c of changes) {
      this.history.add(c, this.o.wallClock());
      log.info(`subnet ${c.prefix}: gateway ${name(c.from)} ⇒ ${name(c.to)}, reason: ${REASONS[c.reason]}`);
    }
  }

  private armTimers(): void {
    clearInterval(this.tickTimer);
    this.tickTimer = undefined;
    if (this.choice.hasChoices) {
      this.tickTimer = setInterval(() => this.record(this.choice.tick(this.o.clock.now())), TICK_MS);
      this.tickTimer.unref();
    }
    const host = this.o.host;
    if (host && this.auditTimer === undefined) {
      this.auditTimer = setInterval(() => this.queue(() => host.routes.audit()), AUDIT_MS);
      this.auditTimer.unref();
    }
  }

  private async syncHost(): Promise<void> {
    const host = this.o.host;
    if (!host || this.stopped) return;
    const routes = this.o.peers.subnets.routes();
    await host.routes.sync(routes.filter((r) => !r.own).map((r) => r.cidr));
    const self = this.config?.peers.find((p) => p.id === this.o.self);
    await host.masquerade.sync((self?.subnets ?? []).filter((s) => s.masquerade).map((s) => s.prefix));
  }

  /** A gateway whose kernel does not forward drops what the overlay sends into its LAN: say so. */
  private warnForwarding(config: OverlayConfig): void {
    const self = config.peers.find((p) => p.id === this.o.self);
    const fwd = this.o.host?.forwarding();
    for (const family of [4, 6] as const) {
      const subnets = (self?.subnets ?? [])
        .filter((s) => s.prefix.family === family)
        .map((s) => formatCidr(s.prefix));
      const on = family === 4 ? fwd?.ipv4 : fwd?.ipv6;
      if (subnets.length === 0 || on !== false) continue;
      this.o.log.warn(
        `this node is the gateway for ${subnets.join(', ')} but the kernel does not forward IPv${family}: ` +
          `packets from the overlay to it are dropped until \`sysctl -w ${forwardingSysctl(family)}\``,
      );
    }
  }

  private queue(work: () => Promise<void>): void {
    this.hostWork = this.hostWork.then(work).catch((err: unknown) => {
      this.o.log.error(`subnet routes: ${err instanceof Error ? err.message : String(err)}`);
    });
  }
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
