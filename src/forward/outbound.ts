// Outbound: TUN → member → route → seal → transport. In the order a packet meets it:
//   1. onTunBatch: a batch read from the TUN (a TUN with offloads has already cut its 64 kB reads into
//      path-MTU packets); one clock read and one transport flush per batch
//   2. per packet: destination address → member (cryptokey routing: its overlay address, or the gateway
//      now carrying the member subnet that holds it, peers.routeIpv4/routeIpv6); multicast, strays and
//      packets too big for a datagram dropped. Consecutive packets to one member form a run: the
//      address lookup is skipped while the destination does not change
//   3. per run: the forwarding entry (forwarding-table.ts: keypair, first hop, encoded routed header);
//      no session yet → the packets wait for a handshake (pending-queue.ts)
//   4. per run, one native call (native/packet.c pkt_seal_batch): header + AEAD seal of every packet,
//      straight from the TUN batch into the transport's send slots
//      A packet larger than its path's MTU (pmtu/mtu-channel.ts: the smallest link along the route, less
//      the relays' headers) is not sealed: too-big.ts fragments it (IPv4, DF clear) or answers it with
//      ICMP "fragmentation needed" / "packet too big" on the TUN; with network.mssClamp, the MSS of a
//      TCP SYN is lowered to the path MTU (mss-clamp.ts)
//   5. per run: PathWatch.noteData: the destination carries data, so its path is watched end to end
import type { NodeId } from '../identity/node-id.js';
import { packetBinding, type PacketBinding } from '../native/packet-binding.js';
import type { TunBatch } from '../tun/tun-device.js';
import { InnerKind } from '../wire/constants.js';
import { MAX_DATA_OVERHEAD, maxDatagramBytes } from '../wire/sizes.js';
import type { ForwardContext } from './context.js';
import { ForwardingTable } from './forwarding-table.js';
import { ipv4Dst, ipv6Dst, ipVersion, isIpv4Multicast, isIpv6Multicast } from './ip-packet.js';
import type { NextHops } from './next-hop.js';
import type { PathWatch } from './path-watch.js';
import { PendingQueue } from './pending-queue.js';
import type { Sealer } from './sealer.js';
import type { MtuChannel } from '../pmtu/mtu-channel.js';
import { TooBig } from './too-big.js';
import { clampMss } from './mss-clamp.js';
import { FastLane } from './fast-lane.js';
import type { FastLanes } from './fast-lanes.js';

export class Outbound {
  private readonly pending = new PendingQueue();
  private readonly table: ForwardingTable;
  private readonly b: PacketBinding;
  /** Largest IP packet that fits a datagram along the longest route. */
  private readonly maxPacket: number;
  private readonly tooBig: TooBig;

  constructor(
    private readonly ctx: ForwardContext,
    nextHops: NextHops,
    private readonly sealer: Sealer,
    private readonly watch: PathWatch,
    private readonly mtu: MtuChannel,
    private readonly lanes: FastLanes,
  ) {
    this.table = new ForwardingTable(ctx, nextHops);
    this.b = packetBinding();
    this.maxPacket = maxDatagramBytes(ctx.tun.mtu) - MAX_DATA_OVERHEAD;
    this.tooBig = new TooBig(ctx, (dst, plaintext, now) => this.sendSealed(dst, plaintext, now, true));
    const port = ctx.tun.fastLane;
    lanes.tx =
      port &&
      new FastLane(
        ctx,
        this.table,
        watch,
        (dst, now) => Math.min(this.maxPacket, this.mtu.pathMtuTo(dst, now)),
        port,
      );
  }

