// The subnets part of `overlayd status` and `overlayd paths`: each site LAN, the gateway carrying it,
// and (in `paths`) the path to every gateway with its cost and why the choice stands.
import type { PathsReport, SubnetView } from '../control/status.js';
import { duration, fitTable, ms } from './format.js';

/** The kernel route into our TUN, or what this node does with its own subnet. */
function routeText(s: SubnetView): string {
  if (s.own) {
    if (!s.masquerade?.wanted) return 'local';
    if (s.masquerade.error) return `local, masquerade failed: ${s.masquerade.error}`;
    return s.masquerade.active ? 'local, masquerade' : 'local, masquerade pending';
  }
  if (!s.route) return '-';
  return s.route.detail ? `${s.route.state}: ${s.route.detail}` : s.route.state;
}

function carrier(s: SubnetView): string {
  if (s.own) return 'this node';
  return s.gateway ?? 'none';
}

/** Status: one row per subnet, fitted to `width` (the route detail is cut first). */
export function renderSubnets(subnets: readonly SubnetView[] | undefined, width: number): string | undefined {
  if (!subnets || subnets.length === 0) return undefined;
  const rows = subnets.map((s) => [
    s.subnet,
    carrier(s),
    s.gateways.join(','),
    s.sinceMs === null ? '-' : duration(s.sinceMs),
    routeText(s),
  ]);
  return fitTable(['SUBNET', 'VIA', 'GATEWAYS', 'SINCE', 'ROUTE'], rows, {
    maxWidth: width,
    shrink: new Map([
      [4, 12],
      [2, 8],
    ]),
  });
}

/** Paths: the gateway in use with its path, then each alternative, and the recent gateway changes. */
export function renderSubnetPaths(r: PathsReport): string {
  const subnets = r.subnets ?? [];
  if (subnets.length === 0) return '';
  const rows: string[][] = [];
  for (const s of subnets) {
    if (s.own) {
      rows.push([s.subnet, 'this node', '-', '-', '-', s.why]);
      continue;
    }
    rows.push([
      s.subnet,
      s.gateway ?? 'none',
      s.path?.join('→') ?? '-',
      ms(s.costMs),
      s.sinceMs === null ? '-' : duration(s.sinceMs),
      s.why,
    ]);
    for (const a of s.alternatives) {
      rows.push(['', a.gateway, a.path?.join('→') ?? 'unreachable', ms(a.costMs), '', 'standby']);
    }
  }
  const changes = (r.gatewayChanges ?? [])
    .slice(-10)
    .map((c) => `  ${c.at}  ${c.subnet}: ${c.from ?? 'none'} ⇒ ${c.to ?? 'none'} (${c.reason})`);
  return (
    `\n\nsubnets:\n` +
    fitTable(['SUBNET', 'GATEWAY', 'PATH', 'COST', 'SINCE', 'WHY'], rows, { maxWidth: Infinity }) +
    `\n\nrecent gateway changes:\n${changes.join('\n') || '  none'}`
  );
}
