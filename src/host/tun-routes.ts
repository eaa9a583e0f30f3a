// The kernel routes that send traffic for other members' subnets into our TUN, so that
// `ssh 192.168.50.10` on this host enters the overlay. Added with iproute2's `ip route` (netlink without
// a native addon of our own; every Linux host that runs a TUN has it) and tagged with our own protocol
// number, ROUTE_PROTO, so that ours are told from everyone else's: `ip route show proto 77` lists them,
// and we delete only routes that are on our TUN AND carry our tag.
//
// Policy, towards routes the operator (or another daemon) already has:
//   - an identical route (same prefix and metric in the main table: a LAN this host is on, a static
//     route, a VPN's) makes ours fail with "File exists". We keep theirs, do not route the subnet through
//     the overlay, log it once and show it in `status` ("conflict"); never replaced, never deleted.
//   - a route for the same prefix with another metric coexists with ours; the kernel uses the lower
//     metric (ours: the kernel default, 0 for IPv4 and 1024 for IPv6). `status` names the other route.
//   - a more specific route (e.g. a /25 inside our /24) wins for its addresses, as longest-prefix match
//     does everywhere; we do not look for those.
// Ours are removed at exit and on reload when no member lists the subnet any more; a crash leaves none,
// because the kernel deletes a device's routes with the device, and the TUN goes with the process.
// Setting the TUN down also flushes them: audit() puts back what went missing.
import { formatCidr } from '../config/cidr.js';
import type { Cidr } from '../config/types.js';
import type { Logger } from '../log.js';
import { firstLine, type CommandRunner } from './command.js';

/** Protocol number of our routes (rtnetlink rtm_protocol); unassigned in /etc/iproute2/rt_protos. */
export const ROUTE_PROTO = 77;

export type RouteStateKind = 'installed' | 'conflict' | 'failed';

export interface RouteState {
  state: RouteStateKind;
  /** Why not installed, or another route for the same prefix beside ours. */
  detail?: string;
}

/** One entry of `ip -j route show`. */
interface IpRoute {
  dst?: string;
  dev?: string;
  gateway?: string;
  protocol?: string;
  metric?: number;
  type?: string;
}

export class TunRoutes {
  private wanted = new Map<string, Cidr>();
  private readonly states = new Map<string, RouteState>();

  constructor(
    private readonly dev: string,
    private readonly run: CommandRunner,
    private readonly log: Logger,
  ) {}

  /** Makes our routes exactly `prefixes`: adds the missing ones, deletes ours for anything else. */
  async sync(prefixes: readonly Cidr[]): Promise<void> {
    const next = new Map(prefixes.map((p) => [formatCidr(p), p]));
    for (const [text, cidr] of this.wanted) if (!next.has(text)) await this.remove(text, cidr);
    this.wanted = next;
    for (const [text, cidr] of next)
      if (this.states.get(text)?.state !== 'installed') await this.add(text, cidr);
  }

  /**
   * Puts back routes of ours that disappeared (the TUN was set down and up, someone deleted one) and
   * retries those that could not be added. Quiet when nothing changed.
   */
  async audit(): Promise<void> {
    if (this.wanted.size === 0) return;
    const present = new Set<string>();
    for (const family of [4, 6] as const) {
      const r = await this.ip(family, ['route', 'show', 'dev', this.dev, 'proto', String(ROUTE_PROTO)]);
      if (r === undefined) return; // not listable (device gone): nothing to put back onto
      for (const route of r) if (route.dst) present.add(route.dst);
    }
    for (const [text, cidr] of this.wanted) {
      const state = this.states.get(text);
      if (state?.state === 'installed' && present.has(text)) continue;
      if (state?.state === 'installed') {
        this.log.warn(
          `route ${text} dev ${this.dev} was removed by someone else (interface set down?); adding it again`,
        );
        this.states.delete(text);
      }
      await this.add(text, cidr);
    }
  }

