// `subnets:` of one member: the LANs behind it, which every other member routes into the overlay to it.
// Each item is a prefix, or a mapping with the prefix and its options:
//
//   subnets: [192.168.50.0/24, fd50::/64]
//   subnets:
//     - 192.168.50.0/24
//     - { prefix: 10.20.0.0/16, masquerade: true }
//
// What one item can be checked against alone is here: its syntax, ranges no interface route can carry,
// and the overlay's own prefixes. Overlaps between items (of this member or of others) and underlay
// endpoints caught inside a subnet need the whole file: subnet-overlaps.ts.
import { isMap, type Node } from 'yaml';
import { cidrOverlaps, formatCidr, parseCidr, toCidr, type ParsedCidr } from './cidr.js';
import { parseIp } from './ip.js';
import type { NetworkCheck } from './validate-network.js';
import type { ConfigReader, Field } from './yaml-reader.js';

const ITEM_FIELDS = ['prefix', 'masquerade'] as const;

/**
 * Subnets one member may list per address family. The native inner checks (native/packet.c, fed by
 * forward/deliver-ip.ts) hold a member's LANs as allowed sources and a node's own address plus its
 * LANs as accepted destinations in fixed lists of OPEN_MAX_PREFIXES (8) per family: 7 LANs + 1.
 */
export const MAX_SUBNETS_PER_FAMILY = 7;
const EXAMPLE = 'e.g. 192.168.50.0/24 or fd50::/64';

export interface SubnetDraft {
  cidr: ParsedCidr;
  /** Canonical text, e.g. "192.168.50.0/24". */
  text: string;
  masquerade: boolean;
  line: number;
  /** `peers[i].subnets[j]`, for messages. */
  path: string;
}

/** Ranges a route through a tunnel interface can never serve; a subnet overlapping one is a mistake. */
const NEVER_ROUTED: ReadonlyArray<{ cidr: ParsedCidr; what: string }> = [
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['224.0.0.0/4', 'multicast'],
  ['255.255.255.255/32', 'limited broadcast'],
  ['::1/128', 'loopback'],
  ['fe80::/10', 'link-local'],
  ['ff00::/8', 'multicast'],
].map(([text, what]) => {
  const parsed = parseCidr(text, text.includes(':') ? 6 : 4);
  if (!parsed.ok) throw new Error(`bad built-in prefix ${text}`);
  return { cidr: parsed.cidr, what };
});

/** The prefix text of one item: the item itself, or its `prefix` field; null if reported. */
function readItem(
  reader: ConfigReader,
  item: Field,
): { text: string; masquerade: boolean; line: number } | null {
  if (!isMap(item.value)) {
    const text = reader.string(item);
    return text === null ? null : { text, masquerade: false, line: item.line };
  }
  const fields = reader.fields(item.value, item.path, item.line, ITEM_FIELDS, ['prefix']);
  const prefixField = fields.get('prefix');
  const masqueradeField = fields.get('masquerade');
  const text = prefixField === undefined ? null : reader.string(prefixField);
  const masquerade = masqueradeField === undefined ? false : reader.boolean(masqueradeField);
  if (text === null || masquerade === null || prefixField === undefined) return null;
  return { text, masquerade, line: prefixField.line };
}

/** Why this prefix cannot be a subnet, or null. Phrased to follow "<field>: ". */
function subnetProblem(cidr: ParsedCidr, text: string, net: NetworkCheck): string | null {
  if (cidr.prefixLength === 0) {
    return `${text} is a default route: sending all traffic through one member (an exit node) is not supported`;
  }
  for (const r of NEVER_ROUTED) {
    if (cidrOverlaps(cidr, r.cidr)) {
      return `${text} overlaps ${formatCidr(toCidr(r.cidr))} (${r.what}), which is never routed to a member`;
    }
  }
  const overlay = cidr.family === 4 ? net.prefix : net.prefix6;
  if (overlay && cidrOverlaps(cidr, overlay)) {
    const field = cidr.family === 4 ? 'network.prefix' : 'network.prefix6';
    return `${text} overlaps ${field} ${formatCidr(toCidr(overlay))}: overlay addresses cannot also be a LAN behind a member`;
  }
  return null;
}

function readSubnet(reader: ConfigReader, item: Field, net: NetworkCheck): SubnetDraft | null {
  const read = readItem(reader, item);
  if (read === null) return null;
  const { text, line } = read;
  const path = isMap(item.value) ? `${item.path}.prefix` : item.path;
  const slash = text.indexOf('/');
  const addr = slash < 0 ? null : parseIp(text.slice(0, slash));
  if (addr === null) {
    reader.report(
      line,
      path,
      `${JSON.stringify(text)} is not a prefix (expected address/length, ${EXAMPLE})`,
    );
    return null;
  }
  const parsed = parseCidr(text, addr.family);
  if (!parsed.ok) {
    reader.report(line, path, parsed.error);
    return null;
  }
  const canonical = formatCidr(toCidr(parsed.cidr));
  const problem = subnetProblem(parsed.cidr, canonical, net);
  if (problem !== null) {
    reader.report(line, path, problem);
    return null;
  }
  return { cidr: parsed.cidr, text: canonical, masquerade: read.masquerade, line, path: item.path };
}

/** Reads `peers[i].subnets`; null if anything in it was reported. */
export function readSubnets(reader: ConfigReader, field: Field, net: NetworkCheck): SubnetDraft[] | null {
  const seq = reader.seq(field, ` (${EXAMPLE})`);
  if (seq === null) return null;
  const subnets: SubnetDraft[] = [];
  let ok = true;
  seq.items.forEach((node: unknown, i) => {
    const value: Node | null = reader.resolve(node);
    const item: Field = { path: `${field.path}[${i}]`, line: reader.lineOf(node, field.line), value };
    const subnet = readSubnet(reader, item, net);
    if (subnet === null) ok = false;
    else if (subnets.filter((s) => s.cidr.family === subnet.cidr.family).length === MAX_SUBNETS_PER_FAMILY) {
      reader.report(
        item.line,
        item.path,
        `more than ${MAX_SUBNETS_PER_FAMILY} IPv${subnet.cidr.family} subnets for one member (join adjacent LANs into one wider prefix)`,
      );
      ok = false;
    } else subnets.push(subnet);
  });
  return ok ? subnets : null;
}
