// The subset of sodium-native (v5) that overlayd uses. sodium-native ships no types of its own.
declare module 'sodium-native' {
  type Bytes = Uint8Array;
  const sodium: {
    crypto_aead_chacha20poly1305_ietf_KEYBYTES: number;
    crypto_aead_chacha20poly1305_ietf_NPUBBYTES: number;
    crypto_aead_chacha20poly1305_ietf_ABYTES: number;
    crypto_aead_chacha20poly1305_ietf_encrypt(
      c: Bytes,
      m: Bytes,
      ad: Bytes | null,
      nsec: null,
      npub: Bytes,
      k: Bytes,
    ): number;
    crypto_aead_chacha20poly1305_ietf_decrypt(
      m: Bytes,
      nsec: null,
      c: Bytes,
      ad: Bytes | null,
      npub: Bytes,
      k: Bytes,
    ): number;
    crypto_aead_xchacha20poly1305_ietf_NPUBBYTES: number;
    crypto_aead_xchacha20poly1305_ietf_ABYTES: number;
    crypto_aead_xchacha20poly1305_ietf_encrypt(
      c: Bytes,
      m: Bytes,
      ad: Bytes | null,
      nsec: null,
      npub: Bytes,
      k: Bytes,
    ): number;
    crypto_aead_xchacha20poly1305_ietf_decrypt(
      m: Bytes,
      nsec: null,
      c: Bytes,
      ad: Bytes | null,
      npub: Bytes,
      k: Bytes,
    ): number;
    crypto_sign_PUBLICKEYBYTES: number;
    crypto_sign_SECRETKEYBYTES: number;
    crypto_sign_SEEDBYTES: number;
    crypto_sign_BYTES: number;
    crypto_sign_seed_keypair(pk: Bytes, sk: Bytes, seed: Bytes): void;
    crypto_sign_keypair(pk: Bytes, sk: Bytes): void;
    crypto_sign_detached(sig: Bytes, m: Bytes, sk: Bytes): void;
    crypto_sign_verify_detached(sig: Bytes, m: Bytes, pk: Bytes): boolean;
    crypto_generichash(out: Bytes, m: Bytes, key?: Bytes | null): void;
    crypto_generichash_BYTES: number;
    crypto_generichash_BYTES_MIN: number;
    crypto_generichash_KEYBYTES: number;
    randombytes_buf(buf: Bytes): void;
    randombytes_uniform(upper: number): number;
    sodium_memzero(buf: Bytes): void;
    sodium_memcmp(a: Bytes, b: Bytes): boolean;
  };
  export default sodium;
}
