// The subnets of all members together. A LAN is reached through whoever lists it, so an address must
// belong to one subnet only: two members listing exactly the same prefix are redundant gateways for it
// (traffic takes the better one, the other takes over), but overlapping prefixes would make the choice
// depend on prefix length rather than on the operator's intent, and are refused. Also refused: a subnet
// that contains a member's underlay endpoint, because every other member would then route that
// member's own UDP packets into the overlay.
//
// Prefixes are nested or disjoint, so sorting them by (family, network, length) puts every prefix right
// after the ones containing it: one pass with the widest prefix seen so far finds every overlap, in
// O(S log S) for S subnets in the file rather than comparing all pairs.
import { cidrContains, cidrLast, networkOf } from './cidr.js';
import { parseIp, type IpAddress } from './ip.js';
import type { PeerDraft } from './validate-peer.js';
import type { SubnetDraft } from './validate-subnets.js';
import type { ConfigReader } from './yaml-reader.js';

interface Listed {
  draft: PeerDraft;
  subnet: SubnetDraft;
}

function owner(draft: PeerDraft): string {
  return draft.name === null ? draft.path : `${draft.path} '${draft.name.value}'`;
}

function compare(a: Listed, b: Listed): number {
  const x = a.subnet.cidr;
  const y = b.subnet.cidr;
  if (x.family !== y.family) return x.family - y.family;
  if (x.network !== y.network) return x.network < y.network ? -1 : 1;
  return x.prefixLength - y.prefixLength || a.subnet.line - b.subnet.line;
}

/** The problem with `later` given `earlier` (which it overlaps), or null when the two may coexist. */
function overlapProblem(earlier: Listed, later: Listed): string | null {
  const a = earlier.subnet;
  const b = later.subnet;
  const identical = a.text === b.text;
  if (earlier.draft === later.draft) {
    return identical
      ? `duplicate subnet ${b.text} (already listed at line ${a.line})`
      : `${b.text} overlaps ${a.text} of the same member (line ${a.line})`;
  }
  if (identical) return null; // redundant gateways
  return (
    `${b.text} overlaps ${a.text} of ${owner(earlier.draft)} (line ${a.line}); members may list exactly ` +
    `the same subnet (redundant gateways), not overlapping ones`
  );
}

function checkOverlaps(reader: ConfigReader, listed: Listed[]): void {
  const sorted = [...listed].sort(compare);
  let widest: Listed | undefined;
  for (const item of sorted) {
    const cidr = item.subnet.cidr;
    if (widest && widest.subnet.cidr.family === cidr.family && cidr.network <= cidrLast(widest.subnet.cidr)) {
      // Report at the later line of the two, naming the earlier: usually the one just added is wrong.
      const [earlier, later] = widest.subnet.line <= item.subnet.line ? [widest, item] : [item, widest];
      const problem = overlapProblem(earlier, later);
      if (problem !== null) reader.report(later.subnet.line, later.subnet.path, problem);
      continue; // nested inside `widest`: it cannot reach further
    }
    widest = item;
  }
}

/** Endpoint IP literals inside a subnet; host names are resolved at run time and cannot be checked here. */
function checkEndpoints(reader: ConfigReader, drafts: readonly PeerDraft[], listed: Listed[]): void {
  // Per family and prefix length, network → subnet: a lookup per length instead of a scan per subnet.
  const byLength = new Map<string, Map<bigint, Listed>>();
  for (const item of listed) {
    const key = `${item.subnet.cidr.family}/${item.subnet.cidr.prefixLength}`;
    let m = byLength.get(key);
    if (!m) byLength.set(key, (m = new Map()));
    if (!m.has(item.subnet.cidr.network)) m.set(item.subnet.cidr.network, item);
  }
  const containing = (addr: IpAddress): Listed | undefined => {
    for (const [key, m] of byLength) {
      const [family, length] = key.split('/').map(Number);
      if (family !== addr.family) continue;
      const hit = m.get(networkOf(addr, length));
      if (hit && cidrContains(hit.subnet.cidr, addr)) return hit;
    }
    return undefined;
  };
  for (const draft of drafts) {
    for (const e of draft.endpoints ?? []) {
      const addr = parseIp(e.host);
      const hit = addr && containing(addr);
      if (!hit) continue;
      const who = draft.name?.value ?? draft.path;
      reader.report(
        hit.subnet.line,
        hit.subnet.path,
        `${hit.subnet.text} contains ${e.host}, an endpoint of ${owner(draft)} (line ${e.line}): every other ` +
          `member would send ${who}'s underlay packets into the overlay`,
      );
    }
  }
}

export function checkSubnets(reader: ConfigReader, drafts: readonly PeerDraft[]): void {
  const listed: Listed[] = [];
  for (const draft of drafts) for (const subnet of draft.subnets ?? []) listed.push({ draft, subnet });
  if (listed.length === 0) return;
  checkOverlaps(reader, listed);
  checkEndpoints(reader, drafts, listed);
}
