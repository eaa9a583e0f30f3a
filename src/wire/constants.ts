// Protocol constants: changing any of these changes the wire format.

/** Outer packet types (first byte of every UDP payload). */
export const PacketType = {
  HandshakeInit: 1,
  HandshakeResponse: 2,
  Data: 3,
  CookieReply: 4, // a responder under load asks the initiator to retry with mac2 (session/cookie-reply.ts)
} as const;
export type PacketType = (typeof PacketType)[keyof typeof PacketType];

/**
 * Inner message kinds: the first byte of every sealed payload. Relays never see these; only the
 * two ends of a session do.
 */
export const InnerKind = {
  Keepalive: 0, // empty: confirms a fresh session (key confirmation for the responder)
  IPPacket: 1, // an IPv4 or IPv6 packet for the TUN
  Probe: 2, // direct-link probe; answered with ProbeReply over the same underlay path
  ProbeReply: 3,
  Control: 4, // routing control message (advert, summary, request): opaque to the data plane
  PathProbe: 5, // end-to-end path liveness probe, padded to the size of the data it travels with
  PathProbeReply: 6, // its echo, same size, along the reverse route
  Punch: 7, // NAT traversal: a punch request or answer, relayed through a common member (nat/)
  MtuProbe: 8, // direct-link MTU probe: zero padding to the datagram size under test (pmtu/)
  MtuProbeReply: 9, // u16 datagram bytes the probe arrived with
} as const;
export type InnerKind = (typeof InnerKind)[keyof typeof InnerKind];

/**
 * First 4 bytes (u32 BE) of the Data AEAD nonce, before the u64 counter: how the source sealed the
 * packet. The receiver uses the value implied by the routeLen it sees, so a relay that strips a route
 * (to pass relayed data off as direct, and teach the ends a fake direct link) or adds one fails
 * authentication. Local repair keeps a route a route, so it changes nothing here.
 */
export const PathFlags = {
  Relayed: 0, // sealed with at least one relay listed
  Direct: 1, // sealed with routeLen 0
} as const;
export type PathFlags = (typeof PathFlags)[keyof typeof PathFlags];

/** Relays a source may list in a packet; bounds header size and loops. */
export const MAX_ROUTE_RELAYS = 7;
/** Initial hop budget; each relay decrements it and drops at zero. */
export const INITIAL_TTL = 16;

/** Fixed routed header: type, ttl, routeLen, routePos. Followed by routeLen × u32 relay ids. */
export const ROUTE_PREFIX_BYTES = 4;
/** After the route list: src id, dst id. */
export const ADDRESS_BYTES = 8;
/** Data: receiver index u32 + counter u64, after the addresses. */
export const DATA_FIELDS_BYTES = 12;
export const AEAD_TAG_BYTES = 16;
export const INNER_KIND_BYTES = 1;

// Sizes derived from these (overhead per hop, largest datagram, MTU bounds) are in sizes.ts.
