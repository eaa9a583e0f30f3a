// Inbound: transport → (relay | open → check → TUN or control channel). In the order a packet meets it:
//   1. onBatch: a batch of datagrams (a transport with GRO has already split its coalesced receives);
//      one clock read, one TUN write per batch
//   2. per datagram: size and routed header. A Data packet for us from a member joins the run of the
//      keypair its receiver index names (open-runs.ts); anything else (handshakes, packets to relay,
//      anything malformed) takes receive(), one datagram at a time
//   3. per run, one native call (native/packet.c pkt_open_batch): replay pre-check, authenticate and
//      decrypt in place, move the replay window, then the inner checks of deliver-ip.ts; IP packets that
//      pass join the batch's TUN list
//   4. per run: what authenticated packets teach about the way back (path-learning.ts), a responder's
//      keypair confirmed, packets that waited for the session released; per packet: control-channel
//      kinds (probes, probe replies, routing control) dispatched, refusals counted by reason
//   5. the TUN list written in one batch (deliver-ip.ts)
import type { NodeId } from '../identity/node-id.js';
import { OpenCode, packetBinding, type PacketBinding } from '../native/packet-binding.js';
import { openErrorReason } from '../session/keypair.js';
import { SingleBatch } from '../transport/queued-sends.js';
import type { Endpoint, RxBatch } from '../transport/transport.js';
import {
  ADDRESS_BYTES,
  AEAD_TAG_BYTES,
  DATA_FIELDS_BYTES,
  InnerKind,
  MAX_ROUTE_RELAYS,
  PacketType,
  ROUTE_PREFIX_BYTES,
} from '../wire/constants.js';
import { parseRoutedHeader, type RoutedHeader } from '../wire/routed-header.js';
import { maxDatagramBytes } from '../wire/sizes.js';
import type { ForwardContext } from './context.js';
import type { ControlChannel } from './control-channel.js';
import type { DropReason } from './counters.js';
import { IpDelivery } from './deliver-ip.js';
import type { NextHops } from './next-hop.js';
import { OpenRuns, type OpenRun } from './open-runs.js';
import type { Outbound } from './outbound.js';
import type { PathLearning } from './path-learning.js';
import { relay } from './relay.js';
import { RelayRepeat } from './relay-repeat.js';

/** Receiver index + counter after the addresses. */
const DATA_AD_BYTES = 20;
/** The smallest Data packet: direct header, fields, one inner-kind byte, tag. */
const MIN_DATA_BYTES = ROUTE_PREFIX_BYTES + ADDRESS_BYTES + DATA_FIELDS_BYTES + 1 + AEAD_TAG_BYTES;

/** Drop reasons for the inner checks of the native open (the AEAD ones map through openErrorReason). */
const INNER_REASONS: Record<number, DropReason> = {
  [OpenCode.NotIp]: 'not-ip',
  [OpenCode.SpoofedSource]: 'spoofed-source',
  [OpenCode.NotForUs]: 'not-for-us',
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
  private readonly single = new SingleBatch();
  private readonly repeat: RelayRepeat;

  constructor(
    private readonly ctx: ForwardContext,
    private readonly nextHops: NextHops,
    private readonly outbound: Outbound,
    private readonly control: ControlChannel,
    private readonly learning: PathLearning,
  ) {
    this.maxDatagram = maxDatagramBytes(ctx.tun.mtu);
    this.runs = new OpenRuns(ctx.sessions, ctx.counters);
    this.delivery = new IpDelivery(ctx);
    this.b = packetBinding();
    this.repeat = new RelayRepeat(ctx);
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
    const { ctx } = this;
    const { buffer: buf, offsets, lengths, count } = batch;
    const self = ctx.self;
    this.runs.reset(count);
    this.delivery.reset(count);
    this.repeat.reset();
    for (let i = 0; i < count; i++) {
      const o = offsets[i]!;
      const len = lengths[i]!;
      // The common case without a header object: Data for us, from a member, well formed.
      if (len >= MIN_DATA_BYTES && len <= this.maxDatagram && buf[o] === PacketType.Data) {
        const routeLen = buf[o + 2]!;
        const a = o + ROUTE_PREFIX_BYTES + 4 * routeLen;
        if (routeLen <= MAX_ROUTE_RELAYS && buf[o + 3]! <= routeLen && len >= a - o + MIN_DATA_BYTES - 4) {
          const src = buf.readUInt32BE(a);
          if (buf.readUInt32BE(a + 4) === self && src !== self && src !== 0 && ctx.peers.has(src)) {
            this.runs.add(i, buf.readUInt32BE(a + 8), src);
            continue;
          }
        }
      }
      const from = batch.source(i);
      // A relayed bulk flow: the same header as the packet before it, the same decision.
      if (this.repeat.tryRelay(buf, o, len, from)) continue;
      this.receive(buf.subarray(o, o + len), from);
    }
    const now = ctx.clock.now();
    for (const run of this.runs.each()) this.openRun(batch, run, now);
    this.delivery.flush(buf);
  }

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
    }
    if (opened === 0) return;
    run.keypair.receivedAny = true;
    ctx.sessions.confirmReceived(run.peer, run.keypair);
    // Data on a fresh keypair confirms it (the responder's side): what waited for it can go now.
    if (this.outbound.hasPending(run.peer)) this.outbound.flushPending(run.peer, now);
    this.countDelivered(run.peer, before, d.count);
  }

  private countDelivered(src: NodeId, from: number, to: number): void {
    if (to === from) return;
    const t = this.ctx.counters.peer(src);
    t.rxPackets += to - from;
    for (let j = from; j < to; j++) t.rxBytes += this.delivery.lengths[j]!;
  }

  /** An authenticated packet of another inner kind than IP: the control channel's. */
  private dispatch(batch: RxBatch, i: number, from: Endpoint, now: number): void {
    const o = batch.offsets[i]!;
    const data = batch.buffer.subarray(o, o + batch.lengths[i]!);
    const h = parseRoutedHeader(data, data.length) as RoutedHeader;
    const pt = h.addrOffset + DATA_AD_BYTES;
    this.inner(data, h, pt, data.length - pt - AEAD_TAG_BYTES, from, now);
  }

  private inner(data: Buffer, h: RoutedHeader, pt: number, n: number, from: Endpoint, now: number): void {
    switch (data[pt]) {
      case InnerKind.IPPacket:
        return; // the batch path delivers these
      case InnerKind.Keepalive:
        return;
      case InnerKind.Probe:
        return this.control.onProbe(data, h, pt, n, from, now);
      case InnerKind.ProbeReply:
        return this.control.onProbeReply(data, h, pt, n, from, now);
      case InnerKind.Control:
        return this.control.onControl(data, h, pt, n, now);
      default:
        return this.ctx.counters.drop('bad-inner');
    }
  }

  /**
   * One datagram. Called outside a batch (tests, tools) it makes a batch of one; inside, it gets what
   * is not a well-formed Data packet for us: handshakes, packets to relay, anything malformed. `data`
   * may be borrowed: valid only until this returns.
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
    const now = ctx.clock.now();
    switch (h.type) {
      case PacketType.HandshakeInit:
        return this.control.receiveInitiation(data, h, from, now);
      case PacketType.HandshakeResponse:
        return this.control.receiveResponse(data, h, from, now);
      case PacketType.Data:
        // Well-formed ones took the batch path: what is left here is too short to hold anything.
        return ctx.counters.drop('truncated');
    }
  };
}
