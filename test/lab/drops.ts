// The daemons' drop counters (status `drops`, by reason), so a test that sees packets go missing can
// say whether a daemon dropped them (and why) or they were lost outside the daemons.
import type { OverlayLab } from './overlay-lab.js';

/** Each daemon's drop counters by reason, keyed `site:reason`. */
export async function dropsAt(ol: OverlayLab, sites: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const site of sites)
    for (const [reason, n] of Object.entries((await ol.status(site)).drops)) out.set(`${site}:${reason}`, n);
  return out;
}

/** What grew between two snapshots, e.g. `c:no-route +1`, or `none`. */
export function dropsDiff(before: Map<string, number>, after: Map<string, number>): string {
  const grown = [...after]
    .filter(([k, n]) => n > (before.get(k) ?? 0))
    .map(([k, n]) => `${k} +${n - (before.get(k) ?? 0)}`);
  return grown.length ? grown.join(', ') : 'none';
}