  /** The TUN's batch handler. The batch is valid only until it returns. */
  readonly onTunBatch = (batch: TunBatch): void => {
    const { peers, counters, self } = this.ctx;
    // One clock read per batch: a batch is read in microseconds, far below any timer we keep.
    const now = this.ctx.clock.now();
    const { buffer, stride, headroom, lengths, count } = batch;
    let runDst: NodeId = 0;
    let runFirst = 0;
    // The destination of the previous packet: while it repeats, so does the member.
    let lastV4 = -1;
    let lastV6Off = -1;
    // The path MTU of the last destination looked up (routes don't change within a batch).
    let mtuDst: NodeId = 0;
    let mtu = 0;
    for (let i = 0; i < count; i++) {
      const off = i * stride + headroom;
      const len = lengths[i]!;
      const version = ipVersion(buffer, off, len);
      let dst = runDst;
      if (version === 4) {
        const addr = ipv4Dst(buffer, off);
        if (addr !== lastV4 || runDst === 0) {
          const m = peers.routeIpv4(addr);
          if (!m && isIpv4Multicast(addr)) dst = -1;
          else dst = m ? m.id : 0;
          lastV4 = dst > 0 ? addr : -1;
        }
        lastV6Off = -1;
      } else if (version === 6) {
        if (lastV6Off < 0 || runDst === 0 || !sameIpv6Dst(buffer, off, lastV6Off)) {
          const key = ipv6Dst(buffer, off);
          const m = peers.routeIpv6(key);
          if (!m && isIpv6Multicast(key)) dst = -1;
          else dst = m ? m.id : 0;
        }
        lastV6Off = dst > 0 ? off : -1;
        lastV4 = -1;
      } else {
        dst = -2;
      }
      if (dst <= 0 || dst === self || len > this.maxPacket) {
        // Not sendable: close the run before it, count why.
        if (runDst !== 0) this.sealRun(batch, runDst, runFirst, i - runFirst, now);
        runDst = 0;
        lastV4 = -1;
        lastV6Off = -1;
        counters.drop(
          dst === -1
            ? 'not-unicast'
            : dst === -2
              ? 'not-ip'
              : dst === 0 || dst === self
                ? 'no-member'
                : 'oversized',
        );
        continue;
      }
      if (dst !== mtuDst) {
        mtuDst = dst;
        mtu = this.mtu.pathMtuTo(dst, now);
      }
      if (len > mtu) {
        if (runDst !== 0) this.sealRun(batch, runDst, runFirst, i - runFirst, now);
        runDst = 0;
        lastV4 = -1;
        lastV6Off = -1;
        this.tooBig.handle(buffer, off, len, version as 4 | 6, dst, mtu, now);
        continue;
      }
      if (this.ctx.mssClamp && clampMss(buffer, off, len, version as 4 | 6, mtu)) counters.mssClamped++;
      if (dst !== runDst) {
        if (runDst !== 0) this.sealRun(batch, runDst, runFirst, i - runFirst, now);
        runDst = dst;
        runFirst = i;
      }
    }
    if (runDst !== 0) this.sealRun(batch, runDst, runFirst, count - runFirst, now);
    // One sendmmsg (GSO runs) for the whole batch.
    this.ctx.transport.flush();
    this.lanes.afterBatch(now);
  };

