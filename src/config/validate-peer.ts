// One entry of `peers:` checked on its own. Checks across members (duplicates, NodeId collisions)
// are in validate-peers.ts; this file only needs the network block the entry must fit into.
import { isMap, type Node } from 'yaml';
import { PUBLIC_KEY_BYTES } from '../identity/keys.js';
import { endpointKey } from '../transport/transport.js';
import { cidrContains, formatCidr, reservedAddressReason, toCidr, type ParsedCidr } from './cidr.js';
import { parseEndpointSpec } from './endpoint-spec.js';
import { formatIp, parseIPv4, parseIPv6, type IpAddress } from './ip.js';
import type { EndpointSpec } from './types.js';
import type { NetworkCheck } from './validate-network.js';
import { readSubnets, type SubnetDraft } from './validate-subnets.js';
import { describe, type ConfigReader, type Field } from './yaml-reader.js';

const PEER_FIELDS = ['name', 'publicKey', 'address', 'address6', 'endpoints', 'subnets'] as const;
const REQUIRED_FIELDS = ['name', 'publicKey', 'address'];

/** Short enough for a log column and an interface label; no spaces or slashes so it is never quoted. */
const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/i;
const BASE64_RE = /^[A-Za-z0-9+/]+={0,2}$/;

export interface Located<T> {
  value: T;
  line: number;
}

/** What could be read from one entry; a part is null if it was missing or wrong (already reported). */
export interface PeerDraft {
  /** `peers[i]`, the prefix of every field path of this entry. */
  path: string;
  line: number;
  name: Located<string> | null;
  publicKey: Located<Buffer> | null;
  /** Canonical forms, so duplicates are found however they were written. */
  address: Located<string> | null;
  address6: Located<string> | null | undefined;
  endpoints: EndpointSpec[] | null;
  subnets: SubnetDraft[] | null;
}

function readName(reader: ConfigReader, field: Field): Located<string> | null {
  const name = reader.string(field);
  if (name === null) return null;
  if (NAME_RE.test(name)) return { value: name, line: field.line };
  reader.report(
    field.line,
    field.path,
    `${JSON.stringify(name)} is not a valid name (use 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit)`,
  );
  return null;
}

function readPublicKey(reader: ConfigReader, field: Field): Located<Buffer> | null {
  const text = reader.string(field);
  if (text === null) return null;
  const trimmed = text.trim();
  const bytes = Buffer.from(trimmed, 'base64');
  // Buffer.from skips characters it does not understand, so also require that re-encoding gives
  // back exactly what was written: a truncated or mistyped key must not decode to something else.
  if (!BASE64_RE.test(trimmed) || bytes.toString('base64') !== trimmed) {
    reader.report(field.line, field.path, 'not a base64-encoded 32-byte key');
    return null;
  }
  if (bytes.length !== PUBLIC_KEY_BYTES) {
    reader.report(
      field.line,
      field.path,
      `not a base64-encoded 32-byte key: it decodes to ${bytes.length} bytes`,
    );
    return null;
  }
  return { value: bytes, line: field.line };
}

function checkInPrefix(
  reader: ConfigReader,
  field: Field,
  addr: IpAddress,
  prefix: ParsedCidr,
  prefixName: string,
): boolean {
  const text = formatIp(addr);
  if (!cidrContains(prefix, addr)) {
    reader.report(field.line, field.path, `${text} is outside ${prefixName} ${formatCidr(toCidr(prefix))}`);
    return false;
  }
  const reserved = reservedAddressReason(prefix, addr);
  if (reserved !== null) {
    reader.report(field.line, field.path, `${text} ${reserved}`);
    return false;
  }
  return true;
}

