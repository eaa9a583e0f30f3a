// Inbound: transport → (relay | open → check → TUN or control channel). In the order a packet meets it:
//   1. receive: size, routed header; a packet for someone else goes to relay.ts untouched (no decrypt)
//   2. for us: every relay of the route must have been visited, and a relayed packet must come from
//      the address proven to be its last relay's — checked before any cryptography
//   3. by outer type: handshakes to the control channel; Data is opened in place (session/), which
//      checks the keypair belongs to the header's src, authenticates (the nonce carries whether it was
//      sealed as direct or relayed: see PathFlags) and rejects replays
//   4. what the authenticated packet teaches about the way back (path-learning.ts)
//   5. by inner kind: an IP packet goes to the TUN after the cryptokey checks (deliver-ip.ts); probes,
//      probe replies and routing control go to the control channel, path probes to the path watch
import type { Endpoint } from '../transport/transport.js';
import { InnerKind, MAX_PACKET_BYTES, PacketType } from '../wire/constants.js';
import { parseRoutedHeader, pathFlagsFor, routeAt, type RoutedHeader } from '../wire/routed-header.js';
import { openErrorReason } from '../session/keypair.js';
import type { ForwardContext } from './context.js';
import type { ControlChannel } from './control-channel.js';
import type { DropReason } from './counters.js';
import type { AcceptedDestinations } from './accepted-destinations.js';
import { deliverIp } from './deliver-ip.js';
import type { NextHops } from './next-hop.js';
import type { Outbound } from './outbound.js';
import type { PathLearning } from './path-learning.js';
import type { PathWatch } from './path-watch.js';
import { previousHopCheck, relay } from './relay.js';

/** Receiver index + counter after the addresses. */
const DATA_AD_BYTES = 20;
const TAG_BYTES = 16;

export class Inbound {
  constructor(
    private readonly ctx: ForwardContext,
    private readonly nextHops: NextHops,
    private readonly outbound: Outbound,
    private readonly control: ControlChannel,
    private readonly learning: PathLearning,
    private readonly watch: PathWatch,
    private readonly accepted: AcceptedDestinations,
  ) {}

  /** The transport's message handler. `data` may be borrowed: valid only until this returns. */
  readonly receive = (data: Buffer, from: Endpoint): void => {
    const { ctx } = this;
    const len = data.length;
    if (len > MAX_PACKET_BYTES) return ctx.counters.drop('oversized');
    const h = parseRoutedHeader(data, len);
    if (typeof h === 'string') return ctx.counters.drop(h as DropReason);
    if (h.dst !== ctx.self) return relay(ctx, this.nextHops, data, h, from);
    if (!ctx.peers.has(h.src)) return ctx.counters.drop('not-for-member');
    if (h.routePos !== h.routeLen) return ctx.counters.drop('misrouted');
    const now = ctx.clock.now();
    if (h.routeLen > 0) {
      const hop = previousHopCheck(ctx, routeAt(data, h.routeLen - 1), from, now);
      if (hop) return ctx.counters.drop(hop);
    }
    switch (h.type) {
      case PacketType.HandshakeInit:
        return this.control.receiveInitiation(data, h, from, now);
      case PacketType.HandshakeResponse:
        return this.control.receiveResponse(data, h, from, now);
      case PacketType.Data:
        return this.receiveData(data, h, from, now);
    }
  };

  private receiveData(data: Buffer, h: RoutedHeader, from: Endpoint, now: number): void {
    const { ctx } = this;
    if (data.length < h.bodyOffset + 12 + 1 + TAG_BYTES) return ctx.counters.drop('truncated');
    const n = ctx.sessions.open(data, h.addrOffset, data.length, now, pathFlagsFor(h.routeLen));
    if (n < 0) return ctx.counters.drop(openErrorReason(n) as DropReason);
    if (n === 0) return ctx.counters.drop('bad-inner');
    // Data on a fresh keypair confirms it (the responder's side): what waited for it can go now.
    if (this.outbound.hasPending(h.src)) this.outbound.flushPending(h.src, now);
    this.learning.learn(data, h, from, now);
    const pt = h.addrOffset + DATA_AD_BYTES;
    switch (data[pt]) {
      case InnerKind.IPPacket:
        return deliverIp(ctx, this.accepted, data, pt + 1, n - 1, h.src);
      case InnerKind.Keepalive:
        return;
      case InnerKind.Probe:
        return this.control.onProbe(data, h, pt, n, from, now);
      case InnerKind.ProbeReply:
        return this.control.onProbeReply(data, h, pt, n, from, now);
      case InnerKind.Control:
        return this.control.onControl(data, h, pt, n, now);
      case InnerKind.PathProbe:
        return this.watch.onProbe(data, h, pt, n, from, now);
      case InnerKind.PathProbeReply:
        return this.watch.onReply(data, h, pt, n, now);
      case InnerKind.Punch:
        return this.control.onPunch(data, h, pt, n, now);
      default:
        return ctx.counters.drop('bad-inner');
    }
  }
}
