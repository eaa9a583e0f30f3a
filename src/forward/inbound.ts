// Inbound: transport → (relay | open → check → TUN or control channel). In the order a packet meets it:
//   1. onBatch: a batch of datagrams (a transport with GRO has already split its coalesced receives,
//      and marked those that waited too long in its queue: RxBatch.shed); one clock read, one TUN write
//      per batch
//   2. per datagram, receive(): size and routed header (the parser refuses routes that repeat an id or
//      name src or dst); a packet for someone else goes to relay.ts untouched (no decrypt). For us:
//      every relay of the route must have been visited, and a relayed packet must come from the
//      address proven to be its last relay's — checked before any cryptography. A Data packet that
//      passes joins the run of the keypair its receiver index names (open-runs.ts); handshakes and
//      cookie replies go to the control channel. The next packets of the same flow in the batch (same header and neighbour,
//      header-memo.ts; same for relayed ones, relay-repeat.ts) skip what the first one proved
//   3. per run, one native call (native/packet.c pkt_open_batch): replay pre-check, authenticate and
//      decrypt in place (the nonce carries whether the packet was sealed as direct or relayed: see
//      PathFlags; the native call uses the flag the packet's routeLen implies), move the replay window,
//      then the inner checks of deliver-ip.ts; IP packets that pass join the batch's TUN list
//   4. per run: the IP packets the transport marked for a standing queue taken off the TUN list
//      (queue-delay) — only now, opened, are they known to be data: a marked path probe or routing
//      message is kept, so the queue's control can't make a working path look dead; what a packet
//      teaches about the way back (path-learning.ts), a responder's keypair confirmed, packets that
//      waited for the session released; per packet: control-channel kinds (probes, probe replies,
//      routing control, path probes) dispatched, refusals counted
//   5. the TUN list written in one batch (deliver-ip.ts)
import type { NodeId } from '../identity/node-id.js';
import { OpenCode, packetBinding, type PacketBinding } from '../native/packet-binding.js';
import { openErrorReason } from '../session/keypair.js';
import { SingleBatch } from '../transport/queued-sends.js';
import type { Endpoint, RxBatch } from '../transport/transport.js';
import { AEAD_TAG_BYTES, DATA_FIELDS_BYTES, InnerKind, PacketType } from '../wire/constants.js';
import { parseRoutedHeader, routeAt, routedHeaderBytes, type RoutedHeader } from '../wire/routed-header.js';
import { maxDatagramBytes } from '../wire/sizes.js';
import type { MtuChannel } from '../pmtu/mtu-channel.js';
import type { AcceptedDestinations } from './accepted-destinations.js';
import type { ForwardContext } from './context.js';
import type { ControlChannel } from './control-channel.js';
import type { DropReason } from './counters.js';
import { IpDelivery } from './deliver-ip.js';
import { HeaderMemo } from './header-memo.js';
import type { NextHops } from './next-hop.js';
import { OpenRuns, type OpenRun } from './open-runs.js';
import type { Outbound } from './outbound.js';
import type { PathLearning } from './path-learning.js';
import type { PathWatch } from './path-watch.js';
import { previousHopCheck, relay } from './relay.js';
import { RelayRepeat } from './relay-repeat.js';
import type { FastLanes } from './fast-lanes.js';
import { RxLane } from './rx-lane.js';

/** Receiver index + counter after the addresses. */
const DATA_AD_BYTES = 20;
/** What a Data packet holds after its routed header at least: fields, one inner-kind byte, tag. */
const MIN_DATA_BODY = DATA_FIELDS_BYTES + 1 + AEAD_TAG_BYTES;
/** Where a direct Data packet's receiver index is: its body's first field. */
const DIRECT_RECEIVER_INDEX = routedHeaderBytes(0);

/** Drop reasons for the inner checks of the native open (the AEAD ones map through openErrorReason). */
const INNER_REASONS: Record<number, DropReason> = {
  [OpenCode.NotIp]: 'not-ip',
  [OpenCode.SpoofedSource]: 'spoofed-source',
  [OpenCode.NotLocalDestination]: 'not-local-destination',
  [OpenCode.BadInner]: 'bad-inner',
};

export class Inbound {
  private readonly maxDatagram: number;
  private readonly runs: OpenRuns;
  private readonly delivery: IpDelivery;
  private readonly b: PacketBinding;
  private results = new Int32Array(64);
  /** Nesting depth of onBatch: receive() outside a batch starts one of its own. */
  private inBatch = 0;
  /** The datagram of the batch receive() is looking at. */
  private current = 0;
  private readonly single = new SingleBatch();
  private readonly repeat: RelayRepeat;
  /** The last Data packet for us that passed every check before the crypto, in this batch. */
  private readonly forUs = new HeaderMemo();

