// A node's identity is one Ed25519 key pair: it authenticates Noise handshakes (noise-curve-ed)
// and signs link-state adverts, so a single key in peers.yaml names a member for both.
import sodium from 'sodium-native';

export const PUBLIC_KEY_BYTES = 32;
export const SEED_BYTES = 32;
export const SIGNATURE_BYTES = 64;

export interface KeyPair {
  /** 32-byte Ed25519 public key. */
  publicKey: Buffer;
  /** 64-byte libsodium secret key (seed || public key). */
  secretKey: Buffer;
}

export function keyPairFromSeed(seed: Uint8Array): KeyPair {
  if (seed.byteLength !== SEED_BYTES) throw new RangeError(`seed must be ${SEED_BYTES} bytes`);
  const publicKey = Buffer.alloc(PUBLIC_KEY_BYTES);
  const secretKey = Buffer.alloc(sodium.crypto_sign_SECRETKEYBYTES);
  sodium.crypto_sign_seed_keypair(publicKey, secretKey, seed);
  return { publicKey, secretKey };
}

export function generateSeed(): Buffer {
  const seed = Buffer.alloc(SEED_BYTES);
  sodium.randombytes_buf(seed);
  return seed;
}

export function sign(message: Uint8Array, secretKey: Uint8Array): Buffer {
  const sig = Buffer.alloc(SIGNATURE_BYTES);
  sodium.crypto_sign_detached(sig, message, secretKey);
  return sig;
}

export function verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.byteLength !== SIGNATURE_BYTES || publicKey.byteLength !== PUBLIC_KEY_BYTES) return false;
  try {
    return sodium.crypto_sign_verify_detached(signature, message, publicKey);
  } catch {
    // libsodium rejects some malformed keys by throwing; to us that is just "not verified".
    return false;
  }
}