  /** Seals TUN packets [first, first+n) of `batch`, all for `dst`, into the transport's send slots. */
  private sealRun(batch: TunBatch, dst: NodeId, first: number, n: number, now: number): void {
    const { ctx } = this;
    const { buffer, stride, headroom, lengths } = batch;
    const entry = this.table.lookup(dst, now);
    if (entry === 'no-session') {
      // Kind byte in the headroom: the queued plaintext is then one copy of kind + packet.
      for (let i = first; i < first + n; i++) {
        const off = i * stride + headroom;
        buffer[off - 1] = InnerKind.IPPacket;
        if (!this.pending.push(dst, buffer.subarray(off - 1, off + lengths[i]!)))
          ctx.counters.drop('no-session');
      }
      ctx.sessions.noteWantToSend(dst, now);
      return;
    }
    if (entry === 'no-route') return ctx.counters.drop('no-route', n);
    const { keypair, target } = entry;
    let i = first;
    const end = first + n;
    let lost: 'expired' | 'no-route' = 'expired';
    while (i < end) {
      const slots = ctx.transport.reserve(target.endpoint, end - i);
      if (slots === undefined) {
        lost = 'no-route'; // the transport cannot send there (and counted why)
        break;
      }
      const sealed = this.b.pkt_seal_batch(
        keypair.state,
        entry.header,
        entry.headerLength,
        buffer,
        stride,
        headroom,
        lengths,
        i,
        slots.count,
        InnerKind.IPPacket,
        slots.buffer,
        slots.slotSize,
        slots.first,
        slots.lengths,
      );
      ctx.transport.commit(sealed);
      this.countSent(dst, lengths, i, sealed, now);
      i += sealed;
      if (sealed < slots.count) {
        // The keypair's counter is exhausted: a fresh handshake is the only way forward.
        ctx.sessions.noteWantToSend(dst, now);
        break;
      }
    }
    if (i < end) ctx.counters.drop(lost, end - i);
    ctx.prober.markActive(target.nextHop, now);
    if (i > first) this.lanes.tx?.want(dst);
  }

  /** Counts packets [first, first+n) as sent, and tells the path watch the largest (kind byte included). */
  private countSent(dst: NodeId, lengths: Uint32Array, first: number, n: number, now: number): void {
    if (n === 0) return;
    const t = this.ctx.counters.peer(dst);
    t.txPackets += n;
    let largest = 0;
    for (let i = first; i < first + n; i++) {
      const len = lengths[i]!;
      t.txBytes += len;
      if (len > largest) largest = len;
    }
    this.watch.noteData(dst, largest + 1, now);
  }

  /**
   * Seals `plaintext` (inner kind + payload) for `dst` along its route. Without a session the packet
   * is queued (if `queue`) and a handshake requested. Returns the datagram's size, 0 if none left.
   * Only data marks the first hop "in use": control traffic and probe echoes must not, or two idle
   * neighbours would keep each other on the fast probe schedule forever.
   */
  sendSealed(dst: NodeId, plaintext: Uint8Array, now: number, isData: boolean, queue = isData): number {
    const { counters } = this.ctx;
    const entry = this.table.lookup(dst, now);
    if (entry === 'no-session') {
      if (queue && !this.pending.push(dst, plaintext)) counters.drop('no-session');
      this.ctx.sessions.noteWantToSend(dst, now);
      return 0;
    }
    if (entry === 'no-route') {
      counters.drop('no-route');
      return 0;
    }
    const size = this.sealer.seal(entry.keypair, dst, entry.target, plaintext, now, isData);
    if (size > 0 && isData) {
      this.watch.noteData(dst, plaintext.length, now);
      if (plaintext[0] === InnerKind.IPPacket) {
        const t = counters.peer(dst);
        t.txPackets++;
        t.txBytes += plaintext.length - 1;
      }
    }
    return size;
  }

  /** True if packets wait for a session with `peer`. */
  hasPending(peer: NodeId): boolean {
    return this.pending.has(peer);
  }

  /** Sends what waited for a session with `peer`. */
  flushPending(peer: NodeId, now: number): void {
    for (const plaintext of this.pending.take(peer)) this.sendSealed(peer, plaintext, now, true, false);
  }

  /** Drops state kept for a member that left the configuration. */
  forget(peer: NodeId): void {
    this.pending.drop(peer);
    this.table.forget(peer);
  }
}

/** True if the IPv6 packets at `a` and `b` have the same destination address. */
function sameIpv6Dst(buf: Buffer, a: number, b: number): boolean {
  return (
    buf.readUInt32BE(a + 24) === buf.readUInt32BE(b + 24) &&
    buf.readUInt32BE(a + 28) === buf.readUInt32BE(b + 28) &&
    buf.readUInt32BE(a + 32) === buf.readUInt32BE(b + 32) &&
    buf.readUInt32BE(a + 36) === buf.readUInt32BE(b + 36)
  );
}