  constructor(
    private readonly ctx: ForwardContext,
    private readonly nextHops: NextHops,
    private readonly outbound: Outbound,
    private readonly control: ControlChannel,
    private readonly learning: PathLearning,
    private readonly watch: PathWatch,
    private readonly mtu: MtuChannel,
    accepted: AcceptedDestinations,
    private readonly lanes: FastLanes,
  ) {
    this.maxDatagram = maxDatagramBytes(ctx.tun.mtu);
    this.runs = new OpenRuns(ctx.sessions, ctx.counters);
    this.delivery = new IpDelivery(ctx, accepted);
    this.b = packetBinding();
    this.repeat = new RelayRepeat(ctx);
    const receive = ctx.transport.fastReceive;
    if (ctx.tun.fastLane && receive)
      lanes.rx = new RxLane(
        ctx,
        receive,
        ctx.tun.fastLane,
        (peer) => this.delivery.innerAddresses(peer),
        (peer) => outbound.hasPending(peer),
      );
  }

  /** The transport's batch handler. The batch is valid only until this returns. */
  readonly onBatch = (batch: RxBatch): void => {
    this.inBatch++;
    try {
      this.batch(batch);
    } finally {
      this.inBatch--;
    }
  };

  private batch(batch: RxBatch): void {
    const { buffer: buf, offsets, lengths, count } = batch;
    if (batch.overflowDrops) this.ctx.counters.drop('socket-full', batch.overflowDrops);
    for (const f of batch.filteredInitiations ?? [])
      if (f.count) this.ctx.counters.rejectHandshake(f.reason, f.count);
    this.runs.reset(count);
    this.delivery.reset(count);
    this.repeat.reset();
    this.forUs.clear();
    for (let i = 0; i < count; i++) {
      const o = offsets[i]!;
      const len = lengths[i]!;
      const from = batch.source(i);
      // The common cases without a header object: the next packet of a flow for us, or to relay.
      if (len <= this.maxDatagram && this.forUs.matches(buf, o, len, from)) {
        const a = o + 4 + 4 * buf[o + 2]!;
        if (len - (a - o) >= 8 + MIN_DATA_BODY) {
          this.runs.add(i, buf.readUInt32BE(a + 8), buf.readUInt32BE(a));
          continue;
        }
      }
      if (this.repeat.tryRelay(buf, o, len, from)) continue;
      this.current = i;
      this.receive(buf.subarray(o, o + len), from);
    }
    const now = this.ctx.clock.now();
    for (const run of this.runs.each()) this.openRun(batch, run, now);
    this.delivery.flush(buf);
    // What this batch changed (a route, a session, a link) reaches the fast lanes (fast-lanes.ts).
    this.lanes.afterBatch(now);
  }

