// The control channel: everything the data plane carries for the node itself rather than for the TUN.
//   handshakes  sendHandshake (along the route, else every known endpoint); receiveInitiation answers
//               the way the initiation came, with a response or (under load) a cookie reply;
//               receiveCookieReply retries at once the way the cookie came (the cookie is bound to our
//               address as seen on that path); receiveResponse confirms the keys with a keepalive and
//               releases what waited for the session
//   probes      sendProbe (direct, to one endpoint: it measures that very path); onProbe echoes over
//               the path it came by; onProbeReply feeds the prober (a direct reply to a probe sent to
//               that address proves the address: path-learning.ts) and the operator's path pinger
//   routing     sendControl to a neighbour, over the direct link; onControl hands the message to the
//               router if it came direct (relayed control is dropped)
import type { NodeId } from '../identity/node-id.js';
import type { HandshakeSource } from '../session/handshake-result.js';
import { endpointKey, type Endpoint } from '../transport/transport.js';
import { cookieAddress } from '../transport/cookie-address.js';
import { readEndpoint, writeEndpoint } from '../nat/endpoint-bytes.js';
import type { NatChannel } from '../nat/nat-channel.js';
import { INITIAL_TTL, InnerKind, PacketType } from '../wire/constants.js';
import { PROBE_BYTES, PROBE_REPLY_MAX_BYTES } from '../wire/probe-layout.js';
import { routeAt, writeRoutedHeader, type RoutedHeader } from '../wire/routed-header.js';
import type { ForwardContext } from './context.js';
import type { NextHops } from './next-hop.js';
import type { Outbound } from './outbound.js';
import type { PeerTable } from './peer-table.js';
import { reverseRelays, type PathLearning } from './path-learning.js';
import { PathPinger } from './path-pinger.js';
import type { Sealer } from './sealer.js';

const KEEPALIVE = Buffer.from([InnerKind.Keepalive]);

export class ControlChannel {
  /** Operator pings along explicit paths (control socket: ping, trace). */
  readonly pinger: PathPinger;

  constructor(
    private readonly ctx: ForwardContext,
    private readonly nextHops: NextHops,
    private readonly sealer: Sealer,
    private readonly outbound: Outbound,
    private readonly learning: PathLearning,
    private readonly nat?: NatChannel,
  ) {
    this.pinger = new PathPinger(ctx.clock, (dst, relays, id) => this.sendPathProbe(dst, relays, id));
  }

  // ---- handshakes -----------------------------------------------------------------------------

  /**
   * Starts (or retries) a handshake with `peer`: along its route, else to every endpoint we know.
   * `countAttempt` false: a retry that does not move the backoff (see SessionTable.createInitiation).
   */
  sendHandshake(peer: NodeId, now: number, countAttempt = true): void {
    this.sendInitiation(peer, this.ctx.sessions.createInitiation(peer, now, countAttempt), now);
  }

  /** Sends initiation `body` to `peer`: along its route, else to every endpoint we know. */
  sendInitiation(peer: NodeId, body: Buffer, now: number): void {
    const { ctx } = this;
    const target = this.nextHops.target(peer, now);
    ctx.counters.handshakesSent++;
    if (target) {
      ctx.transport.send(
        this.handshakePacket(PacketType.HandshakeInit, target.relays, peer, body),
        target.endpoint,
      );
      return;
    }
    for (const key of ctx.peers.get(peer)?.endpointKeys ?? []) {
      const endpoint = ctx.peers.endpoint(key);
      if (endpoint)
        ctx.transport.send(this.handshakePacket(PacketType.HandshakeInit, [], peer, body), endpoint);
    }
  }

  receiveInitiation(data: Buffer, h: RoutedHeader, from: Endpoint, now: number): void {
    const { ctx } = this;
    const res = ctx.sessions.consumeInitiation(
      h.src,
      data.subarray(h.bodyOffset),
      source(data, h, from, ctx.peers, now),
      now,
    );
    if (!res.ok) {
      this.rejected(h.src, res.reason, now);
      // Under load: a cookie instead of a Diffie-Hellman, smaller than the initiation that asked.
      if (res.cookieReply) this.answer(PacketType.CookieReply, data, h, from, res.cookieReply);
      return;
    }
    ctx.transport.noteAuthenticated?.(from);
    // Answer the way the initiation came: it just proved that path works, and we may have no route yet.
    this.answer(PacketType.HandshakeResponse, data, h, from, res.response);
  }

  receiveCookieReply(data: Buffer, h: RoutedHeader, from: Endpoint, now: number): void {
    const { ctx } = this;
    const res = ctx.sessions.consumeCookieReply(h.src, data.subarray(h.bodyOffset), now);
    if (!res.ok) return ctx.counters.rejectHandshake(res.reason);
    if (!res.retry) return;
    // Back the way the cookie came: it is bound to our address as the responder saw it on that path.
    ctx.counters.handshakesSent++;
    this.answer(PacketType.HandshakeInit, data, h, from, ctx.sessions.createInitiation(h.src, now, false));
  }

