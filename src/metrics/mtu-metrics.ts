// Path MTU (issue 12, pmtu/): what each direct link carries, what each member's path carries, and what
// happened to packets too big for their path. Labels are member names and fixed actions: bounded sets.
import type { Registry } from 'prom-client';
import { collectedCounter, collectedGauge, type Sample } from './collected.js';
import { otherMembers, type ScrapeContext } from './scrape-context.js';

export function registerMtuMetrics(registry: Registry, ctx: ScrapeContext): void {
  const { node } = ctx;
  const mtu = node.dataPlane.mtu;
  collectedGauge<'member'>({
    registry,
    name: 'overlay_link_mtu_bytes',
    help: 'Largest UDP payload the alive direct link to the member carries, as discovered by padded probes with DF set (optimistic, the largest the network needs, until a probe round shows otherwise).',
    labelNames: ['member'],
    read: () => {
      const out: Sample<'member'>[] = [];
      for (const m of otherMembers(node)) {
        const bytes = mtu.linkDatagram(m.id);
        if (bytes !== undefined) out.push([{ member: m.name }, bytes]);
      }
      return out;
    },
  });
  collectedGauge<'member'>({
    registry,
    name: 'overlay_path_mtu_bytes',
    help: 'Largest IP packet the chosen path to the member carries (smallest link less the relays\u2019 headers); larger packets from the TUN get ICMP fragmentation needed / packet too big.',
    labelNames: ['member'],
    read: () => {
      const out: Sample<'member'>[] = [];
      const now = ctx.now();
      for (const m of otherMembers(node)) {
        const bytes = mtu.pathMtuOf(m.id, now);
        if (bytes !== undefined) out.push([{ member: m.name }, bytes]);
      }
      return out;
    },
  });
  collectedCounter<'action'>({
    registry,
    name: 'overlay_too_big_total',
    help: 'Packets from the TUN larger than their path MTU: icmp (dropped, ICMP too big written back), rate-limited (dropped, ICMP withheld), fragmented (IPv4 with DF clear, sent in fragments).',
    labelNames: ['action'],
    read: () => {
      const c = node.counters;
      return [
        [{ action: 'icmp' }, c.tooBigIcmpSent],
        [{ action: 'rate-limited' }, c.tooBigIcmpLimited],
        [{ action: 'fragmented' }, c.fragmented],
      ];
    },
  });
  collectedCounter<never>({
    registry,
    name: 'overlay_mss_clamped_total',
    help: 'TCP SYNs from the TUN whose MSS option was lowered to the path MTU (network.mssClamp).',
    labelNames: [],
    read: () => [[{}, node.counters.mssClamped]],
  });
}
