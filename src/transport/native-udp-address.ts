// Address records of the native UDP binding (16 address bytes, port in network order, family,
// reserved; ADDR_BYTES) to and from endpoint text. On the send path a record is parsed once per
// endpoint and cached by the transport; on the receive path IPv6 sources are formatted once per source.
import { isIPv4, isIPv6 } from 'node:net';
import { formatIPv6Groups } from '../config/ip.js';
import type { Endpoint } from './transport.js';
import { ADDR_BYTES } from './native-udp-binding.js';

/** A parsed destination: its address record, ready to copy into a ring or pass to udp_send. */
export interface Dest {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
  readonly words: Uint32Array;
}

/** The address record for an IP literal endpoint; undefined for host names, zones or bad ports. */
export function parseDest(to: Endpoint): Dest | undefined {
  const port = to.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) return undefined;
  const bytes = new Uint8Array(ADDR_BYTES);
  const host = to.host;
  if (isIPv4(host)) {
    writeIPv4(host, bytes, 0);
    bytes[18] = 4;
  } else if (isIPv6(host) && !host.includes('%')) {
    writeIPv6(host, bytes);
    // An IPv4-mapped literal goes out of the IPv4 socket: the IPv6 one is IPV6_V6ONLY.
    if (bytes.subarray(0, 10).every((x) => x === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
      bytes.copyWithin(0, 12, 16);
      bytes.fill(0, 4, 16);
      bytes[18] = 4;
    } else {
      bytes[18] = 6;
    }
  } else {
    return undefined;
  }
  bytes[16] = port >> 8;
  bytes[17] = port & 0xff;
  return { family: bytes[18] === 4 ? 4 : 6, bytes, words: new Uint32Array(bytes.buffer) };
}

function writeIPv4(text: string, out: Uint8Array, at: number): void {
  const parts = text.split('.');
  for (let i = 0; i < 4; i++) out[at + i] = Number(parts[i]);
}

/** `text` must be a valid IPv6 literal without a zone (checked by the caller). */
function writeIPv6(text: string, out: Uint8Array): void {
  const groups = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const v4 = new Uint8Array(4);
        writeIPv4(g, v4, 0);
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  const gap = text.indexOf('::');
  const head = groups(gap < 0 ? text : text.slice(0, gap));
  const tail = gap < 0 ? [] : groups(text.slice(gap + 2));
  const all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  for (let i = 0; i < 8; i++) {
    out[2 * i] = all[i] >> 8;
    out[2 * i + 1] = all[i] & 0xff;
  }
}

/** RFC 5952 text of the 16 bytes at `o`, exactly as config/ip.ts formats addresses (shared code). */
export function formatIPv6(b: Uint8Array, o: number): string {
  if (b.subarray(o, o + 10).every((x) => x === 0) && b[o + 10] === 0xff && b[o + 11] === 0xff) {
    return `::ffff:${b[o + 12]}.${b[o + 13]}.${b[o + 14]}.${b[o + 15]}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((b[o + 2 * i] << 8) | b[o + 2 * i + 1]);
  return formatIPv6Groups(groups);
}
