// The `network:` block of peers.yaml: overlay prefixes, default port, MTU, neighbour set size, WebSocket
// transport, NAT keepalive interval.
import { DEFAULT_MTU, MAX_MTU, MIN_MTU } from '../wire/sizes.js';
import { parseCidr, toCidr, type ParsedCidr } from './cidr.js';
import { MAX_NEIGHBOURS } from './neighbours.js';
import type { NetworkConfig } from './types.js';
import type { ConfigReader, Field } from './yaml-reader.js';

export const DEFAULT_PORT = 7946;

/** Below the ~30 s after which common UDP NATs forget an idle mapping. */
export const DEFAULT_NAT_KEEPALIVE_S = 25;
export const MIN_NAT_KEEPALIVE_S = 5;
export const MAX_NAT_KEEPALIVE_S = 300;

const NETWORK_FIELDS = [
  'prefix',
  'prefix6',
  'port',
  'mtu',
  'neighbours',
  'tcpPort',
  'tls',
  'natKeepalive',
  'mssClamp',
] as const;
const TLS_FIELDS = ['cert', 'key'] as const;

export interface NetworkCheck {
  /** The validated block with defaults applied; null if anything in it was wrong. */
  network: NetworkConfig | null;
  /** Null when the prefix is missing or invalid: address checks against it are then skipped. */
  prefix: ParsedCidr | null;
  /** Undefined when prefix6 is not written; null when it is written but unusable. */
  prefix6: ParsedCidr | null | undefined;
  /** The port for endpoints written without one (the default when network.port itself is wrong). */
  port: number;
}

function readPrefix(reader: ConfigReader, field: Field, family: 4 | 6): ParsedCidr | null {
  const text = reader.string(field);
  if (text === null) return null;
  const parsed = parseCidr(text, family);
  if (parsed.ok) return parsed.cidr;
  const hint = family === 4 && /:/.test(text) ? ' (an IPv6 prefix goes in network.prefix6)' : '';
  reader.report(field.line, field.path, parsed.error + hint);
  return null;
}

/** `tls: {cert, key}`: two file paths (read, and the key's mode checked, when the daemon starts). */
function readTls(reader: ConfigReader, field: Field): { cert: string; key: string } | null {
  const map = reader.map(field);
  if (map === null) return null;
  const fields = reader.fields(map, field.path, field.line, TLS_FIELDS, TLS_FIELDS);
  const cert = fields.get('cert');
  const key = fields.get('key');
  const certPath = cert === undefined ? null : reader.string(cert);
  const keyPath = key === undefined ? null : reader.string(key);
  return certPath !== null && keyPath !== null ? { cert: certPath, key: keyPath } : null;
}

export function validateNetwork(reader: ConfigReader, field: Field): NetworkCheck {
  const map = reader.map(field);
  if (map === null) return { network: null, prefix: null, prefix6: null, port: DEFAULT_PORT };

  const before = reader.problems.length;
  const fields = reader.fields(map, 'network', field.line, NETWORK_FIELDS, ['prefix']);

  const prefixField = fields.get('prefix');
  const prefix = prefixField === undefined ? null : readPrefix(reader, prefixField, 4);
  const prefix6Field = fields.get('prefix6');
  const prefix6 = prefix6Field === undefined ? undefined : readPrefix(reader, prefix6Field, 6);
  const portField = fields.get('port');
  const port = portField === undefined ? DEFAULT_PORT : reader.integer(portField, 1, 65535);
  const mtuField = fields.get('mtu');
  const mtu = mtuField === undefined ? DEFAULT_MTU : reader.integer(mtuField, MIN_MTU, MAX_MTU);
  const neighboursField = fields.get('neighbours');
  const neighbours =
    neighboursField === undefined ? undefined : reader.integer(neighboursField, 0, MAX_NEIGHBOURS);

  const tcpPortField = fields.get('tcpPort');
  const tcpPort = tcpPortField === undefined ? undefined : reader.integer(tcpPortField, 0, 65535);
  const tlsField = fields.get('tls');
  const tls = tlsField === undefined ? undefined : readTls(reader, tlsField);

  const keepaliveField = fields.get('natKeepalive');
  const natKeepalive =
    keepaliveField === undefined
      ? undefined
      : reader.integer(keepaliveField, MIN_NAT_KEEPALIVE_S, MAX_NAT_KEEPALIVE_S);

  const clampField = fields.get('mssClamp');
  const mssClamp = clampField === undefined ? undefined : reader.boolean(clampField);

  const ok =
    reader.problems.length === before &&
    mssClamp !== null &&
    prefix !== null &&
    port !== null &&
    mtu !== null &&
    neighbours !== null &&
    natKeepalive !== null;
  const network: NetworkConfig | null = ok
    ? {
        prefix: toCidr(prefix),
        ...(prefix6 ? { prefix6: toCidr(prefix6) } : {}),
        port,
        mtu,
        ...(neighbours !== undefined && neighbours !== null ? { neighbours } : {}),
        ...(tcpPort !== undefined && tcpPort !== null ? { tcpPort } : {}),
        ...(tls ? { tls } : {}),
        ...(natKeepalive !== undefined && natKeepalive !== null ? { natKeepalive } : {}),
        ...(mssClamp ? { mssClamp } : {}),
      }
    : null;
  return { network, prefix, prefix6, port: port ?? DEFAULT_PORT };
}
