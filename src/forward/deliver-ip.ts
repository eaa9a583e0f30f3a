// The last step inbound: opened IP packets go to the TUN, one batch write per received batch (the TUN
// coalesces the segments of each flow). Cryptokey routing decides what may go there; the checks run
// natively inside the batch open (native/packet.c check_inner), on what this module hands them:
//   - the inner source must be the sending member's own overlay address or inside a subnet it lists
//     (a member can't speak for another address, nor for another member's LAN);
//   - the inner destination must be one this node accepts (accepted-destinations.ts: our own overlay
//     addresses and our own subnets, so a member can't reach what else lies behind our TUN);
//   - the IP length must fit the packet (padding after it is cut).
import type { NodeId } from '../identity/node-id.js';
import {
  OPEN_ADDRS_BYTES,
  OPEN_ADDRS_V4,
  OPEN_ADDRS_SRC_V4,
  OPEN_ADDRS_SRC_V6,
  OPEN_ADDRS_V6,
  OPEN_HAS_PEER6,
  OPEN_MAX_PREFIXES,
} from '../native/packet-binding.js';
import { prefix4, type AcceptedDestinations, type Prefix4, type Prefix6 } from './accepted-destinations.js';
import type { ForwardContext } from './context.js';
import { ipv4ToNumber, ipv6ToKey } from './ip-packet.js';
import type { Member } from './peer-table.js';
import type { SubnetRoute } from './subnet-table.js';

/** What the native checks compare a member's packets with (native/packet.c address block). */
export interface InnerAddresses {
  readonly bytes: Uint8Array;
  readonly flags: number;
  /** AcceptedDestinations.version it was built from: older blocks are rebuilt (reload). */
  readonly version: number;
}

export class IpDelivery {
  /** The packets to write: offsets and lengths in the received batch's buffer, [0, count). */
  offsets = new Uint32Array(64);
  lengths = new Uint32Array(64);
  count = 0;
  // Per member object: PeerTable replaces members on reload, so a changed address or subnet list is a
  // new key; the version check below also catches a reload that changed only our own destinations.
  private readonly addresses = new WeakMap<Member, InnerAddresses>();
  /** The accepted destinations, encoded once per version (the same for every member). */
  private destinations: Uint8Array | undefined;
  private destinationsVersion = -1;

  constructor(
    private readonly ctx: ForwardContext,
    private readonly accepted: AcceptedDestinations,
  ) {}

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
    const { peers } = this.ctx;
    const member = peers.get(src);
    if (!member) return undefined;
    const { version } = this.accepted;
    let a = this.addresses.get(member);
    if (a === undefined || a.version !== version) {
      if (this.destinations === undefined || this.destinationsVersion !== version) {
        this.destinations = encodeDestinations(this.accepted);
        this.destinationsVersion = version;
      }
      const bytes = Uint8Array.from(this.destinations);
      new DataView(bytes.buffer).setUint32(0, member.addr4);
      if (member.addr6Key) bytes.set(Buffer.from(member.addr6Key, 'latin1'), 4);
      encodeSources(bytes, peers.subnets.listedBy(member));
      a = { bytes, flags: member.addr6Key ? OPEN_HAS_PEER6 : 0, version };
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

/** The accepted destination prefixes in the native block (member addresses and sources left zero). */
function encodeDestinations(accepted: AcceptedDestinations): Uint8Array {
  const bytes = new Uint8Array(OPEN_ADDRS_BYTES);
  const v4 = accepted.ipv4Prefixes();
  const v6 = accepted.ipv6Prefixes();
  bytes[20] = encodePrefixes4(bytes, OPEN_ADDRS_V4, v4);
  bytes[21] = encodePrefixes6(bytes, OPEN_ADDRS_V6, v6);
  return bytes;
}

/** The LANs the member is a gateway for, as its allowed inner source prefixes. */
function encodeSources(bytes: Uint8Array, subnets: readonly SubnetRoute[]): void {
  const v4: Prefix4[] = [];
  const v6: Prefix6[] = [];
  for (const { cidr } of subnets) {
    if (cidr.family === 4) v4.push(prefix4(ipv4ToNumber(cidr.address), cidr.prefixLength));
    else v6.push({ net: ipv6ToKey(cidr.address), bits: cidr.prefixLength });
  }
  bytes[22] = encodePrefixes4(bytes, OPEN_ADDRS_SRC_V4, v4);
  bytes[23] = encodePrefixes6(bytes, OPEN_ADDRS_SRC_V6, v6);
}

// A valid peers.yaml never gives more prefixes than the block holds (validate-subnets.ts caps a
// member's subnets per family at OPEN_MAX_PREFIXES - 1, the node's own address takes the last slot).
// Past the cap this fails closed: the extra prefixes are simply not allowed (never a throw on the
// packet path, where blocks are built).
function encodePrefixes4(bytes: Uint8Array, at: number, list: readonly Prefix4[]): number {
  const n = Math.min(list.length, OPEN_MAX_PREFIXES);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) {
    view.setUint32(at + 8 * i, list[i]!.net);
    view.setUint32(at + 8 * i + 4, list[i]!.mask);
  }
  return n;
}

function encodePrefixes6(bytes: Uint8Array, at: number, list: readonly Prefix6[]): number {
  const n = Math.min(list.length, OPEN_MAX_PREFIXES);
  for (let i = 0; i < n; i++) {
    bytes.set(Buffer.from(list[i]!.net, 'latin1'), at + 20 * i);
    bytes[at + 20 * i + 16] = list[i]!.bits;
  }
  return n;
}
