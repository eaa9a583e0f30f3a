// The overlayd_packet addon (native/packet.c): keypair crypto, batch seal and open, the offload helpers.
// Its flat functions and the codes and layouts shared with the C side; the only module that loads it.
import { loadAddon } from './load-addon.js';

/** Flat functions of native/packet.c. Codes are numbers; only caller bugs throw. */
export interface PacketBinding {
  /** Bytes of a keypair state with a replay ring of `bits` bits; -1 for a bad ring size. */
  kp_bytes(bits: number): number;
  kp_init(
    state: Buffer,
    sendKey: Uint8Array,
    receiveKey: Uint8Array,
    remoteIndex: number,
    limit: number,
    replayBits: number,
  ): void;
  /** End offset, or -1 (destroyed, counter exhausted). */
  kp_seal(
    state: Buffer,
    out: Uint8Array,
    addrOffset: number,
    plaintext: Uint8Array,
    pathFlags: number,
  ): number;
  /** Plaintext length, or a negative OpenError. */
  kp_open(state: Buffer, buf: Uint8Array, addrOffset: number, length: number, pathFlags: number): number;
  kp_counter(state: Buffer): number;
  kp_destroy(state: Buffer): void;
  replay_bytes(bits: number): number;
  replay_init(state: Buffer, bits: number, limit: number): void;
  replay_check(state: Buffer, counter: number): boolean;
  replay_accept(state: Buffer, counter: number): boolean;
  replay_highest(state: Buffer): number;
  /** Packets sealed (fewer than `count` if the keypair refused the rest). */
  pkt_seal_batch(
    state: Buffer,
    header: Uint8Array,
    headerLength: number,
    src: Uint8Array,
    stride: number,
    headroom: number,
    lengths: Uint32Array,
    first: number,
    count: number,
    kind: number,
    dst: Uint8Array,
    slotSize: number,
    dstFirst: number,
    dstLengths: Uint32Array,
  ): number;
  /** The new TUN list count; results[k] per datagram (OpenCode or a negative OpenError). */
  pkt_open_batch(
    state: Buffer,
    buf: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    list: Uint32Array,
    n: number,
    addrs: Uint8Array,
    addrFlags: number,
    results: Int32Array,
    tunOffsets: Uint32Array,
    tunLengths: Uint32Array,
    tunCount: number,
  ): number;
  /** Segments written, or a negative OffloadError. */
  ofl_segment(
    packet: Uint8Array,
    vnetHeader: Uint8Array,
    out: Uint8Array,
    stride: number,
    lengths: Uint32Array,
  ): number;
  /** TUN writes laid out in `out` (virtio header first), their lengths in outLengths. */
  ofl_coalesce(
    buf: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    count: number,
    udp: boolean,
    out: Uint8Array,
    outLengths: Uint32Array,
  ): number;
}

/** pkt_open_batch results other than OpenError (native/packet.c OPEN_*). */
export const OpenCode = {
  Delivered: 0,
  OtherKind: 1,
  NotIp: -10,
  SpoofedSource: -11,
  NotLocalDestination: -12,
  BadInner: -13,
} as const;

/**
 * pkt_open_batch address block (native/packet.c): the member's IPv4 at 0, its IPv6 at 4; at 20 and 21
 * the number of accepted IPv4 and IPv6 destination prefixes, at 22 and 23 the number of the member's
 * own IPv4 and IPv6 source prefixes (the LANs it is a gateway for), at most OPEN_MAX_PREFIXES each.
 * IPv4 prefixes are (u32 network, u32 mask, big-endian), IPv6 ones (16-byte network, prefix length,
 * 3 zero bytes): destinations from OPEN_ADDRS_V4 and OPEN_ADDRS_V6, sources from OPEN_ADDRS_SRC_V4
 * and OPEN_ADDRS_SRC_V6.
 */
export const OPEN_MAX_PREFIXES = 8;
export const OPEN_ADDRS_V4 = 24;
export const OPEN_ADDRS_V6 = OPEN_ADDRS_V4 + 8 * OPEN_MAX_PREFIXES;
export const OPEN_ADDRS_SRC_V4 = OPEN_ADDRS_V6 + 20 * OPEN_MAX_PREFIXES;
export const OPEN_ADDRS_SRC_V6 = OPEN_ADDRS_SRC_V4 + 8 * OPEN_MAX_PREFIXES;
export const OPEN_ADDRS_BYTES = OPEN_ADDRS_SRC_V6 + 20 * OPEN_MAX_PREFIXES;
/** addrFlags: the member has an IPv6 overlay address. */
export const OPEN_HAS_PEER6 = 1;

/** ofl_segment refusals (native/offload.h). */
export const OffloadError = { Invalid: -1, NoSpace: -2 } as const;

/** Bytes of the virtio-net header before every packet of a TUN opened with IFF_VNET_HDR. */
export const VNET_HDR_BYTES = 10;

export function packetBinding(): PacketBinding {
  return loadAddon<PacketBinding>('overlayd_packet', 'ERR_TUN', 'packet');
}
