// The last step inbound: opened IP packets go to the TUN, one batch write per received batch (the TUN
// coalesces the segments of each flow). Cryptokey routing decides what may go there; the checks run
// natively inside the batch open (native/packet.c check_inner), on what this module hands them:
//   - the inner source must be the sending member's own overlay address (a member can't speak for
//     another address);
//   - the inner destination must be one of this node's overlay addresses (a member can't reach what
//     sits behind our TUN);
//   - the IP length must fit the packet (padding after it is cut).
import type { NodeId } from '../identity/node-id.js';
import {
  OPEN_ADDRS_BYTES,
  OPEN_ADDRS_PEER4,
  OPEN_ADDRS_PEER6,
  OPEN_ADDRS_SELF4,
  OPEN_ADDRS_SELF6,
  OPEN_HAS_PEER6,
  OPEN_HAS_SELF6,
} from '../native/packet-binding.js';
import type { ForwardContext } from './context.js';
import type { Member } from './peer-table.js';

/** What the native checks compare a member's packets with. */
export interface InnerAddresses {
  /** Member IPv4, member IPv6, our IPv4, our IPv6 (OPEN_ADDRS_* layout). */
  readonly bytes: Uint8Array;
  readonly flags: number;
}

export class IpDelivery {
  /** The packets to write: offsets and lengths in the received batch's buffer, [0, count). */
  offsets = new Uint32Array(64);
  lengths = new Uint32Array(64);
  count = 0;
  // Per member object: PeerTable replaces members on reload, so a changed address is a new key.
  private readonly addresses = new WeakMap<Member, InnerAddresses>();

  constructor(private readonly ctx: ForwardContext) {}

  /** Starts a received batch of up to `n` datagrams. */
  reset(n: number): void {
    this.count = 0;
    if (n > this.offsets.length) {
      this.offsets = new Uint32Array(n);
      this.lengths = new Uint32Array(n);
    }
  }

  /** The address block for packets from `src`, or undefined if it (or we) is no member. */
  innerAddresses(src: NodeId): InnerAddresses | undefined {
    const member = this.ctx.peers.get(src);
    const self = this.ctx.peers.get(this.ctx.self);
    if (!member || !self) return undefined;
    let a = this.addresses.get(member);
    if (a === undefined) {
      const bytes = new Uint8Array(OPEN_ADDRS_BYTES);
      const view = new DataView(bytes.buffer);
      view.setUint32(OPEN_ADDRS_PEER4, member.addr4);
      view.setUint32(OPEN_ADDRS_SELF4, self.addr4);
      let flags = 0;
      if (member.addr6Key) {
        bytes.set(Buffer.from(member.addr6Key, 'latin1'), OPEN_ADDRS_PEER6);
        flags |= OPEN_HAS_PEER6;
      }
      if (self.addr6Key) {
        bytes.set(Buffer.from(self.addr6Key, 'latin1'), OPEN_ADDRS_SELF6);
        flags |= OPEN_HAS_SELF6;
      }
      a = { bytes, flags };
      this.addresses.set(member, a);
    }
    return a;
  }

  /** Writes the packets of this batch to the TUN; counts what the TUN refused. */
  flush(buf: Buffer): void {
    if (this.count === 0) return;
    const { ctx } = this;
    const w = ctx.tun.writeBatch(buf, this.offsets, this.lengths, this.count);
    if (w.dropped > 0) ctx.counters.drop('tun-full', w.dropped);
    if (w.failed > 0) ctx.counters.drop('tun-error', w.failed);
    this.count = 0;
  }
}
