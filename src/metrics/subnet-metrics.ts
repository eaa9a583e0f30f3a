// Site LANs behind members (peers.yaml `subnets`) as this node routes them: which gateway carries each,
// how many of its gateways routing reaches (redundancy left), how often the gateway changed and why,
// and whether the kernel route into our TUN is in place. Labels are subnets from peers.yaml and member
// names: bounded sets.
import type { Registry } from 'prom-client';
import type { RouteChangeReason } from '../routing/path-selector.js';
import { collectedCounter, collectedGauge, keysOf, type Sample } from './collected.js';
import type { ScrapeContext } from './scrape-context.js';

const REASONS = keysOf<RouteChangeReason>({ new: true, dead: true, better: true, unreachable: true });

export function registerSubnetMetrics(registry: Registry, ctx: ScrapeContext): void {
  const { node } = ctx;
  /** Subnets routed through the overlay (not this node's own LANs). */
  const routed = () => node.peers.subnets.routes().filter((r) => !r.own);

  collectedGauge<'subnet' | 'gateway'>({
    registry,
    name: 'overlay_subnet_gateway_info',
    help: 'The member whose LAN gateway carries traffic to each subnet (value 1), while routing reaches one.',
    labelNames: ['subnet', 'gateway'],
    read: () =>
      routed().flatMap((r): Sample<'subnet' | 'gateway'>[] => {
        const id = node.subnets.choice.selected(r.prefix)?.nodes[0];
        return id === undefined ? [] : [[{ subnet: r.prefix, gateway: node.nameOf(id) }, 1]];
      }),
  });
  collectedGauge<'subnet'>({
    registry,
    name: 'overlay_subnet_gateways_reachable',
    help: 'Gateways of the subnet that routing reaches (1 = no redundancy left, 0 = unreachable).',
    labelNames: ['subnet'],
    read: () =>
      routed().map((r) => [
        { subnet: r.prefix },
        r.gateways.filter((g) => node.router.route(g.id) !== undefined).length,
      ]),
  });
  collectedCounter<'subnet' | 'reason'>({
    registry,
    name: 'overlay_subnet_gateway_changes_total',
    help: 'Changes of the gateway carrying the subnet, by reason (new, dead, better, unreachable).',
    labelNames: ['subnet', 'reason'],
    read: () =>
      routed().flatMap((r) =>
        REASONS.map((reason): Sample<'subnet' | 'reason'> => [
          { subnet: r.prefix, reason },
          node.subnets.history.counts.get(`${r.prefix}|${reason}`) ?? 0,
        ]),
      ),
  });
  collectedGauge<'subnet'>({
    registry,
    name: 'overlay_subnet_route_installed',
    help: 'Whether the kernel route sending the subnet into the overlay interface is in place (1) or not (0: conflict with an existing route, or failed; see overlayd status).',
    labelNames: ['subnet'],
    read: () =>
      routed().flatMap((r): Sample<'subnet'>[] => {
        const state = node.subnets.routeState(r.prefix);
        return state === undefined ? [] : [[{ subnet: r.prefix }, state.state === 'installed' ? 1 : 0]];
      }),
  });
}
