// Whether the kernel forwards packets between interfaces: a gateway (a member listing subnets) needs it
// to pass what comes out of the TUN on to its LAN. The daemon does not switch it on itself — it is a
// host-wide decision with security weight (the host becomes a router for everything it can reach) —
// but says so when a subnet cannot work without it.
import { readFileSync } from 'node:fs';

export interface Forwarding {
  /** net.ipv4.ip_forward; undefined when it cannot be read. */
  ipv4: boolean | undefined;
  /** net.ipv6.conf.all.forwarding. */
  ipv6: boolean | undefined;
}

function readFlag(path: string): boolean | undefined {
  try {
    return readFileSync(path, 'utf8').trim() !== '0';
  } catch {
    return undefined;
  }
}

export function readForwarding(): Forwarding {
  return {
    ipv4: readFlag('/proc/sys/net/ipv4/ip_forward'),
    ipv6: readFlag('/proc/sys/net/ipv6/conf/all/forwarding'),
  };
}

/** The sysctl to set for `family`, for messages. */
export function forwardingSysctl(family: 4 | 6): string {
  return family === 4 ? 'net.ipv4.ip_forward=1' : 'net.ipv6.conf.all.forwarding=1';
}