  /** Deletes every route of ours (exit). */
  async removeAll(): Promise<void> {
    for (const [text, cidr] of this.wanted) await this.remove(text, cidr);
    this.wanted.clear();
  }

  state(prefix: string): RouteState | undefined {
    return this.states.get(prefix);
  }

  private async add(text: string, cidr: Cidr): Promise<void> {
    const before = this.states.get(text);
    const r = await this.run(
      this.argv(cidr.family, ['route', 'add', text, 'dev', this.dev, 'proto', String(ROUTE_PROTO)]),
    );
    let next: RouteState;
    if (r.code === 0 || /File exists/.test(r.stderr)) {
      const routes = (await this.ip(cidr.family, ['route', 'show', 'exact', text])) ?? [];
      const others = routes.filter((x) => !this.isOurs(x));
      if (r.code === 0 || routes.some((x) => this.isOurs(x))) {
        next =
          others.length === 0
            ? { state: 'installed' }
            : { state: 'installed', detail: `also ${describe(others[0])}` };
      } else {
        next = {
          state: 'conflict',
          detail: `${others.length > 0 ? describe(others[0]) : 'an existing route'} kept; not routed through the overlay`,
        };
      }
    } else {
      const why = r.missing ? 'the `ip` command (iproute2) is not installed' : firstLine(r.stderr);
      next = { state: 'failed', detail: why };
    }
    this.states.set(text, next);
    if (before?.state === next.state && before.detail === next.detail) return;
    if (next.state === 'installed') {
      this.log.info(
        `route ${text} dev ${this.dev} proto ${ROUTE_PROTO} added${next.detail ? ` (${next.detail}; the lower metric wins)` : ''}`,
      );
    } else if (next.state === 'conflict') {
      this.log.warn(`subnet ${text}: this host already routes it (${next.detail})`);
    } else {
      this.log.error(`subnet ${text}: cannot add route dev ${this.dev}: ${next.detail}`);
    }
  }

  private async remove(text: string, cidr: Cidr): Promise<void> {
    const state = this.states.get(text);
    this.states.delete(text);
    if (state?.state !== 'installed') return;
    const r = await this.run(
      this.argv(cidr.family, ['route', 'del', text, 'dev', this.dev, 'proto', String(ROUTE_PROTO)]),
    );
    if (r.code === 0) this.log.info(`route ${text} dev ${this.dev} removed`);
    // "No such process": already gone (the interface went down, or someone deleted it): nothing to do.
    else if (!/No such process|Cannot find device/.test(r.stderr)) {
      this.log.warn(`route ${text} dev ${this.dev}: cannot remove: ${firstLine(r.stderr)}`);
    }
  }

  private isOurs(route: IpRoute): boolean {
    return route.dev === this.dev && route.protocol === String(ROUTE_PROTO);
  }

  /** `ip -j` output parsed; undefined when the command failed. */
  private async ip(family: 4 | 6, args: string[]): Promise<IpRoute[] | undefined> {
    const r = await this.run(['ip', '-j', ...this.argv(family, args).slice(1)]);
    if (r.code !== 0) return undefined;
    try {
      const parsed: unknown = JSON.parse(r.stdout || '[]');
      return Array.isArray(parsed) ? (parsed as IpRoute[]) : undefined;
    } catch {
      return undefined;
    }
  }

  private argv(family: 4 | 6, args: string[]): string[] {
    return ['ip', family === 4 ? '-4' : '-6', ...args];
  }
}

/** A route as `ip route` would print its essentials. */
function describe(r: IpRoute): string {
  const parts = [`route ${r.dst ?? '?'}`];
  if (r.gateway) parts.push(`via ${r.gateway}`);
  if (r.dev) parts.push(`dev ${r.dev}`);
  if (r.protocol) parts.push(`proto ${r.protocol}`);
  parts.push(`metric ${r.metric ?? 0}`);
  return parts.join(' ');
}
