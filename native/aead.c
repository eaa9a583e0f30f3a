// ChaCha20-Poly1305 seal/open of Data packets and the replay window; see aead.h for the layout.
//
// Why OpenSSL and not libsodium: on this machine's AVX-512 cores, 1400-byte packets seal in ~1.0-1.2 µs
// with OpenSSL 3 against ~1.8-2.3 µs with libsodium 1.0.18 (its Poly1305 has no vector code); at 64 bytes
// both are ~0.5 µs once the key is not set again per packet. OpenSSL also ships inside Node already, so
// the addon links nothing new. (benchmarks/README.md, "Crypto": the measurement.)
#include "aead.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

// Setting a key costs ~0.3 µs in EVP (as much as sealing 64 bytes), so each context remembers the key it
// holds and only the nonce changes per packet: a batch of one keypair sets its key once.
struct aead_ctx {
  EVP_CIPHER_CTX *seal;
  EVP_CIPHER_CTX *open;
  EVP_CIPHER_CTX *peek; // plain ChaCha20 for kp_peek_first, created on first use
  int peek_ready;       // peek has its cipher: each peek then only sets key and IV
  uint8_t seal_key[AEAD_KEY_BYTES];
  uint8_t open_key[AEAD_KEY_BYTES];
  int seal_keyed;
  int open_keyed;
};

static __thread aead_ctx_t thread_ctx;

aead_ctx_t *aead_thread_ctx(void) {
  aead_ctx_t *c = &thread_ctx;
  if (c->seal == NULL) {
    EVP_CIPHER_CTX *s = EVP_CIPHER_CTX_new();
    EVP_CIPHER_CTX *o = EVP_CIPHER_CTX_new();
    if (s == NULL || o == NULL || EVP_EncryptInit_ex(s, EVP_chacha20_poly1305(), NULL, NULL, NULL) != 1 ||
        EVP_DecryptInit_ex(o, EVP_chacha20_poly1305(), NULL, NULL, NULL) != 1) {
      EVP_CIPHER_CTX_free(s);
      EVP_CIPHER_CTX_free(o);
      return NULL;
    }
    c->seal = s;
    c->open = o;
  }
  return c;
}

// --- replay window --------------------------------------------------------------------------------

size_t replay_bytes(uint32_t bits) {
  return sizeof(replay_t) + bits / 8;
}

void replay_init(replay_t *r, uint32_t bits, uint64_t limit) {
  r->last = 0;
  r->limit = limit;
  r->blocks = bits / 32;
  r->reserved = 0;
  memset(r->ring, 0, bits / 8);
}

static uint64_t replay_window(const replay_t *r) {
  return (uint64_t)r->blocks * 32 - 32;
}

int replay_check(const replay_t *r, uint64_t counter) {
  if (counter >= r->limit) return 0;
  if (counter > r->last) return 1;
  if (r->last - counter > replay_window(r)) return 0;
  const uint32_t block = (uint32_t)((counter / 32) & (r->blocks - 1));
  return (r->ring[block] & (1u << (counter % 32))) == 0;
}

int replay_accept(replay_t *r, uint64_t counter) {
  if (counter >= r->limit) return 0;
  const uint32_t mask = r->blocks - 1;
  if (counter > r->last) {
    // Clear the blocks the window slides over; more than a full ring clears everything.
    const uint64_t current = r->last / 32;
    const uint64_t target = counter / 32;
    const uint64_t steps = target - current < r->blocks ? target - current : r->blocks;
    for (uint64_t i = 1; i <= steps; i++) r->ring[(current + i) & mask] = 0;
    r->last = counter;
  } else if (r->last - counter > replay_window(r)) {
    return 0;
  }
  uint32_t *block = &r->ring[(counter / 32) & mask];
  const uint32_t bit = 1u << (counter % 32);
  if (*block & bit) return 0;
  *block |= bit;
  return 1;
}

// --- keypair --------------------------------------------------------------------------------------

