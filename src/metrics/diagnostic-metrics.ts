// What went wrong, per member: handshake failures by reason (node/member-diagnostics.ts), duplicate-key
// suspicions, and event log lines left out by the rate limit (a flood is itself worth seeing).
// Labels are member names and a bounded reason set.
import type { Registry } from 'prom-client';
import { HANDSHAKE_FAILURE_REASONS } from '../node/member-diagnostics.js';
import { collectedCounter, type Sample } from './collected.js';
import { otherMembers, type ScrapeContext } from './scrape-context.js';

export function registerDiagnosticMetrics(registry: Registry, ctx: ScrapeContext): void {
  const { node } = ctx;
  collectedCounter<'member' | 'reason'>({
    registry,
    name: 'overlay_handshake_failures_total',
    help:
      'Failed handshakes with the member by reason: no-reply (an initiation given up), key-rejected ' +
      '(its handshake failed mac1/Noise with our key), rate-limited, malformed, replayed, stale.',
    labelNames: ['member', 'reason'],
    read: () => {
      const out: Sample<'member' | 'reason'>[] = [];
      for (const m of otherMembers(node)) {
        const counts = node.diagnostics.failureCounts(m.id);
        for (const reason of HANDSHAKE_FAILURE_REASONS)
          out.push([{ member: m.name, reason }, counts.get(reason) ?? 0]);
      }
      return out;
    },
  });
  collectedCounter<'member'>({
    registry,
    name: 'overlay_duplicate_key_suspected_total',
    help: "Episodes of two underlay addresses taking turns completing the member's handshakes: two machines hold its private key.",
    labelNames: ['member'],
    read: () =>
      [...otherMembers(node)].map((m) => [
        { member: m.name },
        node.diagnostics.duplicateSuspicions.get(m.id) ?? 0,
      ]),
  });
  collectedCounter<never>({
    registry,
    name: 'overlayd_log_events_suppressed_total',
    help: 'Event log lines left out by the per-event rate limit (the next line of that event says how many).',
    labelNames: [],
    read: () => [[{}, node.events.suppressedTotal]],
  });
}
