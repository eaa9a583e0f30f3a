// Handshake load step: what a spoofed initiation flood costs before it reaches JS.
//
// A stranger can send HandshakeInit datagrams from any source at whatever rate the wire allows. The
// initiation guard (src/session/initiation-guard.ts) rejects them without a Diffie-Hellman, but only
// after each crossed into JS (a header object, an endpoint per spoofed source, the hashes, the budgets):
// about 10 µs each, so a few hundred thousand per second fill the socket's queue and the kernel drops
// the legitimate member's initiation with the junk. Here, on the receive path in C, before the datagram
// list is handed on, an initiation addressed to us (direct, or at the end of its route) is dropped if
//   1. its body is not exactly an initiation's size                (HS_TRUNCATED, HS_OVERSIZED)
//   2. its mac1 equals one passed on before: a replay of a captured one    (HS_REPLAYED)
//   3. its mac1 is wrong: the sender does not even know our public key     (HS_BAD_MAC)
//   4. we are under load (the guard's LoadMeter, counted here over what passed 1–3), its source is not
//      a member's proven endpoint, its mac2 is not valid for its source address, and the strangers'
//      cookie budget is spent: the guard would only refuse it a cookie reply    (HS_COOKIE_FILTERED)
// Step 2 comes before 3 because it is one load against one hash; a mac1 is only remembered once it is
// known right, so garbage cannot evict entries (a forged body with a copied mac1 counts as a replay).
//
// Step 4 is the guard's own under-load decision moved down (same parameters, src/session/params.ts,
// passed at init): an initiation that passes it (a proven source, a valid mac2, or one the strangers'
// budget lets up for a cookie reply) reaches the guard, which still repeats every check and keeps the
// per-source budgets. A forged initiation under load so costs a lookup and two to five keyed BLAKE2b
// hashes in C and no JS. Both meters and both strangers' buckets run, one here per socket and one in
// the guard; this one only ever lets through what the guard would look at. (The guard meters members'
// proven addresses apart; this meter counts them too, which only makes it loaded sooner, and it never
// filters them.)
//
// The mac2 check needs the cookie secrets, which the guard's CookieChecker owns and rotates: it keeps
// them in a buffer (HS_SECRETS_BYTES) that we read in place, so a rotation needs no call. A secret
// marked invalid there verifies nothing. The cookie is bound to a compact source address (family, via,
// port, 16-byte IPv6 or IPv4-mapped address: src/transport/cookie-address.ts), made the same way here.
//
// Proven endpoints: a member's first initiation after a restart carries no cookie, and must reach the
// guard under load (which gives members' proven addresses a lane of their own). JS adds and removes its
// authenticated endpoints (forward/endpoint-bindings.ts) in a bounded open-addressed table; nothing a
// stranger sends inserts into it, and above ¾ full an insert is refused (the member then competes in the
// strangers' budget, as any unproven source does).
//
// The replay memory is a direct-mapped table of 64-bit mac1 prefixes, owned by JS: a forger who knows
// our public key can evict entries with fresh forgeries (a replay then reaches the guard, whose own
// sets reject it), but cannot make an initiation it has not seen collide with one (a legitimate
// initiator never sends the same bytes twice: each try has a fresh ephemeral key and timestamp).
//
// Layouts (src/wire/routed-header.ts, src/session/handshake.ts): routed header = type, ttl, routeLen,
// routePos, routeLen × u32 relay, u32 src, u32 dst (big-endian); initiation body = u32 senderIndex,
// 108-byte Noise message, mac1 (16), mac2 (16).
#include "handshake-load.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <string.h>
#include <time.h>

#define TYPE_HANDSHAKE_INIT 1
#define MAX_ROUTE_RELAYS 7
#define INIT_MAC1_OFFSET (4 + 108)
#define INIT_MAC2_OFFSET (INIT_MAC1_OFFSET + 16)
#define INIT_BODY_BYTES (INIT_MAC2_OFFSET + 16)
#define MAC_BYTES 16
#define ENTRY_USED 20 // byte of a proven entry: 1 if it holds an address

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

