// Makes the process's randomness reproducible while a target runs: libsodium's randombytes_buf and
// crypto_sign_keypair (session indices, Noise ephemeral keys, generated node keys) and Math.random
// (path pinger ids, memory-network loss) all draw from a stream seeded by the target's seed. The
// cryptography itself is untouched; only where its random bytes come from. Without this a handshake
// body would differ on every run and `--seed N` could not reproduce an input byte for byte.
//
// The noise libraries reach libsodium through sodium-universal, which is the same sodium-native
// module object, so one patch covers them too. Fuzzing only: never import this from src/.
import sodium from 'sodium-native';

type RandomBytes = (buf: Buffer) => void;
type SignKeypair = (pk: Buffer, sk: Buffer) => void;

interface Patchable {
  randombytes_buf: RandomBytes;
  crypto_sign_keypair: SignKeypair;
  // In sodium-native, not in our types/sodium-native.d.ts (only the fuzzer needs it).
  randombytes_buf_deterministic(buf: Buffer, seed: Buffer): void;
}

const SEED_BYTES = 32;

const lib = sodium as unknown as Patchable;
const original = {
  randombytes: lib.randombytes_buf,
  keypair: lib.crypto_sign_keypair,
  mathRandom: Math.random,
};

/** Seeds every random source from `seed` until the returned function restores them. */
export function deterministicRandom(seed: number): () => void {
  const key = Buffer.alloc(SEED_BYTES);
  key.writeUInt32BE(seed >>> 0, 0);
  let counter = 0;
  // Each call gets its own block of the stream: the 32-byte seed is (run seed, call counter).
  const randomBytes: RandomBytes = (buf) => {
    key.writeUInt32BE(++counter >>> 0, 4);
    lib.randombytes_buf_deterministic(buf, key);
  };
  const word = Buffer.alloc(4);
  lib.randombytes_buf = randomBytes;
  lib.crypto_sign_keypair = (pk, sk) => {
    const s = Buffer.alloc(32);
    randomBytes(s);
    sodium.crypto_sign_seed_keypair(pk, sk, s);
  };
  Math.random = () => {
    randomBytes(word);
    return word.readUInt32BE(0) / 0x1_0000_0000;
  };
  return () => {
    lib.randombytes_buf = original.randombytes;
    lib.crypto_sign_keypair = original.keypair;
    Math.random = original.mathRandom;
  };
}
