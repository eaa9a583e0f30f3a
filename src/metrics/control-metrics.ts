// Control-plane overhead and the routing core's work: probe and routing bytes on the wire, adverts,
// route computations, and the link-state database as this node sees it.
import type { Registry } from 'prom-client';
import { TRAFFIC_TYPES } from '../node/control-traffic.js';
import { ROUTER_REJECT_REASONS, type RouterStats } from '../routing/router-stats.js';
import { collectedCounter, collectedGauge, type Sample } from './collected.js';
import type { ScrapeContext } from './scrape-context.js';
import { withZeros } from './traffic-metrics.js';

type Kind = 'kind' | 'direction';

/** Router counters exported as overlay_adverts_total{result}; "received" includes every other outcome. */
const ADVERT_RESULTS: ReadonlyArray<readonly [string, keyof RouterStats]> = [
  ['originated', 'advertsOriginated'],
  ['forwarded', 'advertsForwarded'],
  ['pushed', 'advertsPushed'],
  ['received', 'advertsReceived'],
  ['accepted', 'advertsAccepted'],
  ['duplicate', 'advertsDuplicate'],
  ['expired', 'advertsExpired'],
];

export function registerControlMetrics(registry: Registry, ctx: ScrapeContext): void {
  const { node } = ctx;
  const c = node.counters;
  // Router stats copy a ring of recent timings: read them once per scrape, not once per metric. The
  // cache ages on the real clock (scrapes are real), not the node's, which a test may hold still.
  let cached: { at: number; stats: RouterStats } | undefined;
  const stats = (): RouterStats => {
    const at = performance.now();
    if (!cached || at - cached.at > 100) cached = { at, stats: node.router.stats() };
    return cached.stats;
  };

  collectedCounter<Kind>({
    registry,
    name: 'overlay_control_bytes_total',
    help: 'Sealed bytes of control traffic on the wire: kind="probe" (link probes and echoes), kind="routing" (adverts, summaries, requests).',
    labelNames: ['kind', 'direction'],
    read: (): Sample<Kind>[] => [
      [{ kind: 'probe', direction: 'sent' }, c.probeBytesSent],
      [{ kind: 'probe', direction: 'received' }, c.probeBytesReceived],
      [{ kind: 'routing', direction: 'sent' }, c.controlBytesSent],
      [{ kind: 'routing', direction: 'received' }, c.controlBytesReceived],
    ],
  });
  collectedCounter<'type'>({
    registry,
    name: 'overlay_control_sent_bytes_by_type_total',
    help: 'Control-plane bytes sent by message type (probe, echo, advert, announce, request, summary, digest), estimated on the wire for a direct IPv4 path.',
    labelNames: ['type'],
    read: () => TRAFFIC_TYPES.map((type) => [{ type }, node.plane.traffic.sent[type].bytes]),
  });
  collectedCounter<never>({
    registry,
    name: 'overlay_control_plane_wakeups_total',
    help: "Times the control plane's timer fired (it sleeps until the next probe, advert or rekey is due).",
    labelNames: [],
    read: () => [[{}, node.plane.scheduler.wakeups]],
  });
  collectedCounter<'result'>({
    registry,
    name: 'overlay_adverts_total',
    help: 'Link-state adverts by result: originated, forwarded, pushed (anti-entropy) are sent; received = accepted + duplicate + rejected. Do not sum across results.',
    labelNames: ['result'],
    read: () => ADVERT_RESULTS.map(([result, key]) => [{ result }, stats()[key] as number]),
  });
  collectedCounter<'reason'>({
    registry,
    name: 'overlay_adverts_rejected_total',
    help: 'Routing control messages, their entries and adverts refused, by reason (bad-signature, not-neighbor, origin-rate, reply-budget, truncated, ...; see router-stats.ts).',
    labelNames: ['reason'],
    read: () => withZeros(ROUTER_REJECT_REASONS, new Map(Object.entries(stats().rejected))),
  });
  collectedCounter<never>({
    registry,
    name: 'overlay_route_computations_total',
    help: 'Shortest-path computations run by the router.',
    labelNames: [],
    read: () => [[{}, stats().routeComputations]],
  });
  collectedCounter<never>({
    registry,
    name: 'overlay_route_computation_seconds_total',
    help: 'CPU time spent in shortest-path computations.',
    labelNames: [],
    read: () => [[{}, stats().routeComputeMsTotal / 1000]],
  });
  collectedGauge<never>({
    registry,
    name: 'overlay_linkstate_adverts',
    help: 'Adverts (one per origin) in the link-state database.',
    labelNames: [],
    read: () => [[{}, stats().lsdbSize]],
  });
  collectedGauge<'table'>({
    registry,
    name: 'overlay_routing_state_entries',
    help: 'Entries in each routing table (link-state database, high-water marks, claims, requests, budgets, ...): each is bounded by members or members × neighbours.',
    labelNames: ['table'],
    read: () => Object.entries(stats().state).map(([table, n]) => [{ table }, n]),
  });
  collectedGauge<never>({
    registry,
    name: 'overlay_neighbors',
    help: 'Members with an alive direct link (routing neighbours).',
    labelNames: [],
    read: () => [[{}, stats().neighbors]],
  });
  collectedGauge<never>({
    registry,
    name: 'overlay_linkstate_links',
    help: 'Two-way links in the link-state graph this node routes on.',
    labelNames: [],
    read: () => [[{}, node.router.linkState().length]],
  });
  collectedGauge<'from' | 'to'>({
    registry,
    name: 'overlay_link_cost_seconds',
    help: 'Routing cost of each link in the link-state graph; links are two-way, so each appears as from/to and to/from.',
    labelNames: ['from', 'to'],
    read: () =>
      node.router.linkState().flatMap((l): Sample<'from' | 'to'>[] => {
        const a = node.nameOf(l.a);
        const b = node.nameOf(l.b);
        return [
          [{ from: a, to: b }, l.costMs / 1000],
          [{ from: b, to: a }, l.costMs / 1000],
        ];
      }),
  });
}
