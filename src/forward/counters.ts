// Data-plane counters: plain numbers bumped on the packet path, read by metrics and `overlayd status`.
// Kept free of prom-client so the packet path costs one property increment per event.
import type { NodeId } from '../identity/node-id.js';

/** Why a packet was dropped. A bounded set: it becomes a metric label. */
export type DropReason =
  | 'truncated'
  | 'oversized'
  | 'too-big' // outbound: larger than its path's MTU (answered with ICMP, forward/too-big.ts)
  | 'unknown-type'
  | 'bad-route'
  | 'bad-address'
  | 'not-for-member' // routed header names a src/dst that isn't a member
  | 'unauthenticated-hop' // relayed packet from an address bound to no member (see endpoint-bindings.ts)
  | 'wrong-previous-hop' // relayed packet from the address of another member than the route's previous hop
  | 'misrouted' // route says the next relay is someone else (or, at the destination, that relays remain)
  | 'ttl-exceeded'
  | 'route-too-long'
  | 'no-next-hop' // relay has no live link and no repair path
  | 'no-route' // outbound: destination unreachable
  | 'no-member' // outbound: destination address is no member's, nor in another member's subnet
  | 'not-unicast'
  | 'not-ip'
  | 'no-session' // pending queue full while handshaking
  | 'unknown-index'
  | 'wrong-source' // session index belongs to another member than the header's src
  | 'auth-failed'
  | 'replayed'
  | 'expired'
  | 'spoofed-source' // inner source is neither the sending member's address nor in a subnet it lists
  | 'not-local-destination' // inner destination is not an address this node accepts (accepted-destinations.ts)
  | 'bad-inner' // malformed inner message
  | 'relayed-control' // routing control travels one hop: a relayed one is not from a neighbour
  | 'queue-delay' // an IP packet that waited too long in the receive queue, dropped after the open (transport/standing-delay.ts)
  | 'socket-full' // the kernel's receive queue was full (SO_RXQ_OVFL; a GRO receive counts once)
  | 'tun-full'
  | 'tun-error' // the TUN refused the write: interface down or deleted
  | 'handshake-rejected';

export interface PeerTraffic {
  txPackets: number;
  txBytes: number;
  rxPackets: number;
  rxBytes: number;
  /** Packets we relayed that this member originated. */
  relayedPackets: number;
  relayedBytes: number;
}

export class DataPlaneCounters {
  readonly drops = new Map<string, number>();
  /** Handshake rejections by the session layer's reason. */
  readonly handshakeRejects = new Map<string, number>();
  readonly peers = new Map<NodeId, PeerTraffic>();
  /**
   * Authenticated packets or probe replies from a member at an address bound to another member: the
   * address was not rebound (see endpoint-bindings.ts). Not a drop: the packet itself may be fine.
   */
  endpointConflicts = 0;
  /** Paths found failing end to end (path-watch.ts), by destination. */
  readonly pathFailures = new Map<NodeId, number>();
  /** ICMP "fragmentation needed" / "packet too big" written to the TUN, and those the rate limit withheld. */
  tooBigIcmpSent = 0;
  tooBigIcmpLimited = 0;
  /** IPv4 packets (DF clear) fragmented to fit their path. */
  fragmented = 0;
  /** TCP SYNs whose MSS option was lowered to the path MTU (network.mssClamp). */
  mssClamped = 0;
  /** Packets the TUN's outbound fast lane sealed and sent without JavaScript (fast-lane.ts). */
  fastLanePackets = 0;
  /** IP packets the inbound fast lane opened and wrote to the TUN without JavaScript (rx-lane.ts). */
  fastLaneReceived = 0;
  handshakesSent = 0;
  handshakesCompleted = 0;
  controlBytesSent = 0;
  controlBytesReceived = 0;
  probeBytesSent = 0;
  probeBytesReceived = 0;

  drop(reason: DropReason, n = 1): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + n);
  }

  rejectHandshake(reason: string, n = 1): void {
    this.drop('handshake-rejected', n);
    this.handshakeRejects.set(reason, (this.handshakeRejects.get(reason) ?? 0) + n);
  }

  peer(id: NodeId): PeerTraffic {
    let t = this.peers.get(id);
    if (!t) {
      t = { txPackets: 0, txBytes: 0, rxPackets: 0, rxBytes: 0, relayedPackets: 0, relayedBytes: 0 };
      this.peers.set(id, t);
    }
    return t;
  }

  totalDrops(): number {
    let n = 0;
    for (const v of this.drops.values()) n += v;
    return n;
  }
}
