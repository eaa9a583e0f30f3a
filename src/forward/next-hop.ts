// Where a packet for a destination goes first: the one place that turns routing's choice (a path of
// member ids) into an underlay endpoint, with the fallbacks used before routing knows a path.
import type { NodeId } from '../identity/node-id.js';
import type { Endpoint } from '../transport/transport.js';
import type { ForwardContext } from './context.js';
import type { PathPort } from './ports.js';

/** Where to send a packet for a destination: relays to list, and the underlay endpoint of the first hop. */
export interface Target {
  relays: readonly NodeId[];
  nextHop: NodeId;
  endpoint: Endpoint;
}

export class NextHops {
  // The relay list of each selected path, computed once per path object (paths are replaced, not mutated).
  private readonly relaysOf = new WeakMap<PathPort, NodeId[]>();

  constructor(private readonly ctx: ForwardContext) {}

  /** The underlay endpoint of our direct link to `member`, if the prober says that link is alive. */
  liveEndpoint(member: NodeId): Endpoint | undefined {
    const link = this.ctx.prober.link(member);
    return link?.alive ? this.ctx.peers.endpoint(link.endpointKey) : undefined;
  }

  /** The first hop and relay list for `dst`: routing's choice, else direct, else a reverse route. */
  target(dst: NodeId, now: number): Target | undefined {
    const path = this.ctx.router.route(dst);
    if (path && path.nodes.length >= 2) {
      const nextHop = path.nodes[1];
      const endpoint = this.liveEndpoint(nextHop);
      if (endpoint) return { relays: this.relaysFor(path), nextHop, endpoint };
    }
    const direct = this.liveEndpoint(dst);
    if (direct) return { relays: [], nextHop: dst, endpoint: direct };
    const hint = this.ctx.peers.reverseRoute(dst, now);
    if (hint) return { relays: hint.relays, nextHop: hint.relays[0] ?? dst, endpoint: hint.via };
    return undefined;
  }

  private relaysFor(path: PathPort): NodeId[] {
    let relays = this.relaysOf.get(path);
    if (!relays) {
      relays = path.nodes.slice(1, -1);
      this.relaysOf.set(path, relays);
    }
    return relays;
  }
}