// --- BLAKE2b-128 ------------------------------------------------------------------------------------

// (Re)keys `ctx` and MACs msg into out. 0, or -1 if OpenSSL failed (the caller lets the guard decide).
// A NULL key restarts with the key set up before.
static int blake2b_mac(EVP_MAC_CTX *ctx, const uint8_t *key, size_t key_len, const uint8_t *msg, size_t len,
                       uint8_t out[MAC_BYTES]) {
  size_t size = MAC_BYTES, n = 0;
  OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size), OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx, key, key_len, key == NULL ? NULL : params) != 1 || EVP_MAC_update(ctx, msg, len) != 1 ||
      EVP_MAC_final(ctx, out, &n, MAC_BYTES) != 1 || n != MAC_BYTES)
    return -1;
  return 0;
}

static EVP_MAC_CTX *blake2b_ctx(void) {
  EVP_MAC *mac = EVP_MAC_fetch(NULL, "BLAKE2BMAC", NULL);
  if (mac == NULL) return NULL;
  EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac); // the context keeps its own reference
  return ctx;
}

// 1 if mac1 over body[0, INIT_MAC1_OFFSET) is right, 0 if wrong, -1 if OpenSSL failed.
static int mac1_ok(hs_load_t *s, const uint8_t *body) {
  uint8_t expected[MAC_BYTES];
  if (blake2b_mac(s->mac1, NULL, 0, body, INIT_MAC1_OFFSET, expected) != 0) return -1;
  return CRYPTO_memcmp(expected, body + INIT_MAC1_OFFSET, MAC_BYTES) == 0;
}

// 1 if mac2 is right for a cookie of `address` under a secret still valid (cookie-checker.ts:
// cookie = BLAKE2b-128(secret, address), mac2 = BLAKE2b-128(cookie, body before mac2)), 0 if not, -1 if
// OpenSSL failed.
static int mac2_ok(hs_load_t *s, const uint8_t *body, const uint8_t address[HS_ADDRESS_BYTES]) {
  for (int k = 0; k < 2; k++) {
    if (s->secrets[2 * HS_SECRET_BYTES + k] == 0) continue;
    uint8_t cookie[MAC_BYTES], expected[MAC_BYTES];
    if (blake2b_mac(s->keyed, s->secrets + k * HS_SECRET_BYTES, HS_SECRET_BYTES, address, HS_ADDRESS_BYTES,
                    cookie) != 0 ||
        blake2b_mac(s->keyed, cookie, MAC_BYTES, body, INIT_MAC2_OFFSET, expected) != 0)
      return -1;
    if (CRYPTO_memcmp(expected, body + INIT_MAC2_OFFSET, MAC_BYTES) == 0) return 1;
  }
  return 0;
}

// --- cookie addresses --------------------------------------------------------------------------------

// The cookie address of a native address record, byte for byte as cookie-address.ts makes it from the
// endpoint JS is handed (which reports an IPv4-mapped IPv6 source as IPv4).
static void cookie_address(uint8_t out[HS_ADDRESS_BYTES], const uint8_t *rec) {
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  out[1] = 0; // via: UDP
  out[2] = rec[16];
  out[3] = rec[17];
  if (rec[18] == 4) {
    memcpy(out + 4, mapped, sizeof(mapped));
    memcpy(out + 16, rec, 4);
    out[0] = 4;
  } else {
    memcpy(out + 4, rec, 16);
    out[0] = memcmp(rec, mapped, sizeof(mapped)) == 0 ? 4 : 6;
  }
}

// --- token buckets (load-meter.ts, token-buckets.ts) -------------------------------------------------

static void bucket_init(hs_bucket_t *b, double per_second, double burst) {
  b->tokens = burst;
  b->burst = burst;
  b->per_ms = per_second / 1000.0;
  b->updated_ms = 0;
}

