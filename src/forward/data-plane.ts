// The data plane: the only code that moves packets between the TUN and the underlay.
//
// Outbound (TUN → UDP), in the order a packet meets it:
//   1. inside.ts reads a batch and calls sendIp for each packet
//   2. sendIp: destination overlay address → member (cryptokey routing)
//   3. sendKeypair: no session yet → queue the packet and ask for a handshake
//   4. target: the source route chosen by routing/ (or a reverse route learned from the peer's packets)
//   5. sealAndSend: routed header + AEAD seal, straight out of the TUN batch buffer into a fresh datagram
//
// Inbound (UDP → TUN or next hop) is in receive(): relayed packets go to relay.ts untouched (no decrypt);
// packets for us are opened, checked against the sending member, and dispatched by inner kind.
import type { Clock } from '../clock.js';
import type { NodeId } from '../identity/node-id.js';
import type { Logger } from '../log.js';
import type { TunDevice } from '../tun/tun-device.js';
import { endpointKey, type Endpoint, type Transport } from '../transport/transport.js';
import { INITIAL_TTL, InnerKind, PacketType } from '../wire/constants.js';
import { MAX_DATAGRAM_SLOT_BYTES, maxDatagramBytes, MAX_MTU } from '../wire/sizes.js';
import { parseRoutedHeader, routeAt, writeRoutedHeader, type RoutedHeader } from '../wire/routed-header.js';
import { openErrorReason } from '../session/keypair.js';
import type { DataPlaneCounters, DropReason } from './counters.js';
import { deliverIp } from './deliver-ip.js';
import { ipv4Dst, ipv6Dst, ipVersion, isIpv4Multicast, isIpv6Multicast } from './ip-packet.js';
import type { PeerTable } from './peer-table.js';
import { PathPinger } from './path-pinger.js';
import { PendingQueue } from './pending-queue.js';
import type { PathPort, ProbePort, RoutePort, SealingKeypair, SessionPort } from './ports.js';
import { relay } from './relay.js';

/** Receiver index + counter after the addresses, and the AEAD tag. */
const DATA_AD_BYTES = 20;
const TAG_BYTES = 16;

export interface DataPlaneDeps {
  self: NodeId;
  peers: PeerTable;
  sessions: SessionPort;
  prober: ProbePort;
  router: RoutePort;
  transport: Transport;
  tun: TunDevice;
  counters: DataPlaneCounters;
  clock: Clock;
  log: Logger;
}

/** Where to send a packet for a destination: relays to list, and the underlay endpoint of the first hop. */
export interface Target {
  relays: readonly NodeId[];
  nextHop: NodeId;
  endpoint: Endpoint;
}

export class DataPlane {
  readonly self: NodeId;
  readonly peers: PeerTable;
  readonly sessions: SessionPort;
  readonly prober: ProbePort;
  readonly router: RoutePort;
  readonly transport: Transport;
  readonly tun: TunDevice;
  readonly counters: DataPlaneCounters;
  readonly clock: Clock;
  readonly log: Logger;
  private readonly pending = new PendingQueue();
  /** Operator pings along explicit paths (control socket: ping, trace). */
  readonly pinger: PathPinger;
  // The relay list of each selected path, computed once per path object (paths are replaced, not mutated).
  private readonly relaysOf = new WeakMap<PathPort, NodeId[]>();
  // Every datagram is sealed here, then copied into the transport's send queue: no allocation per packet.
  private readonly scratch = Buffer.allocUnsafe(MAX_DATAGRAM_SLOT_BYTES);

  constructor(deps: DataPlaneDeps) {
    this.self = deps.self;
    this.peers = deps.peers;
    this.sessions = deps.sessions;
    this.prober = deps.prober;
    this.router = deps.router;
    this.transport = deps.transport;
    this.tun = deps.tun;
    this.counters = deps.counters;
    this.clock = deps.clock;
    this.log = deps.log;
    this.pinger = new PathPinger(this.clock, (dst, relays, id) => this.sendPathProbe(dst, relays, id));
  }

  // ---- outbound -------------------------------------------------------------------------------

