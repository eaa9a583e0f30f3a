// `--metrics HOST:PORT`: where the exporter listens. IPv4 `127.0.0.1:9477`, IPv6 in brackets
// `[::1]:9477`, or a host name (`localhost:9477`). The default is loopback: the exporter says a lot
// about the network (members, paths, RTTs), so exposing it is a decision the operator makes, e.g. by
// binding the node's overlay address so only members can scrape it.
import { isIP } from 'node:net';
import { OverlayError } from '../errors.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export const DEFAULT_METRICS_LISTEN = '127.0.0.1:9477';

export function parseListenAddress(text: string, flag = '--metrics'): ListenAddress {
  const bad = (why: string): OverlayError =>
    new OverlayError(
      'ERR_USAGE',
      `${flag} ${JSON.stringify(text)}: ${why} (expected HOST:PORT, e.g. 127.0.0.1:9477 or [::1]:9477)`,
    );
  let host: string;
  let portText: string;
  const v6 = /^\[([^\]]*)\]:(.*)$/.exec(text);
  if (v6) {
    [, host, portText] = v6;
    if (isIP(host) !== 6) throw bad(`${JSON.stringify(host)} is not an IPv6 address`);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) throw bad('no port');
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) throw bad('write IPv6 addresses in brackets');
    if (host === '') throw bad('no host');
    if (isIP(host) === 0 && !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(host))
      throw bad(`${JSON.stringify(host)} is not an address or host name`);
  }
  if (!/^\d{1,5}$/.test(portText)) throw bad(`port ${JSON.stringify(portText)} is not a number`);
  const port = Number(portText);
  // Port 0 (any free port) is accepted: tests use it, and the log says which port was taken.
  if (port > 65535) throw bad(`port ${port} is out of range 0..65535`);
  return { host, port };
}

/** `host:port`, with IPv6 hosts in brackets (the form a URL and a Prometheus target take). */
export function formatListenAddress({ host, port }: ListenAddress): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}
