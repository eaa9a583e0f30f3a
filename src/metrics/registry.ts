// The Prometheus registry of one node: its own Registry (never prom-client's global one, so several
// nodes in one process — the e2e cluster — each export only themselves), the default label
// node="<member name>", the standard process_* and nodejs_* metrics, and the overlay_* groups.
//
// Every overlay_* value is read from the node when Prometheus scrapes (collect callbacks); the packet
// path only bumps plain numbers and never sees prom-client.
import { collectDefaultMetrics, Registry } from 'prom-client';
import { systemClock } from '../clock.js';
import type { OverlayNode } from '../node.js';
import { registerControlMetrics } from './control-metrics.js';
import { registerDaemonMetrics } from './daemon-metrics.js';
import { registerDiagnosticMetrics } from './diagnostic-metrics.js';
import { registerMemberMetrics } from './member-metrics.js';
import { registerNatMetrics } from './nat-metrics.js';
import { registerMtuMetrics } from './mtu-metrics.js';
import { registerPathMetrics } from './path-metrics.js';
import type { ScrapeContext } from './scrape-context.js';
import { registerSubnetMetrics } from './subnet-metrics.js';
import { registerTrafficMetrics } from './traffic-metrics.js';

const DUPLICATE_TOTALS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

export interface RegistryOptions {
  /**
   * process_* and nodejs_* metrics under their standard names (what Node.js dashboards expect).
   * Default true; tests with several nodes in one process turn them off (they describe the process,
   * not a node).
   */
  processMetrics?: boolean;
  /** The node's monotonic clock (session ages, path ages); default the system clock, as the daemon uses. */
  now?: () => number;
}

const EVENT_LOOP_SAMPLE_MS = 1000;

export function buildMetricsRegistry(node: OverlayNode, opts: RegistryOptions = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ node: node.self.name });
  if (opts.processMetrics !== false) {
    // The event-loop delay histogram samples on a timer of its own: prom-client's default 10 ms
    // resolution would wake an idle daemon 100 times a second (more than everything else together).
    // Once a second still catches a stalled loop; finer detail is not worth that cost.
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    // Gauges named like counters (promtool rejects them); each is the sum of its unsuffixed sibling
    // (nodejs_active_handles{type} and so on), so nothing is lost.
    for (const name of DUPLICATE_TOTALS) registry.removeSingleMetric(name);
  }
  const ctx: ScrapeContext = { node, now: opts.now ?? systemClock.now };
  registerMemberMetrics(registry, ctx);
  registerPathMetrics(registry, ctx);
  registerTrafficMetrics(registry, ctx);
  registerControlMetrics(registry, ctx);
  registerNatMetrics(registry, ctx);
  registerMtuMetrics(registry, ctx);
  registerDaemonMetrics(registry, ctx);
  registerSubnetMetrics(registry, ctx);
  registerDiagnosticMetrics(registry, ctx);
  return registry;
}
