// mac1: a keyed BLAKE2b-128 over a handshake body, keyed by a hash of the RECEIVER's public key (for an
// initiation that is the responder, for a response the initiator). It proves nothing about the sender:
// its only job is to let a node throw away, with one hash and no Diffie-Hellman, packets from anyone who
// does not even know its public key (scanners, garbage, reflections).
import sodium from 'sodium-native';

export const MAC1_BYTES = 16;
export const MAC1_KEY_BYTES = 32;

const LABEL = Buffer.from('overlayd mac1');

/** BLAKE2b-256("overlayd mac1" || publicKey). Computed once per peer and once for ourselves. */
export function mac1Key(publicKey: Uint8Array): Buffer {
  const key = Buffer.alloc(MAC1_KEY_BYTES);
  sodium.crypto_generichash(key, Buffer.concat([LABEL, publicKey]));
  return key;
}

/** Computes mac1 over body[0, len-16) and writes it into the last 16 bytes of `body`. */
export function writeMac1(body: Uint8Array, key: Uint8Array): void {
  const end = body.byteLength - MAC1_BYTES;
  sodium.crypto_generichash(body.subarray(end), body.subarray(0, end), key);
}

// Scratch for verifyMac1; valid only during the call (we are single-threaded and never re-enter).
const expected = Buffer.alloc(MAC1_BYTES);

/** Constant-time check of the last 16 bytes of `body`. False for bodies too short to hold a mac. */
export function verifyMac1(body: Uint8Array, key: Uint8Array): boolean {
  if (body.byteLength < MAC1_BYTES) return false;
  const end = body.byteLength - MAC1_BYTES;
  sodium.crypto_generichash(expected, body.subarray(0, end), key);
  return sodium.sodium_memcmp(expected, body.subarray(end));
}
