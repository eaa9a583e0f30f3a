// Prefix arithmetic for the overlay prefixes in peers.yaml: parse "address/length", check that an
// address lies inside, and name the addresses a member must not take.
import type { Cidr } from './types.js';
import { formatIp, parseIp, type IpAddress } from './ip.js';

export interface ParsedCidr {
  family: 4 | 6;
  /** Network address with all host bits zero. */
  network: bigint;
  prefixLength: number;
}

export type CidrParse = { ok: true; cidr: ParsedCidr } | { ok: false; error: string };

function familyName(family: 4 | 6): string {
  return family === 4 ? 'IPv4' : 'IPv6';
}

function addressBits(family: 4 | 6): number {
  return family === 4 ? 32 : 128;
}

function hostMask(family: 4 | 6, prefixLength: number): bigint {
  return (1n << BigInt(addressBits(family) - prefixLength)) - 1n;
}

/**
 * Parses a prefix of the expected family. Host bits must be zero: "10.77.0.1/24" is refused rather
 * than silently truncated, because it usually means a member address was pasted into the prefix.
 * Error messages are phrased to follow "<field>: ".
 */
export function parseCidr(text: string, family: 4 | 6): CidrParse {
  const example = family === 4 ? '10.77.0.0/24' : 'fd77::/64';
  const syntax = `${JSON.stringify(text)} is not an ${familyName(family)} prefix (expected address/length, e.g. ${example})`;
  const slash = text.indexOf('/');
  if (slash < 0) return { ok: false, error: syntax };
  const addr = parseIp(text.slice(0, slash));
  const lengthText = text.slice(slash + 1);
  if (addr === null || !/^(0|[1-9]\d{0,2})$/.test(lengthText)) return { ok: false, error: syntax };
  if (addr.family !== family) {
    return {
      ok: false,
      error: `${text} is an ${familyName(addr.family)} prefix, expected ${familyName(family)}`,
    };
  }
  const prefixLength = Number(lengthText);
  const bits = addressBits(family);
  if (prefixLength > bits) {
    return { ok: false, error: `prefix length /${prefixLength} is out of range 0..${bits}` };
  }
  const host = addr.value & hostMask(family, prefixLength);
  if (host !== 0n) {
    const network = formatIp({ family, value: addr.value - host });
    return {
      ok: false,
      error: `${text} has host bits set; did you mean ${network}/${prefixLength}?`,
    };
  }
  return { ok: true, cidr: { family, network: addr.value, prefixLength } };
}

/** The network of `addr` at `prefixLength` (host bits cleared). */
export function networkOf(addr: IpAddress, prefixLength: number): bigint {
  return addr.value & ~hostMask(addr.family, prefixLength);
}

/** A prefix of either family, told apart by a ':' in the address. Errors as parseCidr's. */
export function parseAnyCidr(text: string): CidrParse {
  return parseCidr(text, text.includes(':') ? 6 : 4);
}

/** The last address of the prefix (all host bits set). */
export function cidrLast(cidr: ParsedCidr): bigint {
  return cidr.network | hostMask(cidr.family, cidr.prefixLength);
}

/** True if the two prefixes share an address: prefixes are nested or disjoint, never partly overlapping. */
export function cidrOverlaps(a: ParsedCidr, b: ParsedCidr): boolean {
  if (a.family !== b.family) return false;
  const shorter = a.prefixLength <= b.prefixLength ? a : b;
  const longer = shorter === a ? b : a;
  return cidrContains(shorter, { family: longer.family, value: longer.network });
}

export function cidrContains(cidr: ParsedCidr, addr: IpAddress): boolean {
  if (cidr.family !== addr.family) return false;
  return (addr.value & ~hostMask(cidr.family, cidr.prefixLength)) === cidr.network;
}

/**
 * Why `addr` cannot be a member address in `cidr`, or null if it can. IPv4 reserves the network and
 * broadcast addresses (except in /31 and /32, RFC 3021); IPv6 reserves the all-zero host as the
 * subnet-router anycast address (RFC 4291 2.6.1), except in /127 and /128.
 */
export function reservedAddressReason(cidr: ParsedCidr, addr: IpAddress): string | null {
  const bits = addressBits(cidr.family);
  if (cidr.prefixLength >= bits - 1) return null;
  const prefix = formatCidr(toCidr(cidr));
  if (addr.value === cidr.network) {
    return cidr.family === 4
      ? `is the network address of ${prefix}`
      : `is the subnet-router anycast address of ${prefix}`;
  }
  if (cidr.family === 4 && addr.value === (cidr.network | hostMask(4, cidr.prefixLength))) {
    return `is the broadcast address of ${prefix}`;
  }
  return null;
}

/** The shape stored in OverlayConfig; the address is in canonical form. */
export function toCidr(cidr: ParsedCidr): Cidr {
  return {
    address: formatIp({ family: cidr.family, value: cidr.network }),
    prefixLength: cidr.prefixLength,
    family: cidr.family,
  };
}

export function formatCidr(cidr: Cidr): string {
  return `${cidr.address}/${cidr.prefixLength}`;
}
