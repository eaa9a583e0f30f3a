// The handshake load step of the UDP receive path (see handshake-load.c).
#ifndef OVERLAYD_HANDSHAKE_LOAD_H
#define OVERLAYD_HANDSHAKE_LOAD_H

#include <openssl/evp.h>
#include <stdint.h>

#define HS_MAC1_KEY_BYTES 32
// Cookie addresses (src/transport/cookie-address.ts): family, via, port (big-endian), 16-byte address
// (IPv4 as ::ffff:a.b.c.d).
#define HS_ADDRESS_BYTES 20
// The cookie secrets JS owns (src/session/cookie-checker.ts): two 32-byte keys (current, previous), then
// one byte each saying whether that key may still verify a mac2.
#define HS_SECRET_BYTES 32
#define HS_SECRETS_BYTES (2 * HS_SECRET_BYTES + 2)
// One entry of the proven-endpoint table: the cookie address, a used flag, padding.
#define HS_PROVEN_ENTRY_BYTES 24

// Verdicts of hs_load_check (HS_PASS: hand the datagram to JS).
enum {
  HS_PASS = 0,
  HS_TRUNCATED = 1,
  HS_OVERSIZED = 2,
  HS_BAD_MAC = 3,
  HS_REPLAYED = 4,
  HS_COOKIE_FILTERED = 5,
};

// Parameters, as the initiation guard's (src/session/params.ts, passed down at init).
enum {
  HS_P_UNDER_LOAD_PER_SECOND = 0,
  HS_P_UNDER_LOAD_BURST = 1,
  HS_P_UNDER_LOAD_HOLD_MS = 2,
  HS_P_STRANGERS_PER_SECOND = 3,
  HS_P_STRANGERS_BURST = 4,
  HS_P_PROVEN_SEED = 5,
  HS_P_COUNT = 6
};

// A token bucket in ms (load-meter.ts, token-buckets.ts).
typedef struct {
  double tokens;
  double burst;
  double per_ms;
  double updated_ms;
} hs_bucket_t;

typedef struct {
  uint32_t self;      // our NodeId, host order
  EVP_MAC_CTX *mac1;  // keyed BLAKE2b-128 with our mac1 key; NULL: the step is off
  EVP_MAC_CTX *keyed; // BLAKE2b-128, keyed per use (cookie, mac2)
  uint64_t *seen;     // JS-owned: fingerprints of mac1 values passed on, direct-mapped
  uint32_t seen_mask;
  const uint8_t *secrets; // JS-owned, HS_SECRETS_BYTES: rotated by JS, read here in place
  uint8_t *proven;        // JS-owned: open-addressed table of members' endpoints
  uint32_t proven_mask;
  uint32_t proven_count;
  uint32_t proven_max; // ¾ of the entries: inserts above it are refused
  uint64_t proven_seed;
  hs_bucket_t load;      // the load meter's bucket
  double hold_ms;        // under load this long after it last ran dry
  double loaded_until_ms;
  hs_bucket_t strangers; // cookie replies to strangers: what may go up to JS for one
} hs_load_t;

typedef struct {
  uint32_t self;
  const uint8_t *mac1_key; // HS_MAC1_KEY_BYTES
  uint64_t *seen;          // entries: a power of two
  uint32_t seen_entries;
  const uint8_t *secrets; // HS_SECRETS_BYTES
  uint8_t *proven;        // proven_entries * HS_PROVEN_ENTRY_BYTES
  uint32_t proven_entries; // a power of two
  const double *params;    // HS_P_COUNT
} hs_load_config_t;

// Turns the step on. Every JS-owned buffer must outlive it. Returns 0, or -1 (no BLAKE2b MAC).
int hs_load_init(hs_load_t *s, const hs_load_config_t *config);
void hs_load_free(hs_load_t *s);
// The verdict on one datagram (routed header included) from the source of this address record
// (native/udp.c: 16 address bytes, port in network order, family 4 or 6).
int hs_load_check(hs_load_t *s, const uint8_t *dg, uint32_t len, const uint8_t *source_record);
// Adds (on) or removes a member's endpoint. Returns 1 if the table holds it afterwards, else 0 (a
// removal, or an insert refused because the table is ¾ full).
int hs_load_proven(hs_load_t *s, const uint8_t address[HS_ADDRESS_BYTES], int on);

#endif