size_t kp_bytes(uint32_t replay_bits) {
  return sizeof(kp_t) + replay_bits / 8;
}

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static uint64_t get64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
  return v;
}

// Loads `key` into the context unless it holds it already; then sets the nonce.
static int rekey(EVP_CIPHER_CTX *x, uint8_t cache[AEAD_KEY_BYTES], int *keyed, const uint8_t *key,
                 const uint8_t nonce[12], int encrypt) {
  const int same = *keyed && memcmp(cache, key, AEAD_KEY_BYTES) == 0;
  const uint8_t *k = same ? NULL : key;
  const int ok = encrypt ? EVP_EncryptInit_ex(x, NULL, NULL, k, nonce) : EVP_DecryptInit_ex(x, NULL, NULL, k, nonce);
  if (ok != 1) {
    *keyed = 0;
    return 0;
  }
  if (!same) {
    memcpy(cache, key, AEAD_KEY_BYTES);
    *keyed = 1;
  }
  return 1;
}

static void nonce_for(uint8_t nonce[12], uint32_t path_flags, const uint8_t counter_be[8]) {
  put32(nonce, path_flags);
  memcpy(nonce + 4, counter_be, 8);
}

long kp_seal(aead_ctx_t *c, kp_t *kp, uint8_t *out, size_t a, int kind, const uint8_t *pt, size_t pt_len,
             uint32_t path_flags) {
  if (c == NULL || kp->destroyed || kp->counter >= kp->limit) return -1;
  const uint64_t counter = kp->counter++;
  put32(out + a + 8, kp->remote_index);
  put32(out + a + 12, (uint32_t)(counter >> 32));
  put32(out + a + 16, (uint32_t)counter);
  uint8_t nonce[12];
  nonce_for(nonce, path_flags, out + a + 12);
  uint8_t *ct = out + a + AEAD_AD_BYTES;
  int n = 0;
  EVP_CIPHER_CTX *e = c->seal;
  if (!rekey(e, c->seal_key, &c->seal_keyed, kp->send_key, nonce, 1)) return -1;
  if (EVP_EncryptUpdate(e, NULL, &n, out + a, AEAD_AD_BYTES) != 1) return -1;
  size_t done = 0;
  if (kind >= 0) {
    const uint8_t k = (uint8_t)kind;
    if (EVP_EncryptUpdate(e, ct, &n, &k, 1) != 1) return -1;
    done = 1;
  }
  if (pt_len > 0 && EVP_EncryptUpdate(e, ct + done, &n, pt, (int)pt_len) != 1) return -1;
  done += pt_len;
  if (EVP_EncryptFinal_ex(e, ct + done, &n) != 1) return -1;
  if (EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_AEAD_GET_TAG, AEAD_TAG_BYTES, ct + done) != 1) return -1;
  return (long)(a + AEAD_AD_BYTES + done + AEAD_TAG_BYTES);
}

