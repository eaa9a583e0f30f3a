// The last step inbound: opened IP packets go to the TUN, one batch write per received batch (the TUN
// coalesces the segments of each flow). Cryptokey routing decides what may go there; the checks run
// natively inside the batch open (native/packet.c check_inner), on what this module hands them:
//   - the inner source must be the sending member's own overlay address (a member can't speak for
//     another address);
//   - the inner destination must be one this node accepts (accepted-destinations.ts: by default our own
//     overlay addresses, so a member can't reach what lies behind our TUN);
//   - the IP length must fit the packet (padding after it is cut).
import type { NodeId } from '../identity/node-id.js';
import {
  OPEN_ADDRS_BYTES,
  OPEN_ADDRS_V4,
  OPEN_ADDRS_V6,
  OPEN_HAS_PEER6,
  OPEN_MAX_PREFIXES,
} from '../native/packet-binding.js';
import type { AcceptedDestinations } from './accepted-destinations.js';
import type { ForwardContext } from './context.js';
import type { Member } from './peer-table.js';

/** What the native checks compare a member's packets with (native/packet.c address block). */
export interface InnerAddresses {
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
  /** The accepted destinations, encoded once (the same for every member). */
  private readonly destinations: Uint8Array;

  constructor(
    private readonly ctx: ForwardContext,
    accepted: AcceptedDestinations,
  ) {
    this.destinations = encodeDestinations(accepted);
  }

  /** Starts a received batch of up to `n` datagrams. */
  reset(n: number): void {
    this.count = 0;
    if (n > this.offsets.length) {
      this.offsets = new Uint32Array(n);
      this.lengths = new Uint32Array(n);
    }
  }

  /** The address block for packets from `src`, or undefined if it is no member. */
  innerAddresses(src: NodeId): InnerAddresses | undefined {
    const member = this.ctx.peers.get(src);
    if (!member) return undefined;
    let a = this.addresses.get(member);
    if (a === undefined) {
      const bytes = Uint8Array.from(this.destinations);
      new DataView(bytes.buffer).setUint32(0, member.addr4);
      if (member.addr6Key) bytes.set(Buffer.from(member.addr6Key, 'latin1'), 4);
      a = { bytes, flags: member.addr6Key ? OPEN_HAS_PEER6 : 0 };
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

/** The accepted destination prefixes in the native block (member addresses left zero). */
function encodeDestinations(accepted: AcceptedDestinations): Uint8Array {
  const bytes = new Uint8Array(OPEN_ADDRS_BYTES);
  const view = new DataView(bytes.buffer);
  const v4 = accepted.ipv4Prefixes();
  const v6 = accepted.ipv6Prefixes();
  if (v4.length > OPEN_MAX_PREFIXES || v6.length > OPEN_MAX_PREFIXES) {
    throw new RangeError(`at most ${OPEN_MAX_PREFIXES} accepted destination prefixes per family`);
  }
  bytes[20] = v4.length;
  bytes[21] = v6.length;
  v4.forEach((p, i) => {
    view.setUint32(OPEN_ADDRS_V4 + 8 * i, p.net);
    view.setUint32(OPEN_ADDRS_V4 + 8 * i + 4, p.mask);
  });
  v6.forEach((p, i) => {
    bytes.set(Buffer.from(p.net, 'latin1'), OPEN_ADDRS_V6 + 20 * i);
    bytes[OPEN_ADDRS_V6 + 20 * i + 16] = p.bits;
  });
  return bytes;
}
