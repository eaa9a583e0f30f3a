// The chosen path per destination, and how often it changed. `overlay_path_info` is info-style
// (value 1, the facts in labels) so a table or a state timeline can show the path itself; its
// `path` label takes one value per path in use, and paths are bounded by the member count and the
// hop limit, so the series count stays small.
import type { Registry } from 'prom-client';
import type { RouteChangeReason } from '../routing/path-selector.js';
import { collectedCounter, collectedGauge, keysOf, type Sample } from './collected.js';
import { otherMembers, type ScrapeContext } from './scrape-context.js';

/** Every reason the path selector gives; the compiler insists this lists them all. */
const REASONS = keysOf<RouteChangeReason>({ new: true, dead: true, better: true, unreachable: true });

type Info = 'destination' | 'next_hop' | 'path' | 'hops';

export function registerPathMetrics(registry: Registry, ctx: ScrapeContext): void {
  const { node } = ctx;
  const routes = () =>
    otherMembers(node).flatMap((m) => {
      const p = node.router.route(m.id);
      return p ? [{ destination: m.name, path: p }] : [];
    });

  collectedGauge<Info>({
    registry,
    name: 'overlay_path_info',
    help: 'The path in use to each reachable destination (value 1): next hop, the whole path (self first, ">"-separated) and hop count.',
    labelNames: ['destination', 'next_hop', 'path', 'hops'],
    read: () =>
      routes().map(({ destination, path }): Sample<Info> => {
        const names = path.nodes.map(node.nameOf);
        const hops = String(path.nodes.length - 1);
        return [{ destination, next_hop: names[1] ?? destination, path: names.join('>'), hops }, 1];
      }),
  });
  collectedGauge<'destination'>({
    registry,
    name: 'overlay_path_hops',
    help: 'Hops on the path in use to the destination (1 = direct).',
    labelNames: ['destination'],
    read: () => routes().map(({ destination, path }) => [{ destination }, path.nodes.length - 1]),
  });
  collectedGauge<'destination'>({
    registry,
    name: 'overlay_path_cost_seconds',
    help: 'Routing cost of the path in use (RTT-equivalent seconds, loss-penalised) at its last evaluation.',
    labelNames: ['destination'],
    read: () => routes().map(({ destination, path }) => [{ destination }, path.cost / 1000]),
  });
  collectedGauge<'destination'>({
    registry,
    name: 'overlay_path_age_seconds',
    help: 'How long the path in use to the destination has been selected.',
    labelNames: ['destination'],
    read: () =>
      routes().map(({ destination, path }) => [{ destination }, Math.max(0, ctx.now() - path.since) / 1000]),
  });
  collectedCounter<'destination'>({
    registry,
    name: 'overlay_path_failures_total',
    help: 'Paths to the destination found failing end to end (data-sized probes lost while the links answer theirs), each then avoided for a while.',
    labelNames: ['destination'],
    read: () =>
      otherMembers(node).map((m) => [{ destination: m.name }, node.counters.pathFailures.get(m.id) ?? 0]),
  });
  collectedCounter<'destination' | 'reason'>({
    registry,
    name: 'overlay_path_changes_total',
    help: 'Changes of the path to the destination, by reason (new, dead, better, unreachable).',
    labelNames: ['destination', 'reason'],
    read: () => {
      // Every (destination, reason) is exported from zero, so increase() sees the first change too.
      const out: Sample<'destination' | 'reason'>[] = [];
      for (const m of otherMembers(node)) {
        for (const reason of REASONS) {
          out.push([{ destination: m.name, reason }, node.routeHistory.counts.get(`${m.id}|${reason}`) ?? 0]);
        }
      }
      return out;
    },
  });
}
