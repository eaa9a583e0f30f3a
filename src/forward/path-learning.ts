// What an authenticated packet teaches us about the way back to its source: a direct packet makes its
// underlay source address a neighbour endpoint of that member (which the prober then measures); a
// relayed one gives a reverse route to use until routing has a path of its own.
import type { NodeId } from '../identity/node-id.js';
import type { Endpoint } from '../transport/transport.js';
import { routeAt, type RoutedHeader } from '../wire/routed-header.js';
import type { ForwardContext } from './context.js';

export class PathLearning {
  constructor(private readonly ctx: ForwardContext) {}

  /** An authenticated packet from `h.src` arrived from `from`. */
  learn(data: Buffer, h: RoutedHeader, from: Endpoint, now: number): void {
    if (h.routeLen === 0) this.direct(h.src, from, now);
    else this.ctx.peers.noteReverseRoute(h.src, reverseRelays(data, h), from, now);
  }

  /** An authenticated packet arrived straight from `member` at `from`: a neighbour endpoint. */
  direct(member: NodeId, from: Endpoint, now: number): void {
    const key = this.ctx.peers.internEndpoint(from);
    if (this.ctx.peers.authenticate(key, member)) this.ctx.prober.learnEndpoint(member, key, now);
  }
}

/** The relays of an inbound packet's route, in reverse: the way back to its source. */
export function reverseRelays(data: Buffer, h: RoutedHeader): NodeId[] {
  const out: NodeId[] = [];
  for (let i = h.routeLen - 1; i >= 0; i--) out.push(routeAt(data, i));
  return out;
}