static void bucket_refill(hs_bucket_t *b, double now) {
  if (now <= b->updated_ms) return;
  const double refilled = b->tokens + (now - b->updated_ms) * b->per_ms;
  b->tokens = refilled < b->burst ? refilled : b->burst;
  b->updated_ms = now;
}

static int bucket_take(hs_bucket_t *b, double now) {
  bucket_refill(b, now);
  if (b->tokens < 1) return 0;
  b->tokens -= 1;
  return 1;
}

// LoadMeter.note: counts one initiation; under load while the rate ran dry less than hold_ms ago.
static int load_note(hs_load_t *s, double now) {
  if (!bucket_take(&s->load, now)) s->loaded_until_ms = now + s->hold_ms;
  return now < s->loaded_until_ms;
}

// --- proven endpoints: linear probing, backward-shift deletion ----------------------------------------

static uint32_t proven_home(const hs_load_t *s, const uint8_t *a) {
  uint64_t h = s->proven_seed;
  for (int i = 0; i < HS_ADDRESS_BYTES; i += 4) {
    uint32_t w;
    memcpy(&w, a + i, 4);
    h = (h ^ w) * 0x9e3779b97f4a7c15ull;
    h ^= h >> 32;
  }
  return (uint32_t)h & s->proven_mask;
}

static uint8_t *proven_entry(const hs_load_t *s, uint32_t i) {
  return s->proven + (size_t)i * HS_PROVEN_ENTRY_BYTES;
}

// The slot holding `a`, or the empty slot where it would go (there is always one: at most ¾ are used).
static uint32_t proven_slot(const hs_load_t *s, const uint8_t *a) {
  uint32_t i = proven_home(s, a);
  for (;;) {
    const uint8_t *e = proven_entry(s, i);
    if (!e[ENTRY_USED] || memcmp(e, a, HS_ADDRESS_BYTES) == 0) return i;
    i = (i + 1) & s->proven_mask;
  }
}

static int proven_has(const hs_load_t *s, const uint8_t *a) {
  return proven_entry(s, proven_slot(s, a))[ENTRY_USED];
}

static void proven_remove_at(hs_load_t *s, uint32_t hole) {
  // Moves each later entry of the run back into the hole unless its home lies cyclically in (hole, j].
  for (uint32_t j = (hole + 1) & s->proven_mask;; j = (j + 1) & s->proven_mask) {
    uint8_t *e = proven_entry(s, j);
    if (!e[ENTRY_USED]) break;
    const uint32_t home = proven_home(s, e);
    const int stays = hole < j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (stays) continue;
    memcpy(proven_entry(s, hole), e, HS_PROVEN_ENTRY_BYTES);
    hole = j;
  }
  memset(proven_entry(s, hole), 0, HS_PROVEN_ENTRY_BYTES);
  s->proven_count--;
}

int hs_load_proven(hs_load_t *s, const uint8_t address[HS_ADDRESS_BYTES], int on) {
  if (s->proven == NULL) return 0;
  const uint32_t i = proven_slot(s, address);
  uint8_t *e = proven_entry(s, i);
  if (!on) {
    if (e[ENTRY_USED]) proven_remove_at(s, i);
    return 0;
  }
  if (e[ENTRY_USED]) return 1;
  if (s->proven_count >= s->proven_max) return 0;
  memcpy(e, address, HS_ADDRESS_BYTES);
  e[ENTRY_USED] = 1;
  s->proven_count++;
  return 1;
}

// --- the step -----------------------------------------------------------------------------------------