function readAddress(reader: ConfigReader, field: Field, net: NetworkCheck): Located<string> | null {
  const text = reader.string(field);
  if (text === null) return null;
  const value = parseIPv4(text);
  if (value === null) {
    const hint = parseIPv6(text) === null ? '' : ' (an IPv6 address goes in address6)';
    reader.report(field.line, field.path, `${JSON.stringify(text)} is not an IPv4 address${hint}`);
    return null;
  }
  const addr: IpAddress = { family: 4, value };
  if (net.prefix !== null && !checkInPrefix(reader, field, addr, net.prefix, 'network.prefix')) return null;
  return { value: formatIp(addr), line: field.line };
}

function readAddress6(reader: ConfigReader, field: Field, net: NetworkCheck): Located<string> | null {
  const text = reader.string(field);
  if (text === null) return null;
  if (net.prefix6 === undefined) {
    reader.report(field.line, field.path, 'not allowed: network.prefix6 is not set');
    return null;
  }
  const value = parseIPv6(text);
  if (value === null) {
    reader.report(field.line, field.path, `${JSON.stringify(text)} is not an IPv6 address`);
    return null;
  }
  const addr: IpAddress = { family: 6, value };
  if (net.prefix6 !== null && !checkInPrefix(reader, field, addr, net.prefix6, 'network.prefix6'))
    return null;
  return { value: formatIp(addr), line: field.line };
}

function readEndpoint(reader: ConfigReader, item: Field, port: number): EndpointSpec | null {
  const text = reader.string(item);
  if (text === null) return null;
  const parsed = parseEndpointSpec(text, port);
  if (!parsed.ok) {
    reader.report(item.line, item.path, `${JSON.stringify(text)}: ${parsed.error}`);
    return null;
  }
  return { host: parsed.host, port: parsed.port, line: item.line };
}

function readEndpoints(reader: ConfigReader, field: Field, port: number): EndpointSpec[] | null {
  const seq = reader.seq(field, '');
  if (seq === null) return null;
  const endpoints: EndpointSpec[] = [];
  const seen = new Map<string, Field>();
  let ok = true;
  seq.items.forEach((node, i) => {
    const item: Field = {
      path: `${field.path}[${i}]`,
      line: reader.lineOf(node, field.line),
      value: reader.resolve(node),
    };
    const endpoint = readEndpoint(reader, item, port);
    if (endpoint === null) {
      ok = false;
      return;
    }
    const key = endpointKey(endpoint);
    const first = seen.get(key);
    if (first !== undefined) {
      reader.report(
        item.line,
        item.path,
        `duplicate endpoint ${key} (same as ${first.path} at line ${first.line})`,
      );
      ok = false;
      return;
    }
    seen.set(key, item);
    endpoints.push(endpoint);
  });
  return ok ? endpoints : null;
}

/** Reads `peers[index]`; null if the entry is not a mapping at all. */
export function validatePeer(
  reader: ConfigReader,
  node: Node | null,
  line: number,
  index: number,
  net: NetworkCheck,
): PeerDraft | null {
  const path = `peers[${index}]`;
  if (!isMap(node)) {
    reader.report(line, path, `expected a mapping with ${REQUIRED_FIELDS.join(', ')}, got ${describe(node)}`);
    return null;
  }
  const fields = reader.fields(node, path, line, PEER_FIELDS, REQUIRED_FIELDS);
  const read = <T>(name: string, fn: (f: Field) => T): T | null => {
    const field = fields.get(name);
    return field === undefined ? null : fn(field);
  };
  const address6Field = fields.get('address6');
  return {
    path,
    line,
    name: read('name', (f) => readName(reader, f)),
    publicKey: read('publicKey', (f) => readPublicKey(reader, f)),
    address: read('address', (f) => readAddress(reader, f, net)),
    address6: address6Field === undefined ? undefined : readAddress6(reader, address6Field, net),
    endpoints: fields.has('endpoints') ? read('endpoints', (f) => readEndpoints(reader, f, net.port)) : [],
    subnets: fields.has('subnets') ? read('subnets', (f) => readSubnets(reader, f, net)) : [],
  };
}