long kp_open(aead_ctx_t *c, kp_t *kp, uint8_t *buf, size_t a, size_t len, uint32_t path_flags) {
  if (len < a + AEAD_AD_BYTES + AEAD_TAG_BYTES) return AEAD_TRUNCATED;
  if (kp->destroyed) return AEAD_EXPIRED;
  if (c == NULL) return AEAD_AUTH_FAILED;
  const uint64_t counter = get64(buf + a + 12);
  // Cheap refusal before any crypto; the window moves only after authentication.
  if (!replay_check(&kp->replay, counter)) return AEAD_REPLAYED;
  uint8_t nonce[12];
  nonce_for(nonce, path_flags, buf + a + 12);
  const size_t plain = len - a - AEAD_AD_BYTES - AEAD_TAG_BYTES;
  uint8_t *ct = buf + a + AEAD_AD_BYTES;
  uint8_t tag[AEAD_TAG_BYTES];
  memcpy(tag, ct + plain, AEAD_TAG_BYTES);
  int n = 0;
  EVP_CIPHER_CTX *d = c->open;
  if (!rekey(d, c->open_key, &c->open_keyed, kp->recv_key, nonce, 0)) return AEAD_AUTH_FAILED;
  if (EVP_DecryptUpdate(d, NULL, &n, buf + a, AEAD_AD_BYTES) != 1) return AEAD_AUTH_FAILED;
  if (plain > 0 && EVP_DecryptUpdate(d, ct, &n, ct, (int)plain) != 1) return AEAD_AUTH_FAILED;
  if (EVP_CIPHER_CTX_ctrl(d, EVP_CTRL_AEAD_SET_TAG, AEAD_TAG_BYTES, tag) != 1) return AEAD_AUTH_FAILED;
  if (EVP_DecryptFinal_ex(d, ct + plain, &n) != 1) {
    // The plaintext written in place is not authentic: do not leave it behind.
    memset(ct, 0, plain);
    return AEAD_AUTH_FAILED;
  }
  if (!replay_accept(&kp->replay, counter)) return AEAD_REPLAYED;
  return (long)plain;
}

// The first plaintext byte, unauthenticated: ChaCha20's keystream from block 1 (block 0 keys Poly1305,
// RFC 8439) over the first ciphertext byte. OpenSSL's ChaCha20 IV is the block counter (32 bits,
// little-endian) and then the 12-byte nonce.
int kp_peek_first(aead_ctx_t *c, const kp_t *kp, const uint8_t *buf, size_t a, size_t len, uint32_t path_flags) {
  if (c == NULL || kp->destroyed || len < a + AEAD_AD_BYTES + 1 + AEAD_TAG_BYTES) return -1;
  if (c->peek == NULL && (c->peek = EVP_CIPHER_CTX_new()) == NULL) return -1;
  // Naming the cipher costs OpenSSL 3 a fetch: once per context, then only key and IV per packet.
  if (!c->peek_ready) {
    if (EVP_EncryptInit_ex(c->peek, EVP_chacha20(), NULL, NULL, NULL) != 1) return -1;
    c->peek_ready = 1;
  }
  uint8_t iv[16] = {1, 0, 0, 0};
  nonce_for(iv + 4, path_flags, buf + a + 12);
  uint8_t first;
  int n = 0;
  if (EVP_EncryptInit_ex(c->peek, NULL, NULL, kp->recv_key, iv) != 1) return -1;
  if (EVP_EncryptUpdate(c->peek, &first, &n, buf + a + AEAD_AD_BYTES, 1) != 1 || n != 1) return -1;
  return first;
}

void aead_forget_thread_keys(void) {
  aead_ctx_t *c = &thread_ctx;
  if (c->peek != NULL) EVP_CIPHER_CTX_reset(c->peek); // its key schedule goes with it, and its cipher
  c->peek_ready = 0;
  OPENSSL_cleanse(c->seal_key, AEAD_KEY_BYTES);
  OPENSSL_cleanse(c->open_key, AEAD_KEY_BYTES);
  c->seal_keyed = 0;
  c->open_keyed = 0;
}

void kp_destroy(kp_t *kp) {
  // This thread's contexts may still hold the keys: forget them there too.
  aead_ctx_t *c = &thread_ctx;
  if (c->seal_keyed && memcmp(c->seal_key, kp->send_key, AEAD_KEY_BYTES) == 0) {
    OPENSSL_cleanse(c->seal_key, AEAD_KEY_BYTES);
    c->seal_keyed = 0;
  }
  if (c->open_keyed && memcmp(c->open_key, kp->recv_key, AEAD_KEY_BYTES) == 0) {
    OPENSSL_cleanse(c->open_key, AEAD_KEY_BYTES);
    c->open_keyed = 0;
  }
  OPENSSL_cleanse(kp->send_key, AEAD_KEY_BYTES);
  OPENSSL_cleanse(kp->recv_key, AEAD_KEY_BYTES);
  kp->destroyed = 1;
}