  /**
   * Sends one IP packet read from the TUN. The byte at `off - 1` must be writable scratch space (the
   * TUN batch headroom): the inner kind goes there so the plaintext is sealed without a copy.
   */
  sendIp(buf: Buffer, off: number, len: number, now: number): void {
    const version = ipVersion(buf, off, len);
    let dst;
    if (version === 4) {
      const addr = ipv4Dst(buf, off);
      dst = this.peers.byIpv4(addr);
      if (!dst && isIpv4Multicast(addr)) return this.counters.drop('not-unicast');
    } else if (version === 6) {
      const key = ipv6Dst(buf, off);
      dst = this.peers.byIpv6(key);
      if (!dst && isIpv6Multicast(key)) return this.counters.drop('not-unicast');
    } else {
      return this.counters.drop('not-ip');
    }
    if (!dst || dst.id === this.self) return this.counters.drop('no-member');
    buf[off - 1] = InnerKind.IPPacket;
    const plaintext = buf.subarray(off - 1, off + len);
    if (this.sendSealed(dst.id, plaintext, now, true, true) > 0) {
      const t = this.counters.peer(dst.id);
      t.txPackets++;
      t.txBytes += len;
    }
  }

  /**
   * Seals `plaintext` (inner kind + payload) for `dst` along its route. Without a session the packet
   * is queued (if `isData`) and a handshake requested. Returns the datagram's size, 0 if none left.
   * Only data marks the first hop "in use": control traffic and probe echoes must not, or two idle
   * neighbours would keep each other on the fast probe schedule forever.
   */
  sendSealed(dst: NodeId, plaintext: Uint8Array, now: number, isData: boolean, queue = isData): number {
    const keypair = this.sessions.sendKeypair(dst, now);
    if (!keypair) {
      if (queue && !this.pending.push(dst, plaintext)) this.counters.drop('no-session');
      this.sessions.noteWantToSend(dst, now);
      return 0;
    }
    const target = this.target(dst, now);
    if (!target) {
      this.counters.drop('no-route');
      return 0;
    }
    return this.sealAndSend(keypair, dst, target, plaintext, now, isData);
  }

