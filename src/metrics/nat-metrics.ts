// NAT traversal (issue 12, nat/): where each direct link's endpoint came from, how punches went, and
// what this node publishes as its reflexive endpoints. Labels are member names, origins and results:
// bounded sets.
import type { Registry } from 'prom-client';
import { collectedCounter, collectedGauge, type Sample } from './collected.js';
import { otherMembers, type ScrapeContext } from './scrape-context.js';

const ORIGINS = ['listed', 'reflexive', 'punched'] as const;

export function registerNatMetrics(registry: Registry, ctx: ScrapeContext): void {
  const { node } = ctx;
  const nat = node.dataPlane.nat;
  collectedGauge<'member' | 'origin'>({
    registry,
    name: 'overlay_link_origin',
    help: 'Where the endpoint of the alive direct link to the member came from: 1 for listed (peers.yaml), reflexive (its source address, proven by a probe round trip) or punched (a simultaneous open through a common member).',
    labelNames: ['member', 'origin'],
    read: () => {
      const out: Sample<'member' | 'origin'>[] = [];
      for (const m of otherMembers(node)) {
        const link = node.prober.link(m.id);
        if (!link?.alive) continue;
        for (const origin of ORIGINS)
          out.push([{ member: m.name, origin }, (link.origin ?? 'listed') === origin ? 1 : 0]);
      }
      return out;
    },
  });
  collectedCounter<'result'>({
    registry,
    name: 'overlay_punch_attempts_total',
    help: 'Simultaneous opens: success (a direct round trip within the timeout), failed, rate-limited (punch requests from members over their budget, not answered), unsolicited (answers to no pending request).',
    labelNames: ['result'],
    read: () => {
      const c = nat.punches.counts;
      return [
        [{ result: 'success' }, c.success],
        [{ result: 'failed' }, c.failed],
        [{ result: 'rate-limited' }, c.rateLimited],
        [{ result: 'unsolicited' }, c.unsolicited],
      ];
    },
  });
  collectedGauge<never>({
    registry,
    name: 'overlay_reflexive_endpoints',
    help: 'Reflexive endpoints (our address:port as members observe it) published in our advert.',
    labelNames: [],
    read: () => [[{}, nat.reflexive.published().length]],
  });
  collectedCounter<never>({
    registry,
    name: 'overlay_nat_keepalives_sent_total',
    help: 'Keepalives sent on direct links through a NAT that are in use or recently used (network.natKeepalive).',
    labelNames: [],
    read: () => [[{}, nat.keepalivesSent]],
  });
}
