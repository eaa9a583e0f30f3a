// The cleartext routed header every overlay packet starts with. It is all a relay reads.
//
//   0  u8   type       PacketType
//   1  u8   ttl        decremented by each relay; a packet arriving with ttl 0 is dropped
//   2  u8   routeLen   number of relay ids that follow (0 = direct)
//   3  u8   routePos   index of the next relay to visit; routePos == routeLen means "deliver to dst"
//   4  u32  route[routeLen]
//   R  u32  src        NodeId of the sealing source   (R = 4 + 4 * routeLen)
//  R+4 u32  dst        NodeId of the destination
//  R+8 ...  body       type-specific; for Data, [R, R+20) is the AEAD associated data
//
// ttl, routePos and the route's relay ids are not authenticated: a relay may rewrite the rest of the
// route when its next link dies (local repair). Whether there is a route at all is: the Data AEAD
// nonce carries PathFlags (direct or relayed), so a route stripped or added on the way fails
// authentication. src, dst and the body are authenticated by the destination.
//
// A route never repeats an id and never names src or dst: the parser rejects such routes, so a crafted
// header cannot bounce one datagram between relays (each relay also checks who handed it the packet).
import type { NodeId } from '../identity/node-id.js';
import { ADDRESS_BYTES, MAX_ROUTE_RELAYS, PacketType, PathFlags, ROUTE_PREFIX_BYTES } from './constants.js';

export interface RoutedHeader {
  type: PacketType;
  ttl: number;
  routeLen: number;
  routePos: number;
  /** Byte offset of src (R above). */
  addrOffset: number;
  src: NodeId;
  dst: NodeId;
  /** Byte offset where the type-specific body starts (R + 8). */
  bodyOffset: number;
}

/**
 * Parses the routed header of `buf`, or returns a string naming why it is malformed.
 * Never throws: the caller counts the reason and drops the packet.
 */
export function parseRoutedHeader(buf: Uint8Array, len: number): RoutedHeader | string {
  if (len < ROUTE_PREFIX_BYTES + ADDRESS_BYTES) return 'truncated';
  const type = buf[0];
  if (
    type !== PacketType.HandshakeInit &&
    type !== PacketType.HandshakeResponse &&
    type !== PacketType.Data &&
    type !== PacketType.CookieReply
  ) {
    return 'unknown-type';
  }
  const routeLen = buf[2];
  const routePos = buf[3];
  if (routeLen > MAX_ROUTE_RELAYS || routePos > routeLen) return 'bad-route';
  const addrOffset = ROUTE_PREFIX_BYTES + 4 * routeLen;
  if (len < addrOffset + ADDRESS_BYTES) return 'truncated';
  const view = new DataView(buf.buffer, buf.byteOffset, len);
  const src = view.getUint32(addrOffset);
  const dst = view.getUint32(addrOffset + 4);
  if (src === 0 || dst === 0 || src === dst) return 'bad-address';
  if (routeLen > 0 && !isSimpleRoute(buf, routeLen, src, dst)) return 'bad-route';
  return {
    type: type as PacketType,
    ttl: buf[1],
    routeLen,
    routePos,
    addrOffset,
    src,
    dst,
    bodyOffset: addrOffset + ADDRESS_BYTES,
  };
}

/** No relay twice, and neither end among the relays (at most 7 ids: the quadratic scan is cheapest). */
function isSimpleRoute(buf: Uint8Array, routeLen: number, src: NodeId, dst: NodeId): boolean {
  for (let i = 0; i < routeLen; i++) {
    const r = routeAt(buf, i);
    if (r === src || r === dst) return false;
    for (let j = 0; j < i; j++) if (routeAt(buf, j) === r) return false;
  }
  return true;
}

/** The PathFlags a Data packet with this many relays is sealed (and must be opened) with. */
export function pathFlagsFor(routeLen: number): PathFlags {
  return routeLen === 0 ? PathFlags.Direct : PathFlags.Relayed;
}

/** The relay id at `index` of the route list. */
export function routeAt(buf: Uint8Array, index: number): NodeId {
  const o = ROUTE_PREFIX_BYTES + 4 * index;
  return ((buf[o] << 24) | (buf[o + 1] << 16) | (buf[o + 2] << 8) | buf[o + 3]) >>> 0;
}

/** Size of the routed header (before the body) for a route with `relays` intermediate hops. */
export function routedHeaderBytes(relays: number): number {
  return ROUTE_PREFIX_BYTES + 4 * relays + ADDRESS_BYTES;
}

/**
 * Writes a routed header at the start of `buf` and returns the body offset.
 * `relays` lists the intermediate hops in order, without the source and destination.
 */
export function writeRoutedHeader(
  buf: Uint8Array,
  type: PacketType,
  ttl: number,
  relays: readonly NodeId[],
  src: NodeId,
  dst: NodeId,
): number {
  if (relays.length > MAX_ROUTE_RELAYS) throw new RangeError(`route has ${relays.length} relays`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  buf[0] = type;
  buf[1] = ttl;
  buf[2] = relays.length;
  buf[3] = 0;
  let o = ROUTE_PREFIX_BYTES;
  for (const r of relays) {
    view.setUint32(o, r);
    o += 4;
  }
  view.setUint32(o, src);
  view.setUint32(o + 4, dst);
  return o + ADDRESS_BYTES;
}
