// One definition of the data path's sizes: the overlay MTU (peers.yaml network.mtu), what overlayd adds
// to a packet (per relay hop too), and the largest datagram it makes. Config validates against these,
// the sender sizes its send slots with them, the receiver its receive slots and its oversized check.
import {
  ADDRESS_BYTES,
  AEAD_TAG_BYTES,
  DATA_FIELDS_BYTES,
  INNER_KIND_BYTES,
  MAX_ROUTE_RELAYS,
  ROUTE_PREFIX_BYTES,
} from './constants.js';

/** MTU of the overlay interface unless peers.yaml says otherwise. */
export const DEFAULT_MTU = 1380;
/** The IPv6 minimum link MTU (RFC 8200); applied to IPv4-only networks too, for one rule. */
export const MIN_MTU = 1280;
/** Jumbo frames: an underlay that carries 9000-byte packets end to end. */
export const MAX_MTU = 9000;

/** Bytes of each relay id in the routed header. */
export const RELAY_ID_BYTES = 4;

/** Bytes overlayd adds to an IP packet sent with `relays` intermediate hops (UDP payload − IP packet). */
export function dataOverhead(relays: number): number {
  return (
    ROUTE_PREFIX_BYTES +
    RELAY_ID_BYTES * relays +
    ADDRESS_BYTES +
    DATA_FIELDS_BYTES +
    INNER_KIND_BYTES +
    AEAD_TAG_BYTES
  );
}

/** The most overlayd ever adds: a route with every relay it may list. */
export const MAX_DATA_OVERHEAD = dataOverhead(MAX_ROUTE_RELAYS);

/**
 * The largest UDP payload of a network whose overlay MTU is `mtu`: a full-size IP packet along the
 * longest route. Anything longer is dropped as oversized on receive. With the default MTU of 1380 this
 * is 1449 bytes, which an IPv4 (1472) or IPv6 (1452) underlay with a 1500-byte MTU carries unfragmented.
 */
export function maxDatagramBytes(mtu: number): number {
  return mtu + MAX_DATA_OVERHEAD;
}

/** Send and receive slots: the largest datagram of the default MTU, rounded up to a cache line. */
export const MAX_DATAGRAM_SLOT_BYTES = Math.ceil(maxDatagramBytes(DEFAULT_MTU) / 64) * 64;

/** Send and receive slots for a network whose MTU is `mtu`. */
export function datagramSlotBytes(mtu: number): number {
  return Math.ceil(maxDatagramBytes(mtu) / 64) * 64;
}

// ---- path MTU (issue 12) -----------------------------------------------------------------------------
// A link's MTU is the largest UDP payload (datagram) that crosses it, discovered by padded probes
// (pmtu/link-mtu-search.ts). A path's MTU is the largest IP packet the TUN may hand it: the smallest
// datagram of its hops, less what overlayd adds for the path's relays.

/**
 * The smallest datagram every link is assumed to carry, never probed: a 1280-byte IPv6 underlay packet
 * (RFC 8200's minimum link MTU) less its IPv6 and UDP headers. An IPv4 underlay below that (576 is legal)
 * is not supported.
 */
export const MIN_LINK_DATAGRAM = MIN_MTU - 40 - 8;

/** The largest IP packet a path of `relays` relays whose smallest hop carries `linkDatagram` takes. */
export function pathMtu(linkDatagram: number, relays: number): number {
  return linkDatagram - dataOverhead(relays);
}

/** Plaintext bytes (inner kind included) of a direct datagram of `datagram` bytes. */
export function directPlaintextBytes(datagram: number): number {
  return datagram - dataOverhead(0) + INNER_KIND_BYTES;
}
