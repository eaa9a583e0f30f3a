// The text of `overlayd status`: a header (who, since when, which version and peers.yaml) and one row
// per member. The default view fits 100 columns (names, paths and endpoints are shortened with '…' if
// they must be); --wide adds hops, cost, jitter, session age and traffic, and shortens nothing.
//
// What a row never says: a loss figure beside a dead link when nothing was measured (a link whose probes
// could not even be sent reads '-', not a reassuring 0%), or an RTT for a dead link (the estimator keeps
// its last value; printing it would lie). An unreachable member's row says why instead of a path.
import type { MemberStatus, NodeStatus } from '../control/status.js';
import { bytes, cut, duration, fitTable, ms, pct, wrap } from './format.js';
import { renderSubnets } from './subnet-view.js';

export const DEFAULT_WIDTH = 100;

export interface StatusViewOptions {
  wide: boolean;
  /** Wall-clock now, for "loaded 5m ago"; default Date.now(). */
  now?: number;
}

function directRtt(m: MemberStatus): string {
  if (!m.direct) return '-';
  return m.direct.alive ? ms(m.direct.srttMs) : 'dead';
}

/** Loss of the direct link; '-' where no loss was measured on a link that is not up. */
function directLoss(m: MemberStatus): string {
  if (!m.direct) return '-';
  if (!m.direct.alive && !(m.direct.lossRatio > 0)) return '-';
  return pct(m.direct.lossRatio);
}

function endpointText(m: MemberStatus, wide: boolean): string {
  const inUse = m.endpoint ?? '-';
  const others = m.endpoints.filter((e) => e.endpoint !== m.endpoint).length;
  return wide && others > 0 ? `${inUse} (+${others})` : inUse;
}

function handshake(m: MemberStatus): string {
  return m.session.lastHandshakeAgoMs === null ? 'never' : duration(m.session.lastHandshakeAgoMs);
}

const NARROW = ['MEMBER', 'ADDRESS', 'REACH', 'PATH', 'DIRECT', 'LOSS', 'ENDPOINT', 'HANDSHAKE'];
const WIDE = [
  'MEMBER',
  'ADDRESS',
  'REACH',
  'PATH',
  'HOPS',
  'COST',
  'DIRECT',
  'LOSS',
  'JITTER',
  'ENDPOINT',
  'LINK',
  'HANDSHAKE',
  'SESSION',
  'TX',
  'RX',
  'RELAYED',
];

function row(m: MemberStatus, wide: boolean): string[] {
  const address = wide && m.address6 ? `${m.address} ${m.address6}` : m.address;
  if (!m.reachable) return [m.name, address, 'NO', m.unreachableReason ?? 'no path'];
  const path = m.path ? m.path.join('→') : '-';
  if (!wide) {
    return [m.name, address, 'yes', path, directRtt(m), directLoss(m), endpointText(m, false), handshake(m)];
  }
  return [
    m.name,
    address,
    'yes',
    path,
    m.hops === null ? '-' : String(m.hops),
    ms(m.costMs),
    directRtt(m),
    directLoss(m),
    m.direct?.alive ? ms(m.direct.jitterMs) : '-',
    endpointText(m, true),
    m.direct?.alive ? m.direct.origin : '-',
    handshake(m),
    m.session.established ? duration(m.session.ageMs) : 'none',
    bytes(m.traffic.txBytes),
    bytes(m.traffic.rxBytes),
    bytes(m.traffic.relayedBytes),
  ];
}

export function renderStatus(s: NodeStatus, opts: StatusViewOptions): string {
  const width = opts.wide ? Infinity : DEFAULT_WIDTH;
  const now = opts.now ?? Date.now();
  const n = s.node;
  const loadedAgo = now - Date.parse(n.configLoadedAt);
  const head = [
    `overlayd ${n.version} ${n.name} (${n.id}) ${n.address}${n.address6 ? ' ' + n.address6 : ''}` +
      ` on ${n.interface}, udp ${n.port}, up ${duration(n.uptimeMs)}`,
    `config sha256 ${opts.wide ? n.configSha256 : n.configSha256.slice(0, 12)}, loaded ` +
      `${duration(Math.max(0, loadedAgo))} ago from ${n.config}`,
  ].map((l) => cut(l, width));
  const members = s.members.filter((m) => !m.self);
  const rows = members.map((m) => row(m, opts.wide));
  // Narrowed first: the path (a→b→c reads fine cut short), the endpoint (cut in the middle, keeping
  // the port), then the name; everything else is already short.
  const tableText = opts.wide
    ? fitTable(WIDE, rows, { maxWidth: Infinity })
    : fitTable(NARROW, rows, {
        maxWidth: width,
        shrink: new Map([
          [3, 8],
          [6, 14],
          [0, 8],
          [1, 9],
        ]),
        cutMiddle: new Set([6]),
      });
  // Problems that make no row unreachable but need the operator: said in full, below the table.
  const warnings = members.flatMap((m) =>
    m.duplicateKeySuspected
      ? [
          `warning: DUPLICATE KEY suspected for ${m.name}: two sessions from ` +
            `${m.duplicateKeySuspected.addresses.join(' and ')} in turn (cloned machine? give each its own key)`,
        ]
      : [],
  );
  const drops = Object.entries(s.drops)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const subnets = renderSubnets(s.subnets, width);
  return [
    ...head,
    '',
    members.length === 0 ? '(no other members in peers.yaml)' : tableText,
    ...warnings.map((w) => wrap(w, width === Infinity ? 100 : width, '  ')),
    ...(subnets === undefined ? [] : ['', subnets]),
    '',
    wrap(`drops: ${drops || 'none'}`, width === Infinity ? 100 : width, '  '),
    wrap(natLine(s), width === Infinity ? 100 : width, '  '),
    wrap(mtuLine(s), width === Infinity ? 100 : width, '  '),
  ].join('\n');
}

/** Our reflexive endpoints, punch results, and which direct links are not listed ones (issue 12). */
function natLine(s: NodeStatus): string {
  const nat = s.nat;
  const links = s.members
    .filter((m) => m.direct?.alive && m.direct.origin !== 'listed')
    .map((m) => `${m.name} ${m.direct?.origin}`);
  const last = nat.punchSuccessMs.at(-1);
  return (
    `nat: reflexive [${nat.reflexive.join(', ')}]; punches ${nat.punches.success} ok` +
    (last === undefined ? '' : ` (last ${Math.round(last)} ms)`) +
    `, ${nat.punches.failed} failed; links ${links.length ? links.join(', ') : 'all listed'}`
  );
}

/**
 * Path MTU (issue 12): per member, the largest IP packet its path carries, and what our direct link to
 * it carries (datagram bytes; "?" while the search runs). Larger packets get ICMP "too big".
 */
function mtuLine(s: NodeStatus): string {
  const paths = s.members
    .filter((m) => !m.self && m.pathMtu !== undefined)
    .map((m) => {
      const l = m.direct?.mtu;
      const link = l ? ` (link ${l.datagramBytes}${l.state === 'searching' ? '?' : ''} B)` : '';
      return `${m.name} ${m.pathMtu}${link}`;
    });
  const c = s.mtu;
  return (
    `mtu: ${paths.length ? paths.join(', ') : 'no paths'}; too big: ${c.tooBigIcmpSent} icmp sent, ` +
    `${c.tooBigIcmpLimited} rate-limited, ${c.fragmented} fragmented`
  );
}