int hs_load_init(hs_load_t *s, const hs_load_config_t *c) {
  hs_load_free(s);
  EVP_MAC_CTX *mac1 = blake2b_ctx(), *keyed = blake2b_ctx();
  uint8_t scratch[MAC_BYTES];
  // Keys mac1 once (later uses restart with that key); proves the keyed context works too.
  if (mac1 == NULL || keyed == NULL || blake2b_mac(mac1, c->mac1_key, HS_MAC1_KEY_BYTES, scratch, 0, scratch) != 0 ||
      blake2b_mac(keyed, c->mac1_key, HS_MAC1_KEY_BYTES, scratch, 0, scratch) != 0) {
    EVP_MAC_CTX_free(mac1);
    EVP_MAC_CTX_free(keyed);
    return -1;
  }
  const double *p = c->params;
  s->self = c->self;
  s->mac1 = mac1;
  s->keyed = keyed;
  s->seen = c->seen;
  s->seen_mask = c->seen_entries - 1;
  memset(c->seen, 0, (size_t)c->seen_entries * sizeof(*c->seen));
  s->secrets = c->secrets;
  s->proven = c->proven;
  s->proven_mask = c->proven_entries - 1;
  s->proven_count = 0;
  s->proven_max = c->proven_entries / 4 * 3;
  s->proven_seed = (uint64_t)p[HS_P_PROVEN_SEED];
  memset(c->proven, 0, (size_t)c->proven_entries * HS_PROVEN_ENTRY_BYTES);
  bucket_init(&s->load, p[HS_P_UNDER_LOAD_PER_SECOND], p[HS_P_UNDER_LOAD_BURST]);
  s->hold_ms = p[HS_P_UNDER_LOAD_HOLD_MS];
  s->loaded_until_ms = 0;
  bucket_init(&s->strangers, p[HS_P_STRANGERS_PER_SECOND], p[HS_P_STRANGERS_BURST]);
  return 0;
}

void hs_load_free(hs_load_t *s) {
  EVP_MAC_CTX_free(s->mac1);
  EVP_MAC_CTX_free(s->keyed);
  s->mac1 = NULL;
  s->keyed = NULL;
  s->proven = NULL;
}

// Step 4, for an initiation past 1–3.
static int under_load_step(hs_load_t *s, const uint8_t *body, const uint8_t *source_record) {
  const double now = now_ms();
  if (!load_note(s, now)) return HS_PASS;
  uint8_t address[HS_ADDRESS_BYTES];
  cookie_address(address, source_record);
  if (proven_has(s, address)) return HS_PASS;
  if (mac2_ok(s, body, address) != 0) return HS_PASS; // valid, or OpenSSL failed: the guard decides
  return bucket_take(&s->strangers, now) ? HS_PASS : HS_COOKIE_FILTERED;
}

int hs_load_check(hs_load_t *s, const uint8_t *dg, uint32_t len, const uint8_t *source_record) {
  if (s->mac1 == NULL || len < 4 || dg[0] != TYPE_HANDSHAKE_INIT) return HS_PASS;
  const uint32_t route_len = dg[2];
  // Malformed routes, and initiations still travelling (we relay them), are relay.ts's business.
  if (route_len > MAX_ROUTE_RELAYS || dg[3] != route_len) return HS_PASS;
  const uint32_t header = 4 + 4 * route_len + 8;
  if (len < header || be32(dg + header - 4) != s->self) return HS_PASS;
  if (len - header < INIT_BODY_BYTES) return HS_TRUNCATED;
  if (len - header > INIT_BODY_BYTES) return HS_OVERSIZED;
  const uint8_t *body = dg + header;
  uint64_t fp;
  memcpy(&fp, body + INIT_MAC1_OFFSET, sizeof(fp));
  if (fp == 0) fp = 1; // 0 marks an empty entry
  uint64_t *slot = &s->seen[(uint32_t)fp & s->seen_mask];
  if (*slot == fp) return HS_REPLAYED;
  const int mac = mac1_ok(s, body);
  if (mac < 0) return HS_PASS;
  if (mac == 0) return HS_BAD_MAC;
  *slot = fp;
  return under_load_step(s, body, source_record);
}