  receiveResponse(data: Buffer, h: RoutedHeader, from: Endpoint, now: number): void {
    const { ctx } = this;
    const res = ctx.sessions.consumeResponse(
      h.src,
      data.subarray(h.bodyOffset),
      source(data, h, from, ctx.peers, now),
      now,
    );
    if (!res.ok) return this.rejected(h.src, res.reason, now);
    ctx.counters.handshakesCompleted++;
    ctx.transport.noteAuthenticated?.(from);
    this.learning.reverse(data, h, from, now); // a handshake proves no endpoint: see path-learning.ts
    // The keepalive confirms the new keys to the responder, which can't send with them until then.
    this.outbound.sendSealed(h.src, KEEPALIVE, now, false);
    this.outbound.flushPending(h.src, now);
    ctx.prober.sessionUp(h.src, now); // a first session's link is measured at once (Prober.sessionUp)
  }

  /** Sends a handshake message to `h.src` back the way `data` came (reversed route, same endpoint). */
  private answer(type: PacketType, data: Buffer, h: RoutedHeader, from: Endpoint, body: Buffer): void {
    this.ctx.transport.send(this.handshakePacket(type, reverseRelays(data, h), h.src, body), from);
  }

  private rejected(src: NodeId, reason: string, now: number): void {
    this.ctx.counters.rejectHandshake(reason);
    this.ctx.observer?.handshakeRejected(src, reason, now);
  }

  private handshakePacket(type: PacketType, relays: readonly NodeId[], dst: NodeId, body: Buffer): Buffer {
    const out = Buffer.allocUnsafe(4 + 4 * relays.length + 8 + body.length);
    const off = writeRoutedHeader(out, type, INITIAL_TTL, relays, this.ctx.self, dst);
    body.copy(out, off);
    return out;
  }

  // ---- probes ---------------------------------------------------------------------------------

  /**
   * A direct probe to one endpoint of a member (never relayed: it measures that very path). False
   * when there is no session (or no such endpoint) to send it in: see Prober.unsent.
   */
  sendProbe(member: NodeId, key: string, probeId: number): boolean {
    const { ctx } = this;
    const now = ctx.clock.now();
    const keypair = ctx.sessions.sendKeypair(member, now);
    const endpoint = ctx.peers.endpoint(key);
    if (!keypair || !endpoint) {
      // The handshake is what's needed; the prober will look again shortly.
      if (!keypair) ctx.sessions.noteWantToSend(member, now);
      return false;
    }
    const target = { relays: [], nextHop: member, endpoint };
    ctx.counters.probeBytesSent += this.sealer.seal(keypair, member, target, probe(probeId), now, false);
    return true;
  }

  /** An operator's probe along explicit relays; the first hop must be a live neighbour. */
  private sendPathProbe(dst: NodeId, relays: readonly NodeId[], probeId: number): boolean {
    const { ctx } = this;
    const now = ctx.clock.now();
    const keypair = ctx.sessions.sendKeypair(dst, now);
    const nextHop = relays[0] ?? dst;
    const endpoint = this.nextHops.liveEndpoint(nextHop);
    if (!keypair || !endpoint) return false;
    return this.sealer.seal(keypair, dst, { relays, nextHop, endpoint }, probe(probeId), now, false) > 0;
  }

  /**
   * Echo a probe back over the path it came by, so the prober measures exactly that path. A direct
   * probe's reply also says where we saw it come from (wire/probe-layout.ts): the sender's address
   * after its NAT, which it cannot see itself.
   */
  onProbe(data: Buffer, h: RoutedHeader, pt: number, n: number, from: Endpoint, now: number): void {
    const { ctx } = this;
    if (n !== PROBE_BYTES) return ctx.counters.drop('bad-inner');
    ctx.counters.probeBytesReceived += data.length;
    if (h.routeLen === 0)
      ctx.prober.onProbeReceived(h.src, endpointKey(from), now, data.readUInt32BE(pt + 1));
    ctx.transport.noteAuthenticated?.(from);
    const keypair = ctx.sessions.sendKeypair(h.src, now);
    if (!keypair) return;
    const reply = Buffer.alloc(PROBE_REPLY_MAX_BYTES);
    data.copy(reply, 0, pt, pt + n);
    reply[0] = InnerKind.ProbeReply;
    const end = h.routeLen === 0 ? writeEndpoint(reply, PROBE_BYTES, endpointKey(from)) : -1;
    const target = { relays: reverseRelays(data, h), nextHop: h.src, endpoint: from };
    const plaintext = reply.subarray(0, end < 0 ? PROBE_BYTES : end);
    ctx.counters.probeBytesSent += this.sealer.seal(keypair, h.src, target, plaintext, now, false);
  }

