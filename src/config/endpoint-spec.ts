// Underlay endpoints as written in peers.yaml:
//
//   198.51.100.7:7946   [2001:db8::7]:7946   site-b.example.net:7000     (host and port)
//   203.0.113.9         [2001:db8::7]        site-b.example.net          (port = network.port)
//
// IPv6 always takes brackets: without them "2001:db8::7:7946" could be an address or an address and
// a port.
//
// Host names are lowercased and only checked for syntax here. They are resolved when the daemon
// starts: a loader that did DNS would make `overlayd check` slow and dependent on where it runs.
import { formatIp, isIPv4Mapped, parseIPv4, parseIPv6, type IpAddress } from './ip.js';

export type EndpointParse = { ok: true; host: string; port: number } | { ok: false; error: string };

const IPV6_HINT = 'write IPv6 endpoints as [address]:port';
const MAX_HOSTNAME = 253;
const MAX_LABEL = 63;

function fail(error: string): EndpointParse {
  return { ok: false, error };
}

function parsePort(text: string): number | string {
  if (text === '') return 'port is empty';
  if (!/^\d+$/.test(text)) return `port ${JSON.stringify(text)} is not a number`;
  const port = Number(text);
  if (port < 1 || port > 65535) return `port ${text} is out of range 1..65535`;
  return port;
}

/** RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens. */
function hostnameProblem(host: string): string | null {
  if (/[^a-z0-9.-]/i.test(host)) {
    return `host name ${JSON.stringify(host)} may only contain letters, digits, '-' and '.'`;
  }
  if (host.length > MAX_HOSTNAME) return `host name is longer than ${MAX_HOSTNAME} characters`;
  // One trailing dot marks a fully-qualified name; it is not an empty label.
  const labels = (host.endsWith('.') ? host.slice(0, -1) : host).split('.');
  for (const label of labels) {
    if (label === '') return `host name ${JSON.stringify(host)} has an empty label`;
    if (label.length > MAX_LABEL) return `host name label is longer than ${MAX_LABEL} characters`;
    if (label.startsWith('-') || label.endsWith('-')) {
      return `host name label ${JSON.stringify(label)} starts or ends with '-'`;
    }
  }
  return null;
}

/**
 * Canonical IPv6 host text (compressed, lowercase). An IPv4-mapped literal becomes plain IPv4, the
 * form the transport reports for datagrams from that address, so the two compare equal.
 */
function ipv6Host(text: string): string | null {
  const value = parseIPv6(text);
  if (value === null) return null;
  const addr: IpAddress = { family: 6, value };
  return isIPv4Mapped(addr) ? formatIp({ family: 4, value: value & 0xffffffffn }) : formatIp(addr);
}

function hostAndPort(host: string, portText: string | undefined, defaultPort: number): EndpointParse {
  let port = defaultPort;
  if (portText !== undefined) {
    const parsed = parsePort(portText);
    if (typeof parsed === 'string') return fail(parsed);
    port = parsed;
  }
  if (host === '') return fail('host is empty');
  // All digits and dots can only be meant as IPv4; don't let "300.1.1.1" pass as a host name.
  if (/^[\d.]+$/.test(host)) {
    return parseIPv4(host) === null
      ? fail(`${JSON.stringify(host)} is not a valid IPv4 address`)
      : { ok: true, host, port };
  }
  const problem = hostnameProblem(host);
  if (problem !== null) return fail(problem);
  return { ok: true, host: host.toLowerCase(), port };
}

/**
 * Several colons without brackets. Always refused: "2001:db8::7:7946" is both the address
 * 2001:db8::7:7946 and 2001:db8::7 port 7946, and guessing wrong sends probes to the wrong place.
 */
function unbracketedIPv6(text: string): string {
  const colon = text.lastIndexOf(':');
  const lastGroup = text.slice(colon + 1);
  const shorter = ipv6Host(text.slice(0, colon));
  if (/^\d{1,5}$/.test(lastGroup) && shorter !== null && ipv6Host(text) !== null) {
    return (
      `is ambiguous without brackets (the address ${ipv6Host(text)}, or ${shorter} port ${lastGroup}?); ` +
      `write [${shorter}]:${lastGroup} or [${ipv6Host(text)}]`
    );
  }
  const host = ipv6Host(text);
  return host === null
    ? `not an IPv6 address; ${IPV6_HINT}`
    : `an IPv6 endpoint needs brackets: write [${host}]:port, or [${host}] for network.port`;
}

/** Parses one endpoint. Errors are phrased to follow the quoted endpoint text. */
export function parseEndpointSpec(text: string, defaultPort: number): EndpointParse {
  if (text.trim() === '') return fail('empty endpoint');
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return fail(`unbalanced '['; ${IPV6_HINT}`);
    const rest = text.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) return fail(`expected ':port' after ']'`);
    const inner = text.slice(1, close);
    const host = ipv6Host(inner);
    if (host === null) return fail(`${JSON.stringify(inner)} in brackets is not an IPv6 address`);
    if (rest === '') return { ok: true, host, port: defaultPort };
    const port = parsePort(rest.slice(1));
    return typeof port === 'string' ? fail(port) : { ok: true, host, port };
  }
  if (text.includes(']')) return fail(`unbalanced ']'; ${IPV6_HINT}`);
  const colons = text.split(':').length - 1;
  if (colons > 1) return fail(unbracketedIPv6(text));
  if (colons === 1) {
    const colon = text.indexOf(':');
    return hostAndPort(text.slice(0, colon), text.slice(colon + 1), defaultPort);
  }
  return hostAndPort(text, undefined, defaultPort);
}
