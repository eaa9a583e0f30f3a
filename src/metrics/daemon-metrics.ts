// What is running: the version, the membership file (its SHA-256: the file is the same at every site,
// so sites whose hashes differ run different memberships), when it was loaded, how reloads went, and
// how many errors escaped to the last-resort handler. Prefixed overlayd_ (the process), not overlay_
// (the network it measures).
import type { Registry } from 'prom-client';
import { escapedErrors } from '../last-resort.js';
import { overlaydVersion } from '../version.js';
import { collectedCounter, collectedGauge } from './collected.js';
import type { ScrapeContext } from './scrape-context.js';

export function registerDaemonMetrics(registry: Registry, ctx: ScrapeContext): void {
  const { node } = ctx;
  collectedGauge<'version'>({
    registry,
    name: 'overlayd_build_info',
    help: 'Always 1; the version of overlayd running (node names the member).',
    labelNames: ['version'],
    read: () => [[{ version: overlaydVersion() }, 1]],
  });
  collectedGauge<'sha256'>({
    registry,
    name: 'overlayd_config_info',
    help: 'Always 1; sha256 of the peers.yaml running. Every site should show the same value.',
    labelNames: ['sha256'],
    read: () => [[{ sha256: node.configuration.sha256 }, 1]],
  });
  collectedGauge<never>({
    registry,
    name: 'overlayd_config_loaded_timestamp_seconds',
    help: 'When the running peers.yaml was loaded (start or the last applied reload), Unix seconds.',
    labelNames: [],
    read: () => [[{}, node.configLoadedAt / 1000]],
  });
  collectedCounter<'result'>({
    registry,
    name: 'overlayd_config_reloads_total',
    help: 'Reloads of peers.yaml (SIGHUP or overlayd reload) by result: applied, rejected (the running configuration stayed).',
    labelNames: ['result'],
    read: () => [
      [{ result: 'applied' }, node.reloads.applied],
      [{ result: 'rejected' }, node.reloads.rejected],
    ],
  });
  collectedCounter<never>({
    registry,
    name: 'overlayd_escaped_errors_total',
    help: 'Errors that escaped every handler and were caught by the last-resort handler (each is a bug; see the log).',
    labelNames: [],
    read: () => [[{}, escapedErrors()]],
  });
}
