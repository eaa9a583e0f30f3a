// An underlay endpoint (address + UDP port) as bytes, for the messages that carry endpoints: probe
// replies (the observed source), punch requests and adverts (reflexive endpoints). One layout:
//
//   u8 family (4 | 6) | address (4 | 16 bytes) | u16 port (1–65535)
//
// Decoding is bounds checked against the end of the message and returns undefined for anything
// malformed (unknown family, truncated, port 0): the caller counts and drops. Keys use the one text
// form of the transport (endpointKey), so a decoded endpoint compares equal with the ones we know.
import { formatIp, isIPv4Mapped, parseIp } from '../config/ip.js';
import { endpointKey, type Endpoint } from '../transport/transport.js';

/** Largest encoded endpoint (IPv6). */
export const ENDPOINT_MAX_BYTES = 1 + 16 + 2;

/** The endpoint of a key ("1.2.3.4:5", "[fd00::1]:5"), or undefined when it is not one. */
export function parseEndpointKey(key: string): Endpoint | undefined {
  const colon = key.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const port = Number(key.slice(colon + 1));
  if (!Number.isInteger(port) || port < 1 || port > 0xffff) return undefined;
  const bracketed = key.startsWith('[') && key[colon - 1] === ']';
  const host = bracketed ? key.slice(1, colon - 1) : key.slice(0, colon);
  const ip = parseIp(host);
  if (!ip || (ip.family === 6 && !bracketed)) return undefined;
  return { host: formatIp(ip), port };
}

/**
 * Both directions are pure and memoized: every probe echo writes the prober's observed address and
 * every probe reply reads it back (20 a second per endpoint of a link in use), and parsing the text
 * form through BigInt was 3–5 % of a daemon's JavaScript samples while a ping ran. A write and a read
 * of an IPv4 endpoint took 2.5 µs, 0.4 µs memoized (IPv6: 4.5 and 0.7; optimized code, more in the
 * baseline code an idle daemon runs). Bounded: emptied when full, so a member sending endless
 * distinct endpoints costs what it did without the memo. null: not an endpoint.
 */
const MEMO_MAX = 1024;
const encodings = new Map<string, Uint8Array | null>();
const keysByEncoding = new Map<string, string | null>();

function remember<V>(memo: Map<string, V>, k: string, v: V): V {
  if (memo.size >= MEMO_MAX) memo.clear();
  memo.set(k, v);
  return v;
}

/** `key` encoded, or null when it is not an endpoint. */
function encoding(key: string): Uint8Array | null {
  const known = encodings.get(key);
  if (known !== undefined) return known;
  const e = parseEndpointKey(key);
  const ip = e && parseIp(e.host);
  if (!e || !ip) return remember(encodings, key, null);
  const n = ip.family === 4 ? 4 : 16;
  const out = new Uint8Array(n + 3);
  out[0] = ip.family;
  let v = ip.value;
  for (let i = n - 1; i >= 0; i--) {
    out[1 + i] = Number(v & 0xffn);
    v >>= 8n;
  }
  out[1 + n] = e.port >> 8;
  out[2 + n] = e.port & 0xff;
  return remember(encodings, key, out);
}

/** Bytes `key` takes encoded, or 0 when it is not an endpoint. */
export function endpointBytes(key: string): number {
  return encoding(key)?.byteLength ?? 0;
}

/** Writes `key` at `offset`; returns the offset after it, or -1 when it is not an endpoint. */
export function writeEndpoint(out: Uint8Array, offset: number, key: string): number {
  const e = encoding(key);
  if (!e || offset + e.byteLength > out.byteLength) return -1;
  out.set(e, offset);
  return offset + e.byteLength;
}

/** Reads an endpoint at `offset` within [offset, end); undefined when malformed or truncated. */
export function readEndpoint(
  buf: Uint8Array,
  offset: number,
  end: number,
): { key: string; next: number } | undefined {
  if (offset >= end) return undefined;
  const family = buf[offset];
  if (family !== 4 && family !== 6) return undefined;
  const next = offset + 3 + (family === 4 ? 4 : 16);
  if (next > end) return undefined;
  const bytes = String.fromCharCode(...buf.subarray(offset, next));
  let key = keysByEncoding.get(bytes);
  if (key === undefined) key = remember(keysByEncoding, bytes, decodeKey(buf, offset, family));
  return key === null ? undefined : { key, next };
}

function decodeKey(buf: Uint8Array, offset: number, family: 4 | 6): string | null {
  const n = family === 4 ? 4 : 16;
  let value = 0n;
  for (let i = 0; i < n; i++) value = (value << 8n) | BigInt(buf[offset + 1 + i]);
  const port = (buf[offset + 1 + n] << 8) | buf[offset + 2 + n];
  if (port === 0) return null;
  const ip = { family, value };
  // The transport reports IPv4-mapped sources as plain IPv4: so do we, or keys would not compare.
  const host = isIPv4Mapped(ip) ? formatIp({ family: 4, value: value & 0xffffffffn }) : formatIp(ip);
  return endpointKey({ host, port });
}