  /**
   * One datagram. Called outside a batch (tests, tools) it makes a batch of one; inside, it gets each
   * datagram that is not the repeat of one already checked. `data` may be borrowed: valid only until
   * this returns.
   */
  readonly receive = (data: Buffer, from: Endpoint): void => {
    const { ctx } = this;
    if (this.inBatch === 0) return this.onBatch(this.single.set(data, from));
    const len = data.length;
    if (len > this.maxDatagram) return ctx.counters.drop('oversized');
    const h = parseRoutedHeader(data, len);
    if (typeof h === 'string') return ctx.counters.drop(h as DropReason);
    if (h.dst !== ctx.self) {
      this.repeat.remember(data, h, from);
      return this.repeat.decided(relay(ctx, this.nextHops, data, h, from));
    }
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
      case PacketType.CookieReply:
        return this.control.receiveCookieReply(data, h, from, now);
      case PacketType.Data:
        if (len < h.bodyOffset + MIN_DATA_BODY) return ctx.counters.drop('truncated');
        this.forUs.set(data, h.bodyOffset, from);
        return this.runs.add(this.current, data.readUInt32BE(h.addrOffset + 8), h.src);
    }
  };

  /** Opens one run natively and follows up on each packet. */
  private openRun(batch: RxBatch, run: OpenRun, now: number): void {
    const { ctx } = this;
    if (run.keypair.isExpired(now)) return ctx.counters.drop('expired', run.n);
    const addrs = this.delivery.innerAddresses(run.peer);
    if (addrs === undefined) return ctx.counters.drop('not-for-member', run.n);
    if (this.results.length < run.n) this.results = new Int32Array(batch.count);
    const d = this.delivery;
    const before = d.count;
    d.count = this.b.pkt_open_batch(
      run.keypair.state,
      batch.buffer,
      batch.offsets,
      batch.lengths,
      run.list,
      run.n,
      addrs.bytes,
      addrs.flags,
      this.results,
      d.offsets,
      d.lengths,
      before,
    );
    if (batch.shed !== undefined) this.shedMarked(batch.shed, run, before);
    let opened = 0;
    let learnedFrom: Endpoint | undefined;
    let learnedRoute = -1;
    for (let k = 0; k < run.n; k++) {
      const r = this.results[k]!;
      // Refused by the AEAD (truncated, replayed, forged, expired): nothing in it can be trusted.
      if (r < 0 && r > OpenCode.NotIp) {
        ctx.counters.drop(openErrorReason(r) as DropReason);
        continue;
      }
      // Authentic from here on, even when the inner checks refuse what it carries.
      opened++;
      const i = run.list[k]!;
      const from = batch.source(i);
      const o = batch.offsets[i]!;
      const routeLen = batch.buffer[o + 2]!;
      if (from !== learnedFrom || routeLen !== learnedRoute) {
        // Once per source and route shape, not per packet: what the path teaches does not change.
        const view = batch.buffer.subarray(o, o + batch.lengths[i]!);
        this.learning.learn(view, parseRoutedHeader(view, view.length) as RoutedHeader, from, now);
        learnedFrom = from;
        learnedRoute = routeLen;
      }
      if (r === OpenCode.OtherKind) this.dispatch(batch, i, from, now);
      else if (r < 0) ctx.counters.drop(INNER_REASONS[r] ?? 'bad-inner');
      else if (routeLen === 0)
        this.lanes.rx?.want(run.peer, batch.buffer.readUInt32BE(o + DIRECT_RECEIVER_INDEX), from);
    }
    if (opened === 0) return;
    run.keypair.receivedAny = true;
    ctx.sessions.confirmReceived(run.peer, run.keypair);
    // Data on a fresh keypair confirms it (the responder's side): what waited for it can go now.
    if (this.outbound.hasPending(run.peer)) this.outbound.flushPending(run.peer, now);
    this.countDelivered(run.peer, before, d.count);
  }

  /**
   * Takes the IP packets of this run whose datagrams the transport marked (a standing queue) off the
   * TUN list: dropping them after the open still spares the TUN write, and the flow's sender sees the
   * loss. Other kinds stay (results OtherKind, dispatched below).
   */
  private shedMarked(shed: Uint8Array, run: OpenRun, before: number): void {
    const d = this.delivery;
    let at = before; // the TUN list entry of the next delivered packet
    let kept = before;
    for (let k = 0; k < run.n; k++) {
      if (this.results[k] !== OpenCode.Delivered) continue;
      if (shed[run.list[k]!] !== 1) {
        d.offsets[kept] = d.offsets[at]!;
        d.lengths[kept] = d.lengths[at]!;
        kept++;
      }
      at++;
    }
    if (kept === at) return;
    d.count = kept;
    this.ctx.counters.drop('queue-delay', at - kept);
  }

  private countDelivered(src: NodeId, from: number, to: number): void {
    if (to === from) return;
    const t = this.ctx.counters.peer(src);
    t.rxPackets += to - from;
    for (let j = from; j < to; j++) t.rxBytes += this.delivery.lengths[j]!;
  }

  /** An authenticated packet of another inner kind than IP: the control channel's or the path watch's. */
  private dispatch(batch: RxBatch, i: number, from: Endpoint, now: number): void {
    const o = batch.offsets[i]!;
    const data = batch.buffer.subarray(o, o + batch.lengths[i]!);
    const h = parseRoutedHeader(data, data.length) as RoutedHeader;
    const pt = h.addrOffset + DATA_AD_BYTES;
    const n = data.length - pt - AEAD_TAG_BYTES;
    switch (data[pt]) {
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
      case InnerKind.MtuProbe:
        return this.mtu.onProbe(data, h, from, now);
      case InnerKind.MtuProbeReply:
        return this.mtu.onReply(data, h, pt, n, from, now);
      default:
        return this.ctx.counters.drop('bad-inner');
    }
  }
}
