// The source address a cookie is bound to (session/cookie-checker.ts), as 20 bytes that the native
// handshake load step (native/handshake-load.c) builds the same way from a received datagram, so both
// compute the same cookie and the same mac2:
//
//   byte 0      family: 4 (IPv4, or an IPv4-mapped IPv6 literal) or 6
//   byte 1      via: 0 UDP, 1 WebSocket (a cookie got over one is no good over the other)
//   bytes 2–3   port, big-endian
//   bytes 4–19  the address as IPv6; IPv4 as ::ffff:a.b.c.d
//
// Transports only ever report IP literals. Anything else (a test transport's names) gets family 0 and
// the first 16 bytes of BLAKE2b-128 of its text, so it still has an address of its own.
import sodium from 'sodium-native';
import { parseDest } from './native-udp-address.js';
import type { Endpoint } from './transport.js';

export const COOKIE_ADDRESS_BYTES = 20;

const V4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

// Endpoints handed out by transports are interned (one object per source), so this is one lookup per
// initiation; the map holds them weakly.
const memo = new WeakMap<Endpoint, Uint8Array>();

/** The cookie address of `e` (shared, do not modify). */
export function cookieAddress(e: Endpoint): Uint8Array {
  let out = memo.get(e);
  if (out === undefined) {
    out = build(e);
    memo.set(e, out);
  }
  return out;
}

function build(e: Endpoint): Uint8Array {
  const out = new Uint8Array(COOKIE_ADDRESS_BYTES);
  out[1] = e.via === 'ws' ? 1 : 0;
  out[2] = (e.port >> 8) & 0xff;
  out[3] = e.port & 0xff;
  const dest = parseDest({ host: e.host, port: e.port });
  if (dest === undefined) {
    sodium.crypto_generichash(out.subarray(4, 20), Buffer.from(e.host));
    return out;
  }
  out[0] = dest.family;
  // A record holds IPv4 in its first 4 bytes (an IPv4-mapped literal is recorded as IPv4 too).
  if (dest.family === 4) {
    out.set(V4_MAPPED_PREFIX, 4);
    out.set(dest.bytes.subarray(0, 4), 16);
  } else {
    out.set(dest.bytes.subarray(0, 16), 4);
  }
  return out;
}
