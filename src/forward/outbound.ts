// Outbound: TUN → member → route → seal → transport. In the order a packet meets it:
//   1. onTunBatch: a batch read from the TUN; one clock read and one transport flush per batch
//   2. sendIp: destination overlay address → member (cryptokey routing); multicast and strays dropped
//   3. sendSealed: no session yet → queue the packet and ask for a handshake
//   4. NextHops.target: the source route chosen by routing/ (or a fallback before routing knows one)
//   5. Sealer.seal: routed header + AEAD, straight out of the TUN batch buffer
//   6. PathWatch.noteData: the destination carries data, so its path is watched end to end
import type { NodeId } from '../identity/node-id.js';
import type { TunBatch } from '../tun/tun-device.js';
import { InnerKind } from '../wire/constants.js';
import type { ForwardContext } from './context.js';
import { ipv4Dst, ipv6Dst, ipVersion, isIpv4Multicast, isIpv6Multicast } from './ip-packet.js';
import type { NextHops } from './next-hop.js';
import type { PathWatch } from './path-watch.js';
import { PendingQueue } from './pending-queue.js';
import type { Sealer } from './sealer.js';

export class Outbound {
  private readonly pending = new PendingQueue();

  constructor(
    private readonly ctx: ForwardContext,
    private readonly nextHops: NextHops,
    private readonly sealer: Sealer,
    private readonly watch: PathWatch,
  ) {}

  /** The TUN's batch handler. The batch is valid only until it returns. */
  readonly onTunBatch = (batch: TunBatch): void => {
    // One clock read per batch: a batch is read in microseconds, far below any timer we keep.
    const now = this.ctx.clock.now();
    const { buffer, stride, headroom, lengths, count } = batch;
    for (let i = 0; i < count; i++) this.sendIp(buffer, i * stride + headroom, lengths[i], now);
    // One sendmmsg for the whole batch.
    this.ctx.transport.flush();
  };

  /**
   * Sends one IP packet read from the TUN. The byte at `off - 1` must be writable scratch space (the
   * TUN batch headroom): the inner kind goes there so the plaintext is sealed without a copy.
   */
  sendIp(buf: Buffer, off: number, len: number, now: number): void {
    const { peers, counters, self } = this.ctx;
    const version = ipVersion(buf, off, len);
    let dst;
    if (version === 4) {
      const addr = ipv4Dst(buf, off);
      dst = peers.byIpv4(addr);
      if (!dst && isIpv4Multicast(addr)) return counters.drop('not-unicast');
    } else if (version === 6) {
      const key = ipv6Dst(buf, off);
      dst = peers.byIpv6(key);
      if (!dst && isIpv6Multicast(key)) return counters.drop('not-unicast');
    } else {
      return counters.drop('not-ip');
    }
    if (!dst || dst.id === self) return counters.drop('no-member');
    buf[off - 1] = InnerKind.IPPacket;
    const plaintext = buf.subarray(off - 1, off + len);
    if (this.sendSealed(dst.id, plaintext, now, true, true) > 0) {
      const t = counters.peer(dst.id);
      t.txPackets++;
      t.txBytes += len;
    }
  }

  /**
   * Seals `plaintext` (inner kind + payload) for `dst` along its route. Without a session the packet
   * is queued (if `queue`) and a handshake requested. Returns the datagram's size, 0 if none left.
   * Only data marks the first hop "in use": control traffic and probe echoes must not, or two idle
   * neighbours would keep each other on the fast probe schedule forever.
   */
  sendSealed(dst: NodeId, plaintext: Uint8Array, now: number, isData: boolean, queue = isData): number {
    const { sessions, counters } = this.ctx;
    const keypair = sessions.sendKeypair(dst, now);
    if (!keypair) {
      if (queue && !this.pending.push(dst, plaintext)) counters.drop('no-session');
      sessions.noteWantToSend(dst, now);
      return 0;
    }
    const target = this.nextHops.target(dst, now);
    if (!target) {
      counters.drop('no-route');
      return 0;
    }
    const sent = this.sealer.seal(keypair, dst, target, plaintext, now, isData);
    if (isData && sent > 0) this.watch.noteData(dst, plaintext.length, now);
    return sent;
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
  }
}
