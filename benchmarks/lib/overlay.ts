// overlayd on a lab, as the benchmarks drive it: wait for a given path, find the daemons' PIDs for CPU
// sampling, stop them between configurations.
import { ControlClient } from '../../src/control/client.js';
import type { NodeStatus } from '../../src/control/status.js';
import type { OverlayLab } from '../../test/lab/overlay-lab.js';

/** Waits until `from` routes to `to` along `path` (e.g. "a>b>c"); returns how long that took, in ms. */
export async function waitPath(
  ol: OverlayLab,
  from: string,
  to: string,
  path: string,
  timeoutMs = 30_000,
): Promise<number> {
  const t0 = Date.now();
  await ol.lab.waitFor(async () => (await ol.pathOf(from, to))?.join('>') === path, {
    timeoutMs,
    intervalMs: 50,
    what: `${from} to route to ${to} along ${path}`,
  });
  return Date.now() - t0;
}

/** PIDs of the running daemons, named overlayd-<site>. */
export function overlayPids(ol: OverlayLab, sites: readonly string[]): Record<string, number | undefined> {
  return Object.fromEntries(sites.map((s) => [`overlayd-${s}`, ol.site(s).process?.pid]));
}

export async function stopOverlay(ol: OverlayLab, sites: readonly string[]): Promise<void> {
  await Promise.all(sites.map((s) => ol.site(s).process?.stop(3000)));
}

/**
 * `overlayd status` with patient timeouts: with dozens of daemons on two cores a daemon may take seconds to
 * accept a control connection (OverlayLab.status gives up after 3 s), and a benchmark must still read it.
 */
export async function patientStatus(ol: OverlayLab, site: string, timeoutMs = 20_000): Promise<NodeStatus> {
  const client = await ControlClient.connect(ol.site(site).socket, timeoutMs);
  try {
    return await client.call<NodeStatus>('status', {}, timeoutMs);
  } finally {
    client.close();
  }
}
