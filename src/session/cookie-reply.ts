// The CookieReply body: how a responder under load hands an initiator the cookie for its address.
//
//   u32 receiverIndex | nonce (24) | XChaCha20-Poly1305(cookie (16)) + tag (16)          = 60 bytes
//
// receiverIndex is the initiation's senderIndex; the key is cookieReplyKey(responder public key) and the
// associated data is the initiation's mac1 (as WireGuard does). So only someone who saw the initiation
// (and knows the responder's key) can make a reply the initiator accepts, and the initiator accepts it
// only for an initiation it has pending: it matches the index and the mac1 it remembers. The reply is
// smaller than any initiation (144-byte body), whatever route both carry: never an amplifier.
import sodium from 'sodium-native';
import { readU32 } from './handshake.js';

export const COOKIE_BYTES = 16;
const NONCE_BYTES = sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
const TAG_BYTES = sodium.crypto_aead_xchacha20poly1305_ietf_ABYTES;
const NONCE_OFFSET = 4;
const BOX_OFFSET = NONCE_OFFSET + NONCE_BYTES;
export const COOKIE_REPLY_BODY_BYTES = BOX_OFFSET + COOKIE_BYTES + TAG_BYTES;

/** Builds a CookieReply body carrying `cookie` for the initiation (senderIndex, mac1). */
export function sealCookieReply(
  receiverIndex: number,
  cookie: Uint8Array,
  key: Uint8Array,
  mac1: Uint8Array,
): Buffer {
  const body = Buffer.alloc(COOKIE_REPLY_BODY_BYTES);
  body.writeUInt32BE(receiverIndex, 0);
  const nonce = body.subarray(NONCE_OFFSET, BOX_OFFSET);
  sodium.randombytes_buf(nonce);
  sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
    body.subarray(BOX_OFFSET),
    cookie,
    mac1,
    null,
    nonce,
    key,
  );
  return body;
}

/** The receiverIndex of a CookieReply body (length already checked). */
export function cookieReplyIndex(body: Uint8Array): number {
  return readU32(body, 0);
}

/**
 * The cookie inside a CookieReply body (length already checked) in a fresh buffer, or null if it was
 * not sealed for the initiation whose mac1 is `mac1` under `key`.
 */
export function openCookieReply(body: Uint8Array, key: Uint8Array, mac1: Uint8Array): Buffer | null {
  const cookie = Buffer.alloc(COOKIE_BYTES);
  try {
    sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
      cookie,
      null,
      body.subarray(BOX_OFFSET, COOKIE_REPLY_BODY_BYTES),
      mac1,
      body.subarray(NONCE_OFFSET, BOX_OFFSET),
      key,
    );
  } catch {
    // libsodium reports a failed tag by throwing: a forged or corrupted reply.
    return null;
  }
  return cookie;
}
