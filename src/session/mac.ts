// The MACs of handshake messages and the keys they derive from a public key (WireGuard's scheme, with
// BLAKE2b for BLAKE2s):
//
//   mac1 = BLAKE2b-128(key = BLAKE2b-256("overlayd mac1" || receiver public key), body before mac1)
//   mac2 = BLAKE2b-128(key = cookie, body before mac2)                                   (initiations)
//
// mac1 proves nothing about the sender: it lets a node throw away, with one hash and no Diffie-Hellman,
// packets from anyone who does not even know its public key (scanners, garbage, reflections). mac2
// proves the sender receives at the underlay address it sends from: the cookie it is keyed with was
// sent there (see cookie-checker.ts), so a spoofed source cannot produce one.
//
// The cookie-reply key, BLAKE2b-256("overlayd cookie" || responder public key), is derived here too: it
// encrypts cookies to whoever sent an initiation to that responder (cookie-reply.ts).
import sodium from 'sodium-native';

export const MAC_BYTES = 16;
export const MAC_KEY_BYTES = 32;

const MAC1_LABEL = Buffer.from('overlayd mac1');
const COOKIE_LABEL = Buffer.from('overlayd cookie');

/** BLAKE2b-256("overlayd mac1" || publicKey). Computed once per peer and once for ourselves. */
export function mac1Key(publicKey: Uint8Array): Buffer {
  return labelledKey(MAC1_LABEL, publicKey);
}

/** BLAKE2b-256("overlayd cookie" || publicKey): the XChaCha20-Poly1305 key of cookie replies. */
export function cookieReplyKey(publicKey: Uint8Array): Buffer {
  return labelledKey(COOKIE_LABEL, publicKey);
}

/** Computes the MAC of body[0, end) under `key` (16 to 64 bytes) into body[end, end + 16). */
export function writeMac(body: Uint8Array, end: number, key: Uint8Array): void {
  sodium.crypto_generichash(body.subarray(end, end + MAC_BYTES), body.subarray(0, end), key);
}

// Scratch for verifyMac; valid only during the call (we are single-threaded and never re-enter).
const expected = Buffer.alloc(MAC_BYTES);

/** Constant-time check of the MAC at body[end, end + 16). False if the body is too short to hold it. */
export function verifyMac(body: Uint8Array, end: number, key: Uint8Array): boolean {
  if (end < 0 || body.byteLength < end + MAC_BYTES) return false;
  sodium.crypto_generichash(expected, body.subarray(0, end), key);
  return sodium.sodium_memcmp(expected, body.subarray(end, end + MAC_BYTES));
}

function labelledKey(label: Buffer, publicKey: Uint8Array): Buffer {
  const key = Buffer.alloc(MAC_KEY_BYTES);
  sodium.crypto_generichash(key, Buffer.concat([label, publicKey]));
  return key;
}
