// Names and addresses of a lab, decided before anything is created. Pure, so the address scheme has one
// definition that the Lab, the delay emulator and the tests all share.
//
//   site i (1-based, in the order given)   eth0  10.200.<i>.2/24   fd00:200:<i>::2/64
//   wan                                     v-<site>  10.200.<i>.1/24   fd00:200:<i>::1/64
//
// In IPv6 the <i> group is written in hex (site 10 is fd00:200:a::), so its value is i in both families.

export const WAN_TABLE = 100;
export const EMULATOR_TUN = 'emu0';
/** Namespaces of this lab are `<runId>-<site>` / `<runId>-wan`, runId = "ol" + 4 hex digits. */
export const RUN_ID_RE = /^ol[0-9a-f]{4}$/;
export const LAB_NS_RE = /^(ol[0-9a-f]{4})-([a-z][a-z0-9]*)$/;
export const LAB_ROOT_DIR = '/tmp/overlayd-lab';
export const MAX_SITES = 250;

export interface LabSite {
  name: string;
  /** Namespace the site lives in. */
  ns: string;
  /** 1-based; the third octet of its underlay addresses. */
  index: number;
  /** The site's own underlay address (on eth0). */
  underlay4: string;
  /** Null when the lab was created with ipv6: false. */
  underlay6: string | null;
  /** The site's next hop in the wan (its default gateway). */
  gateway4: string;
  gateway6: string | null;
  /** Underlay prefixes of the site, as used in filter and policy rules. */
  prefix4: string;
  prefix6: string | null;
  /** Name of the site's veth inside the wan namespace. */
  wanIf: string;
}

export function randomRunId(): string {
  return `ol${Math.floor(Math.random() * 0x10000)
    .toString(16)
    .padStart(4, '0')}`;
}

/** Site names become namespace and interface names (`v-<site>` ≤ 15 chars), hence the strict shape. */
export function checkSiteNames(names: readonly string[]): void {
  if (names.length === 0) throw new Error('a lab needs at least one site');
  if (names.length > MAX_SITES) throw new Error(`at most ${MAX_SITES} sites`);
  const seen = new Set<string>();
  for (const n of names) {
    if (!/^[a-z][a-z0-9]{0,9}$/.test(n))
      throw new Error(`bad site name ${JSON.stringify(n)}: use [a-z][a-z0-9]{0,9}`);
    if (n === 'wan') throw new Error('"wan" is reserved for the wan namespace');
    if (seen.has(n)) throw new Error(`duplicate site name ${n}`);
    seen.add(n);
  }
}

export function planSite(runId: string, name: string, index: number, ipv6: boolean): LabSite {
  const g = index.toString(16);
  return {
    name,
    ns: `${runId}-${name}`,
    index,
    underlay4: `10.200.${index}.2`,
    underlay6: ipv6 ? `fd00:200:${g}::2` : null,
    gateway4: `10.200.${index}.1`,
    gateway6: ipv6 ? `fd00:200:${g}::1` : null,
    prefix4: `10.200.${index}.0/24`,
    prefix6: ipv6 ? `fd00:200:${g}::/64` : null,
    wanIf: `v-${name}`,
  };
}

export function wanNs(runId: string): string {
  return `${runId}-wan`;
}

/**
 * The site index an underlay address belongs to, read straight from packet bytes (the delay emulator's
 * classifier): 10.200.<i>.x and fd00:200:<i>::/64. Returns 0 for anything else.
 */
export function siteIndexOf4(b: Uint8Array, off: number): number {
  return b[off] === 10 && b[off + 1] === 200 ? b[off + 2]! : 0;
}

export function siteIndexOf6(b: Uint8Array, off: number): number {
  if (b[off] !== 0xfd || b[off + 1] !== 0x00 || b[off + 2] !== 0x02 || b[off + 3] !== 0x00) return 0;
  // Group 3 must be 0x00ii; the group's upper byte is 0 for every index we hand out.
  if (b[off + 4] !== 0) return 0;
  if (b[off + 6] !== 0 || b[off + 7] !== 0) return 0;
  return b[off + 5]!;
}
