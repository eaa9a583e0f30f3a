// Forwarding for others. A relay reads only the cleartext routed header: it cannot open the payload,
// and the destination would detect any change to src, dst or the sealed body.
//
//   1. src and dst must be members, and the route must name us as the next relay (the parser already
//      refused routes that repeat an id or name src or dst, so a packet crosses each relay once)
//   2. the packet must come from the previous hop: the address it came from must be proven to belong
//      to route[pos-1], or to src when we are the first relay (endpoint-bindings.ts). Strangers can't
//      use us as a free relay or reflector, and a member can't inject mid-route in another's name
//   3. the hop limit bounds what a bad route could do
//   4. the next hop is the following relay, or dst after the last one
//   5. if our link to the next hop is dead, repair locally: splice our own best path to dst into the
//      route instead of dropping, so traffic survives until the source hears of the failure
import type { NodeId } from '../identity/node-id.js';
import { endpointKey, type Endpoint } from '../transport/transport.js';
import { MAX_ROUTE_RELAYS, PacketType } from '../wire/constants.js';
import { routeAt, type RoutedHeader } from '../wire/routed-header.js';
import type { ForwardContext } from './context.js';
import type { DropReason, PeerTraffic } from './counters.js';
import type { NextHops } from './next-hop.js';

/** Where a relayed packet went, when it went to the next hop its route names (no repair). */
export interface RelayDecision {
  next: NodeId;
  endpoint: Endpoint;
  /** The source member's counters (relayed packets and bytes). */
  traffic: PeerTraffic;
}

/**
 * Relays `data` (whose routed header is `h`) towards its next hop, or drops it and counts why. Returns
 * the decision when the packet went to the next hop of its own route: every check above depends only on
 * the header, the neighbour it came from and state that does not change within a received batch, so
 * relay-repeat.ts may apply the same decision to the batch's next packets with the same header.
 */
export function relay(
  dp: ForwardContext,
  nextHops: NextHops,
  data: Buffer,
  h: RoutedHeader,
  from: Endpoint,
): RelayDecision | undefined {
  const { counters, peers } = dp;
  const drop = (reason: DropReason): undefined => void counters.drop(reason);
  if (!peers.has(h.src) || !peers.has(h.dst)) return drop('not-for-member');
  if (h.routePos >= h.routeLen || routeAt(data, h.routePos) !== dp.self) return drop('misrouted');
  const now = dp.clock.now();
  const hop = previousHopCheck(dp, h.routePos === 0 ? h.src : routeAt(data, h.routePos - 1), from, now);
  if (hop) return drop(hop);
  if (h.ttl <= 1) return drop('ttl-exceeded');
  data[1] = h.ttl - 1;
  const pos = h.routePos + 1;
  data[3] = pos;
  const next = pos < h.routeLen ? routeAt(data, pos) : h.dst;
  const endpoint = nextHops.liveEndpoint(next);
  if (endpoint) return { next, endpoint, traffic: send(dp, data, h, next, endpoint, now) };
  const repaired = repair(dp, nextHops, data, h, pos);
  if (typeof repaired === 'string') return drop(repaired);
  send(dp, repaired.packet, h, repaired.next, repaired.endpoint, now);
  return undefined;
}

/**
 * Why a packet that `prev` should have handed us, arriving from `from`, must be dropped; undefined if
 * `from` is proven to be `prev`'s. Also used by the destination of a relayed packet for its last relay.
 */
export function previousHopCheck(
  dp: ForwardContext,
  prev: NodeId,
  from: Endpoint,
  now: number,
): 'unauthenticated-hop' | 'wrong-previous-hop' | undefined {
  const bound = dp.peers.boundMember(endpointKey(from), now);
  if (bound === undefined) return 'unauthenticated-hop';
  return bound === prev ? undefined : 'wrong-previous-hop';
}

function send(
  dp: ForwardContext,
  packet: Buffer,
  h: RoutedHeader,
  next: NodeId,
  endpoint: Endpoint,
  now: number,
): PeerTraffic {
  const src = h.src;
  // Queued as a copy: `packet` may be the transport's own receive buffer.
  dp.transport.sendQueued(packet, endpoint);
  // A handshake is not a flow: its initiation, the retry's copy and the first keepalive after it
  // came within a second on slow paths and put the next link on the fast schedule at every rekey.
  if (h.type === PacketType.Data) dp.prober.noteRelayed(next, src, h.dst, now);
  const t = dp.counters.peer(src);
  t.relayedPackets++;
  t.relayedBytes += packet.length;
  return t;
}

interface Repaired {
  packet: Buffer;
  next: NodeId;
  endpoint: Endpoint;
}

/** Rewrites the rest of the route with our own path to dst. `pos` is the index after us. */
function repair(
  dp: ForwardContext,
  nextHops: NextHops,
  data: Buffer,
  h: RoutedHeader,
  pos: number,
): Repaired | 'no-next-hop' | 'route-too-long' {
  const path = dp.router.route(h.dst);
  if (!path || path.nodes.length < 2) return 'no-next-hop';
  const next = path.nodes[1];
  const endpoint = nextHops.liveEndpoint(next);
  if (!endpoint) return 'no-next-hop';
  const visited: NodeId[] = [];
  for (let i = 0; i < pos; i++) visited.push(routeAt(data, i));
  const tail = path.nodes.slice(1, -1);
  // Never splice a path that goes back through a node the packet already crossed: that would loop.
  if (tail.some((n) => n === h.src || visited.includes(n))) return 'no-next-hop';
  const relays = [...visited, ...tail];
  if (relays.length > MAX_ROUTE_RELAYS) return 'route-too-long';
  const rest = data.subarray(h.addrOffset);
  const packet = Buffer.allocUnsafe(4 + 4 * relays.length + rest.length);
  packet[0] = data[0];
  packet[1] = data[1];
  packet[2] = relays.length;
  packet[3] = pos;
  relays.forEach((r, i) => packet.writeUInt32BE(r, 4 + 4 * i));
  rest.copy(packet, 4 + 4 * relays.length);
  return { packet, next, endpoint };
}
