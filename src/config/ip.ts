// IP address literals for peers.yaml: strict parsing and one canonical text form.
//
// Addresses are held as bigints so the same prefix arithmetic serves IPv4 and IPv6. We parse by
// hand rather than through `net.isIP` because we also need the value (for prefix checks) and a
// canonical form: peers.yaml is written by people, and "fd77:0::1" and "FD77::1" must compare equal
// to "fd77::1" when we look for duplicates and when other sites print the address back.

export interface IpAddress {
  family: 4 | 6;
  /** The address as an unsigned integer: 32 bits for IPv4, 128 bits for IPv6. */
  value: bigint;
}

const IPV4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const HEX_GROUP_RE = /^[0-9a-f]{1,4}$/i;

/**
 * Strict dotted-quad IPv4. Leading zeros are refused: some resolvers read "010" as octal, so the
 * literal is ambiguous and the operator should write what they mean.
 */
export function parseIPv4(text: string): bigint | null {
  const m = IPV4_RE.exec(text);
  if (m === null) return null;
  let value = 0n;
  for (const part of m.slice(1)) {
    if (part.length > 1 && part.startsWith('0')) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

/** Parses colon-separated hex groups; an IPv4 tail (mixed notation) counts as two groups. */
function parseGroups(part: string, allowIPv4Tail: boolean): number[] | null {
  if (part === '') return [];
  const pieces = part.split(':');
  const groups: number[] = [];
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i] ?? '';
    if (allowIPv4Tail && i === pieces.length - 1 && piece.includes('.')) {
      const v4 = parseIPv4(piece);
      if (v4 === null) return null;
      groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
    } else if (HEX_GROUP_RE.test(piece)) {
      groups.push(parseInt(piece, 16));
    } else {
      return null;
    }
  }
  return groups;
}

/** RFC 4291 text forms, including "::" and a trailing dotted IPv4. Zone ids ("%eth0") are refused. */
export function parseIPv6(text: string): bigint | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  let groups: number[];
  if (halves.length === 1) {
    const all = parseGroups(text, true);
    if (all === null || all.length !== 8) return null;
    groups = all;
  } else {
    const head = parseGroups(halves[0] ?? '', false);
    const tail = parseGroups(halves[1] ?? '', true);
    if (head === null || tail === null) return null;
    const missing = 8 - head.length - tail.length;
    // "::" stands for at least one zero group.
    if (missing < 1) return null;
    groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  }
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return value;
}

export function parseIp(text: string): IpAddress | null {
  const v4 = parseIPv4(text);
  if (v4 !== null) return { family: 4, value: v4 };
  const v6 = parseIPv6(text);
  if (v6 !== null) return { family: 6, value: v6 };
  return null;
}

function formatIPv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
}

const MAPPED_PREFIX = 0xffffn << 32n;

/** True for ::ffff:a.b.c.d, which the transport reports as plain IPv4. */
export function isIPv4Mapped(addr: IpAddress): boolean {
  return addr.family === 6 && addr.value >> 32n === MAPPED_PREFIX >> 32n;
}

/** RFC 5952: lowercase, no leading zeros, the longest run (first if tied) of 2+ zero groups as "::". */
function formatIPv6(value: bigint): string {
  if (value >> 32n === MAPPED_PREFIX >> 32n) return `::ffff:${formatIPv4(value & 0xffffffffn)}`;
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((value >> shift) & 0xffffn));
  return formatIPv6Groups(groups);
}

/**
 * RFC 5952 text of eight 16-bit groups (no IPv4-mapped form: callers check for it). Shared with the
 * native UDP transport, which formats packet sources from bytes: endpoint keys must compare equal
 * with the configuration's.
 */
export function formatIPv6Groups(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 1; // a single zero group is not compressed
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLen).join(':');
  return `${head}::${tail}`;
}

/** The canonical text of an address: dotted quad, or RFC 5952 compressed lowercase IPv6. */
export function formatIp(addr: IpAddress): string {
  return addr.family === 4 ? formatIPv4(addr.value) : formatIPv6(addr.value);
}