  /** The first hop and relay list for `dst`: routing's choice, else a reverse route, else direct. */
  target(dst: NodeId, now: number): Target | undefined {
    const path = this.router.route(dst);
    if (path && path.nodes.length >= 2) {
      const nextHop = path.nodes[1];
      const link = this.prober.link(nextHop);
      const endpoint = link?.alive ? this.peers.endpoint(link.endpointKey) : undefined;
      if (endpoint) return { relays: this.relaysFor(path), nextHop, endpoint };
    }
    const direct = this.prober.link(dst);
    if (direct?.alive) {
      const endpoint = this.peers.endpoint(direct.endpointKey);
      if (endpoint) return { relays: [], nextHop: dst, endpoint };
    }
    const hint = this.peers.reverseRoute(dst, now);
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

  /** Returns the datagram's size, or 0 if the keypair could not seal. */
  sealAndSend(
    keypair: SealingKeypair,
    dst: NodeId,
    target: Target,
    plaintext: Uint8Array,
    now: number,
    isData: boolean,
  ): number {
    const size = 4 + 4 * target.relays.length + 8 + DATA_AD_BYTES + plaintext.length + TAG_BYTES;
    if (size > this.scratch.length) {
      this.counters.drop('oversized');
      return 0;
    }
    const out = this.scratch;
    const bodyOffset = writeRoutedHeader(out, PacketType.Data, INITIAL_TTL, target.relays, this.self, dst);
    const end = keypair.seal(out, bodyOffset - 8, plaintext, now);
    if (end < 0) {
      // The keypair is worn out (age or counter): a fresh handshake is the only way forward.
      this.sessions.noteWantToSend(dst, now);
      this.counters.drop('expired');
      return 0;
    }
    this.transport.sendQueued(out.subarray(0, end), target.endpoint);
    if (isData) this.prober.markActive(target.nextHop, now);
    return end;
  }

  /**
   * A direct probe to one endpoint of a member (never relayed: it measures that very path). False
   * when there is no session (or no such endpoint) to send it in: see Prober.unsent.
   */
  sendProbe(member: NodeId, key: string, probeId: number): boolean {
    const now = this.clock.now();
    const keypair = this.sessions.sendKeypair(member, now);
    const endpoint = this.peers.endpoint(key);
    if (!keypair || !endpoint) {
      // The handshake is what's needed; the prober will look again shortly.
      if (!keypair) this.sessions.noteWantToSend(member, now);
      return false;
    }
    const plaintext = Buffer.allocUnsafe(5);
    plaintext[0] = InnerKind.Probe;
    plaintext.writeUInt32BE(probeId >>> 0, 1);
    const target = { relays: [], nextHop: member, endpoint };
    this.counters.probeBytesSent += this.sealAndSend(keypair, member, target, plaintext, now, false);
    return true;
  }

  /** An operator's probe along explicit relays; the first hop must be a live neighbour. */
  private sendPathProbe(dst: NodeId, relays: readonly NodeId[], probeId: number): boolean {
    const now = this.clock.now();
    const keypair = this.sessions.sendKeypair(dst, now);
    const nextHop = relays[0] ?? dst;
    const link = this.prober.link(nextHop);
    const endpoint = link?.alive ? this.peers.endpoint(link.endpointKey) : undefined;
    if (!keypair || !endpoint) return false;
    const plaintext = Buffer.allocUnsafe(5);
    plaintext[0] = InnerKind.Probe;
    plaintext.writeUInt32BE(probeId >>> 0, 1);
    return this.sealAndSend(keypair, dst, { relays, nextHop, endpoint }, plaintext, now, false) > 0;
  }

  /** A routing control message to a neighbour (flooding is hop by hop). */
  sendControl(neighbor: NodeId, message: Uint8Array): void {
    const now = this.clock.now();
    const plaintext = Buffer.allocUnsafe(1 + message.length);
    plaintext[0] = InnerKind.Control;
    plaintext.set(message, 1);
    this.counters.controlBytesSent += this.sendSealed(neighbor, plaintext, now, false);
  }

  /** Starts (or retries) a handshake with `peer`: along its route, else to every endpoint we know. */
  sendHandshake(peer: NodeId, now: number): void {
    const body = this.sessions.createInitiation(peer, now);
    const target = this.target(peer, now);
    const member = this.peers.get(peer);
    this.counters.handshakesSent++;
    if (target) {
      this.transport.send(
        this.handshakePacket(PacketType.HandshakeInit, target.relays, peer, body),
        target.endpoint,
      );
      return;
    }
    for (const key of member?.endpointKeys ?? []) {
      const endpoint = this.peers.endpoint(key);
      if (endpoint)
        this.transport.send(this.handshakePacket(PacketType.HandshakeInit, [], peer, body), endpoint);
    }
  }

  private handshakePacket(type: PacketType, relays: readonly NodeId[], dst: NodeId, body: Buffer): Buffer {
    const out = Buffer.allocUnsafe(4 + 4 * relays.length + 8 + body.length);
    const off = writeRoutedHeader(out, type, INITIAL_TTL, relays, this.self, dst);
    body.copy(out, off);
    return out;
  }

  /** Drops state kept for a member that left the configuration. */
  forget(peer: NodeId): void {
    this.pending.drop(peer);
  }

  /** Sends what waited for a session with `peer`. */
  flush(peer: NodeId, now: number): void {
    for (const plaintext of this.pending.take(peer)) this.sendSealed(peer, plaintext, now, true, false);
  }

  // ---- inbound --------------------------------------------------------------------------------

  receive(data: Buffer, from: Endpoint): void {
    const len = data.length;
    if (len > maxDatagramBytes(MAX_MTU)) return this.counters.drop('oversized');
    const h = parseRoutedHeader(data, len);
    if (typeof h === 'string') return this.counters.drop(h as 'truncated');
    if (h.dst !== this.self) return relay(this, data, h, from);
    if (!this.peers.has(h.src)) return this.counters.drop('not-for-member');
    const now = this.clock.now();
    switch (h.type) {
      case PacketType.HandshakeInit:
        return this.receiveInitiation(data, h, from, now);
      case PacketType.HandshakeResponse:
        return this.receiveResponse(data, h, from, now);
      case PacketType.Data:
        return this.receiveData(data, h, from, now);
    }
  }

  private receiveInitiation(data: Buffer, h: RoutedHeader, from: Endpoint, now: number): void {
    const res = this.sessions.consumeInitiation(h.src, data.subarray(h.bodyOffset), from.host, now);
    if (!res.ok) return this.counters.rejectHandshake(res.reason);
    if (h.routeLen === 0) this.authenticateDirect(h.src, from, now);
    // Answer the way the initiation came: it just proved that path works, and we may have no route yet.
    const back = reverseRelays(data, h);
    this.transport.send(this.handshakePacket(PacketType.HandshakeResponse, back, h.src, res.response), from);
  }

  private receiveResponse(data: Buffer, h: RoutedHeader, from: Endpoint, now: number): void {
    const res = this.sessions.consumeResponse(h.src, data.subarray(h.bodyOffset), from.host, now);
    if (!res.ok) return this.counters.rejectHandshake(res.reason);
    this.counters.handshakesCompleted++;
    if (h.routeLen === 0) this.authenticateDirect(h.src, from, now);
    else this.peers.noteReverseRoute(h.src, reverseRelays(data, h), from, now);
    // The keepalive confirms the new keys to the responder, which can't send with them until then.
    this.sendSealed(h.src, KEEPALIVE, now, false);
    this.flush(h.src, now);
    this.prober.markActive(h.src, now);
  }

  private receiveData(data: Buffer, h: RoutedHeader, from: Endpoint, now: number): void {
    if (data.length < h.bodyOffset + 12 + 1 + TAG_BYTES) return this.counters.drop('truncated');
    const n = this.sessions.open(data, h.addrOffset, data.length, now);
    if (n < 0) return this.counters.drop(openErrorReason(n) as DropReason);
    if (n === 0) return this.counters.drop('bad-inner');
    // Data on a fresh keypair confirms it (the responder's side): what waited for it can go now.
    if (this.pending.has(h.src)) this.flush(h.src, now);
    if (h.routeLen === 0) this.authenticateDirect(h.src, from, now);
    else this.peers.noteReverseRoute(h.src, reverseRelays(data, h), from, now);
    const pt = h.addrOffset + DATA_AD_BYTES;
    switch (data[pt]) {
      case InnerKind.IPPacket:
        return deliverIp(this, data, pt + 1, n - 1, h.src);
      case InnerKind.Keepalive:
        return;
      case InnerKind.Probe:
        return this.answerProbe(data, h, pt, n, from, now);
      case InnerKind.ProbeReply:
        if (n !== 5) return this.counters.drop('bad-inner');
        this.counters.probeBytesReceived += data.length;
        if (h.routeLen === 0) this.prober.onReply(h.src, endpointKey(from), data.readUInt32BE(pt + 1), now);
        return this.pinger.onReply(data.readUInt32BE(pt + 1), now);
      case InnerKind.Control:
        this.counters.controlBytesReceived += data.length;
        // A copy: the receive buffer may be the transport's, and the router may keep advert bytes.
        return this.router.receiveControl(h.src, Buffer.from(data.subarray(pt + 1, pt + n)), now);
      default:
        return this.counters.drop('bad-inner');
    }
  }

  /** Echo a probe back over the path it came by, so the prober measures exactly that path. */
  private answerProbe(
    data: Buffer,
    h: RoutedHeader,
    pt: number,
    n: number,
    from: Endpoint,
    now: number,
  ): void {
    if (n !== 5) return this.counters.drop('bad-inner');
    this.counters.probeBytesReceived += data.length;
    if (h.routeLen === 0) this.prober.onProbeReceived(h.src, endpointKey(from), now);
    const keypair = this.sessions.sendKeypair(h.src, now);
    if (!keypair) return;
    const reply = Buffer.from(data.subarray(pt, pt + n));
    reply[0] = InnerKind.ProbeReply;
    const target = { relays: reverseRelays(data, h), nextHop: h.src, endpoint: from };
    this.counters.probeBytesSent += this.sealAndSend(keypair, h.src, target, reply, now, false);
  }

  /** An authenticated packet arrived straight from `member` at `from`: a neighbour endpoint. */
  private authenticateDirect(member: NodeId, from: Endpoint, now: number): void {
    const key = this.peers.internEndpoint(from);
    if (this.peers.authenticate(key, member)) this.prober.learnEndpoint(member, key, now);
  }
}

const KEEPALIVE = Buffer.from([InnerKind.Keepalive]);

/** The relays of an inbound packet's route, in reverse: the way back to its source. */
function reverseRelays(data: Buffer, h: RoutedHeader): NodeId[] {
  const out: NodeId[] = [];
  for (let i = h.routeLen - 1; i >= 0; i--) out.push(routeAt(data, i));
  return out;
}
