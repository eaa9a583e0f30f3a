// What an authenticated packet teaches us about the way back to its source, and how much of it to
// believe. An address is something a packet claims, not something it proves: a member can spoof its
// source, a relay can forward (and the Data AEAD only proves the packet was sealed as direct, not from
// where it was sent). So:
//
//   - an authenticated Data packet sealed as direct makes its source address a CANDIDATE endpoint of
//     the member: the prober probes it a few times, backing off, and forgets it within seconds unless an
//     authenticated reply comes back from that very address (Prober.learnEndpoint);
//   - that reply is the proof: only then is the address bound to the member (endpoint-bindings.ts) and
//     measured like a configured endpoint;
//   - an address live-bound to one member is never a candidate for, or bound to, another: counted;
//   - handshakes teach no endpoint (a relay can strip a handshake's route as it forwards it, and Noise
//     does not cover the routed header); a relayed packet or handshake gives a reverse route to use
//     until routing has a path of its own.
import type { NodeId } from '../identity/node-id.js';
import { endpointKey, type Endpoint } from '../transport/transport.js';
import { routeAt, type RoutedHeader } from '../wire/routed-header.js';
import type { ForwardContext } from './context.js';

export class PathLearning {
  constructor(private readonly ctx: ForwardContext) {}

  /** An authenticated Data packet from `h.src` arrived from `from`. */
  learn(data: Buffer, h: RoutedHeader, from: Endpoint, now: number): void {
    if (h.routeLen === 0) this.candidate(h.src, from, now, data.readUInt32BE(h.addrOffset + 8));
    else this.reverse(data, h, from, now);
  }

  /** A relayed packet (Data or handshake) from `h.src`: the way back, until routing knows one. */
  reverse(data: Buffer, h: RoutedHeader, from: Endpoint, now: number): void {
    if (h.routeLen > 0) this.ctx.peers.noteReverseRoute(h.src, reverseRelays(data, h), from, now);
  }

  /**
   * `member` answered, from `key`, a probe we sent there: bind the address to it. False (and counted)
   * when the address is live-bound to another member: the reply must then not count as proof.
   */
  proven(member: NodeId, key: string, now: number): boolean {
    if (this.ctx.peers.bind(key, member, now) !== 'conflict') return true;
    this.ctx.counters.endpointConflicts++;
    return false;
  }

  /** Whether `key` is live-bound to a member other than `member` (then counted). */
  claimedByOther(member: NodeId, key: string, now: number): boolean {
    const owner = this.ctx.peers.boundMember(key, now);
    if (owner === undefined || owner === member) return false;
    this.ctx.counters.endpointConflicts++;
    return true;
  }

  /** A direct authenticated packet from `member` at `from`: an address worth probing, nothing more. */
  private candidate(member: NodeId, from: Endpoint, now: number, receiverIndex: number): void {
    const key = endpointKey(from);
    if (this.claimedByOther(member, key, now)) return;
    this.ctx.observer?.dataFrom(member, key, receiverIndex, now); // duplicate-key detection
    if (this.ctx.prober.learnEndpoint(member, key, now)) this.ctx.peers.internEndpoint(from);
  }
}

/** The relays of an inbound packet's route, in reverse: the way back to its source. */
export function reverseRelays(data: Buffer, h: RoutedHeader): NodeId[] {
  const out: NodeId[] = [];
  for (let i = h.routeLen - 1; i >= 0; i--) out.push(routeAt(data, i));
  return out;
}