  onProbeReply(data: Buffer, h: RoutedHeader, pt: number, n: number, from: Endpoint, now: number): void {
    const { ctx } = this;
    if (n < PROBE_BYTES || n > PROBE_REPLY_MAX_BYTES) return ctx.counters.drop('bad-inner');
    // An observed source, if any, must be exactly one well-formed endpoint (wire/probe-layout.ts).
    const observed = n === PROBE_BYTES ? undefined : readEndpoint(data, pt + PROBE_BYTES, pt + n);
    if (n !== PROBE_BYTES && observed?.next !== pt + n) return ctx.counters.drop('bad-inner');
    ctx.counters.probeBytesReceived += data.length;
    const id = data.readUInt32BE(pt + 1);
    ctx.transport.noteAuthenticated?.(from);
    if (h.routeLen === 0) {
      const key = endpointKey(from);
      // Checked first: a reply from an address proven to be another member's must not make it ours.
      if (!this.learning.claimedByOther(h.src, key, now) && ctx.prober.onReply(h.src, key, id, now)) {
        this.learning.proven(h.src, key, now);
        // Only a reply to a probe we sent there teaches us our reflexive address (nat/).
        if (observed) this.nat?.observed(h.src, observed.key, now);
      }
    }
    this.pinger.onReply(h.src, id, now);
  }

  /** A punch request or answer (NAT traversal, nat/nat-channel.ts). */
  onPunch(data: Buffer, h: RoutedHeader, pt: number, n: number, now: number): void {
    if (!this.nat) return this.ctx.counters.drop('bad-inner');
    this.nat.onPunch(data, h, pt, n, now);
  }

  // ---- routing control ------------------------------------------------------------------------

  /**
   * A routing control message to a neighbour, over the direct link whatever the route to it: control
   * travels one hop (flooding is hop by hop), and receivers refuse it relayed (onControl).
   */
  sendControl(neighbor: NodeId, message: Uint8Array): void {
    const { ctx } = this;
    const now = ctx.clock.now();
    const keypair = ctx.sessions.sendKeypair(neighbor, now);
    if (!keypair) return ctx.sessions.noteWantToSend(neighbor, now);
    // Our direct link, else the endpoint its direct probes come from (it listens to us over its side
    // of the link before our prober has found ours alive, or when we do not probe it at all).
    const heard = ctx.prober.probedUs?.(neighbor, now);
    const endpoint =
      this.nextHops.liveEndpoint(neighbor) ?? (heard === undefined ? undefined : ctx.peers.endpoint(heard));
    if (!endpoint) return ctx.counters.drop('no-next-hop');
    const plaintext = Buffer.allocUnsafe(1 + message.length);
    plaintext[0] = InnerKind.Control;
    plaintext.set(message, 1);
    const target = { relays: [], nextHop: neighbor, endpoint };
    ctx.counters.controlBytesSent += this.sealer.seal(keypair, neighbor, target, plaintext, now, false);
  }

  onControl(data: Buffer, h: RoutedHeader, pt: number, n: number, now: number): void {
    const { ctx } = this;
    // Only a direct neighbour has anything to tell our router (issue 10: a member beyond a relay
    // could otherwise feed it claims and requests from anywhere in the overlay).
    if (h.routeLen !== 0) return ctx.counters.drop('relayed-control');
    ctx.counters.controlBytesReceived += data.length;
    // A copy: the receive buffer may be the transport's, and the router may keep advert bytes.
    ctx.router.receiveControl(h.src, Buffer.from(data.subarray(pt + 1, pt + n)), now);
  }
}

function probe(id: number): Buffer {
  const plaintext = Buffer.allocUnsafe(PROBE_BYTES);
  plaintext[0] = InnerKind.Probe;
  plaintext.writeUInt32BE(id >>> 0, 1);
  return plaintext;
}

/**
 * Where a handshake message came from, and whether its address is proven (by a probe round trip, within
 * the handshake horizon: endpoint-bindings.ts) to be the claimed member's. For a relayed one, the
 * route's last relay: inbound.ts has checked that it came from that member's proven address (relayed
 * handshakes are budgeted per relay).
 */
function source(
  data: Buffer,
  h: RoutedHeader,
  from: Endpoint,
  peers: PeerTable,
  now: number,
): HandshakeSource {
  const address = cookieAddress(from);
  if (h.routeLen > 0) return { address, host: from.host, proven: true, relay: routeAt(data, h.routeLen - 1) };
  return { address, host: from.host, proven: peers.handshakeMember(endpointKey(from), now) === h.src };
}
