// Handshake pre-filter: what a spoofed initiation flood costs before it reaches JS.
//
// A stranger can send HandshakeInit datagrams from any source at whatever rate the wire allows. The
// initiation guard (src/session/initiation-guard.ts) rejects them without a Diffie-Hellman, but only
// after each crossed into JS (a header object, an endpoint string per spoofed source, the hash): about
// 2 µs each, so a few hundred thousand per second fill the socket's queue and the kernel drops the
// legitimate member's initiation with the junk. Here, on the receive path in C, before the datagram
// list is handed on, an initiation addressed to us (direct, or at the end of its route) is dropped if
//   1. its body is not exactly an initiation's size                (HS_TRUNCATED, HS_OVERSIZED)
//   2. its mac1 is wrong: the sender does not even know our public key     (HS_BAD_MAC)
//   3. its mac1 equals one passed on before: a replay of a captured one    (HS_REPLAYED)
// which are the guard's own first three steps (and its reasons), so JS sees only initiations it would
// have examined further: forged ones with a valid mac1 (which cost the forger a hash each too) and
// genuine ones. The guard stays the authority: it repeats every check, so the filter only saves work.
//
// The replay memory is a direct-mapped table of 64-bit mac1 prefixes, owned by JS: a forger who knows
// our public key can evict entries with fresh forgeries (a replay then reaches the guard, whose own
// sets reject it), but cannot make an initiation it has not seen collide with one (a legitimate
// initiator never sends the same bytes twice: each try has a fresh ephemeral key and timestamp).
//
// Layouts (src/wire/routed-header.ts, src/session/handshake.ts): routed header = type, ttl, routeLen,
// routePos, routeLen × u32 relay, u32 src, u32 dst (big-endian); initiation body = u32 senderIndex,
// 108-byte Noise message, mac1 (16), mac2 (16).
#include "handshake-filter.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <string.h>

#define TYPE_HANDSHAKE_INIT 1
#define MAX_ROUTE_RELAYS 7
#define INIT_MAC1_OFFSET (4 + 108)
#define INIT_BODY_BYTES (INIT_MAC1_OFFSET + 32)
#define MAC_BYTES 16

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int hs_filter_init(hs_filter_t *f, uint32_t self, const uint8_t key[HS_MAC1_KEY_BYTES], uint64_t *seen,
                   uint32_t entries) {
  hs_filter_free(f);
  EVP_MAC *mac = EVP_MAC_fetch(NULL, "BLAKE2BMAC", NULL);
  if (mac == NULL) return -1;
  EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac); // the context keeps its own reference
  size_t size = MAC_BYTES;
  OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size), OSSL_PARAM_construct_end()};
  if (ctx == NULL || EVP_MAC_init(ctx, key, HS_MAC1_KEY_BYTES, params) != 1) {
    EVP_MAC_CTX_free(ctx);
    return -1;
  }
  f->self = self;
  f->mac1 = ctx;
  f->seen = seen;
  f->seen_mask = entries - 1;
  memset(seen, 0, (size_t)entries * sizeof(*seen));
  return 0;
}

void hs_filter_free(hs_filter_t *f) {
  EVP_MAC_CTX_free(f->mac1);
  f->mac1 = NULL;
}

// 1 if mac1 over body[0, INIT_MAC1_OFFSET) is right, 0 if wrong, -1 if OpenSSL failed (the guard then
// decides). EVP_MAC_init without a key restarts with the one set up.
static int mac1_ok(hs_filter_t *f, const uint8_t *body) {
  uint8_t expected[MAC_BYTES];
  size_t out = 0;
  if (EVP_MAC_init(f->mac1, NULL, 0, NULL) != 1 || EVP_MAC_update(f->mac1, body, INIT_MAC1_OFFSET) != 1 ||
      EVP_MAC_final(f->mac1, expected, &out, sizeof(expected)) != 1 || out != MAC_BYTES)
    return -1;
  return CRYPTO_memcmp(expected, body + INIT_MAC1_OFFSET, MAC_BYTES) == 0;
}

int hs_filter_check(hs_filter_t *f, const uint8_t *dg, uint32_t len) {
  if (f->mac1 == NULL || len < 4 || dg[0] != TYPE_HANDSHAKE_INIT) return HS_PASS;
  const uint32_t route_len = dg[2];
  // Malformed routes, and initiations still travelling (we relay them), are relay.ts's business.
  if (route_len > MAX_ROUTE_RELAYS || dg[3] != route_len) return HS_PASS;
  const uint32_t body = 4 + 4 * route_len + 8;
  if (len < body || be32(dg + body - 4) != f->self) return HS_PASS;
  if (len - body < INIT_BODY_BYTES) return HS_TRUNCATED;
  if (len - body > INIT_BODY_BYTES) return HS_OVERSIZED;
  const int mac = mac1_ok(f, dg + body);
  if (mac < 0) return HS_PASS;
  if (mac == 0) return HS_BAD_MAC;
  uint64_t fp;
  memcpy(&fp, dg + body + INIT_MAC1_OFFSET, sizeof(fp));
  if (fp == 0) fp = 1; // 0 marks an empty entry
  uint64_t *slot = &f->seen[(uint32_t)fp & f->seen_mask];
  if (*slot == fp) return HS_REPLAYED;
  *slot = fp;
  return HS_PASS;
}
