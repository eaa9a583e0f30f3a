// Handshake pre-filter of the UDP receive path (see handshake-filter.c).
#ifndef OVERLAYD_HANDSHAKE_FILTER_H
#define OVERLAYD_HANDSHAKE_FILTER_H

#include <openssl/evp.h>
#include <stdint.h>

#define HS_MAC1_KEY_BYTES 32

// Verdicts of hs_filter_check (HS_PASS: hand the datagram to JS).
enum { HS_PASS = 0, HS_TRUNCATED = 1, HS_OVERSIZED = 2, HS_BAD_MAC = 3, HS_REPLAYED = 4 };

typedef struct {
  uint32_t self;     // our NodeId, host order
  EVP_MAC_CTX *mac1; // keyed BLAKE2b-128 with our mac1 key; NULL: the filter is off
  uint64_t *seen;    // JS-owned: fingerprints of mac1 values passed on, direct-mapped
  uint32_t seen_mask;
} hs_filter_t;

// Keys the filter. `seen` (entries a power of two) must outlive it. Returns 0, or -1 (no BLAKE2b MAC).
int hs_filter_init(hs_filter_t *f, uint32_t self, const uint8_t key[HS_MAC1_KEY_BYTES], uint64_t *seen,
                   uint32_t entries);
void hs_filter_free(hs_filter_t *f);
// The verdict on one datagram (routed header included).
int hs_filter_check(hs_filter_t *f, const uint8_t *dg, uint32_t len);

#endif
