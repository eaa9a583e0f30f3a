// What outbound does with a packet read from the TUN that is larger than its path's MTU (pmtu/): the
// sender must learn the path MTU, or a TCP connection over an MTU black hole hangs at its first full
// segment.
//   - IPv4 with DF clear: fragmented to the path MTU and sent (ipv4-fragment.ts says why);
//   - otherwise: dropped (reason `too-big`), and an ICMP "fragmentation needed" / ICMPv6 "packet too
//     big" with the path MTU is written back to the TUN (icmp-too-big.ts), rate-limited (a bulk sender
//     produces one per segment in flight until its stack reacts).
//
// The error's source is the packet's destination (as if the path to it answered), not this node's own
// overlay address: the error arrives on this very host, whose kernel drops an IPv4 packet coming in from
// an interface with one of its own addresses as source (a martian, fib_validate_source; accept_local
// would have to be set on the TUN). Measured in test/netns/path-mtu.test.ts: with the node's address the
// sender never hears of the MTU and the transfer stalls. The kernel acts on "fragmentation needed" and
// "packet too big" from any source (they quote the packet they are about), so nothing is lost, and IPv6
// does the same for one rule.
//
// With TUN offloads, the kernel's TCP hands over super-packets whose segment size (gso_size) comes from
// its MSS, which follows the route's PMTU: the first ICMP lowers it, and the super-packets read after it
// are already cut to the path MTU by native/offload.c. The segments cut before (at the TUN's MTU) are
// refused here one by one like any packet, and TCP retransmits them at the new size; re-cutting them in
// user space would hide the path MTU from the sender, which would then keep making segments too big.
//
// IPv6 policy for paths below 1280 bytes (a link that can't carry a 1280-byte IPv6 underlay packet): an
// IPv6 sender may not go below 1280 (RFC 8200 5), so the error says 1280, and packets up to 1280 bytes
// are sent as they are — they may be lost on such a link. Status shows the path MTU, so an operator sees
// the path that can't carry IPv6's minimum; IPv4 senders are told the real path MTU.
import type { NodeId } from '../identity/node-id.js';
import { TokenBucket, type BucketShape } from '../routing/token-bucket.js';
import { MIN_MTU } from '../wire/sizes.js';
import { InnerKind } from '../wire/constants.js';
import type { ForwardContext } from './context.js';
import { ICMP6_MAX_BYTES, writeFragNeeded, writePacketTooBig } from './icmp-too-big.js';
import { fragmentIpv4, ipv4DontFragment } from './ipv4-fragment.js';

/** ICMP errors written to the TUN: a burst for a window of segments, then a steady trickle. */
export const TOO_BIG_ICMP_RATE: Readonly<BucketShape> = Object.freeze({ capacity: 50, perSecond: 100 });

export type SendPlaintext = (dst: NodeId, plaintext: Uint8Array, now: number) => void;

export class TooBig {
  private readonly bucket: TokenBucket;
  private readonly out = Buffer.alloc(ICMP6_MAX_BYTES);
  private fragScratch = Buffer.alloc(0);
  private readonly offsets = new Uint32Array(1);
  private readonly lengths = new Uint32Array(1);

  constructor(
    private readonly ctx: ForwardContext,
    private readonly send: SendPlaintext,
  ) {
    this.bucket = new TokenBucket(TOO_BIG_ICMP_RATE, ctx.clock.now());
  }

  /**
   * Packet pkt[off, off+len) (IP version `version`, read from the TUN, one byte of headroom before it)
   * for `dst` exceeds its path MTU `mtu`: fragments, the IPv6 floor, or a drop answered with ICMP.
   */
  handle(pkt: Buffer, off: number, len: number, version: 4 | 6, dst: NodeId, mtu: number, now: number): void {
    const { counters } = this.ctx;
    if (version === 4 && !ipv4DontFragment(pkt, off)) {
      if (this.fragment(pkt, off, len, dst, mtu, now)) return;
    }
    if (version === 6 && mtu < MIN_MTU && len <= MIN_MTU) {
      // See the policy above: IPv6 never goes below 1280.
      pkt[off - 1] = InnerKind.IPPacket;
      this.send(dst, pkt.subarray(off - 1, off + len), now);
      return;
    }
    counters.drop('too-big');
    if (!this.bucket.take(1, TOO_BIG_ICMP_RATE, now)) {
      counters.tooBigIcmpLimited++;
      return;
    }
    // From the packet's own destination: see the note on the source address above.
    const n =
      version === 4
        ? writeFragNeeded(this.out, pkt, off, len, pkt.subarray(off + 16, off + 20), mtu)
        : writePacketTooBig(
            this.out,
            pkt,
            off,
            len,
            pkt.subarray(off + 24, off + 40),
            Math.max(mtu, MIN_MTU),
          );
    if (!n) return;
    this.lengths[0] = n;
    const r = this.ctx.tun.writeBatch(this.out, this.offsets, this.lengths, 1);
    if (r.written === 1) counters.tooBigIcmpSent++;
  }

  private fragment(pkt: Buffer, off: number, len: number, dst: NodeId, mtu: number, now: number): boolean {
    // Each fragment repeats the 20-byte header and has a byte of headroom before it.
    const room = len + 21 * (Math.ceil(len / Math.max(8, mtu - 28)) + 1);
    if (this.fragScratch.length < room) this.fragScratch = Buffer.alloc(room);
    const frags = fragmentIpv4(this.fragScratch, pkt, off, len, mtu);
    if (!frags) return false;
    for (let k = 0; k < frags.offsets.length; k++) {
      const at = frags.offsets[k]!;
      this.fragScratch[at - 1] = InnerKind.IPPacket;
      this.send(dst, this.fragScratch.subarray(at - 1, at + frags.lengths[k]!), now);
    }
    this.ctx.counters.fragmented++;
    return true;
  }
}
