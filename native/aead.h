// Data-packet crypto: one keypair's state (keys, send counter, replay window) in caller-owned memory, and
// ChaCha20-Poly1305 (IETF) seal/open on the wire layout of session/keypair.ts, using the OpenSSL inside
// Node (node-gyp provides its headers; the symbols resolve against the running node binary).
//
// Data packet body, A = offset of src in the routed header:
//   A+0 u32 src, A+4 u32 dst, A+8 u32 receiverIndex, A+12 u64 counter (big-endian), A+20 ciphertext, tag.
// Nonce = u32 BE pathFlags || u64 BE counter; pathFlags = 1 when sealed for direct delivery (routeLen 0),
// 0 when sealed with a relay route, so a relay that strips the route makes authentication fail.
// Associated data = [A, A+20).
#ifndef OVERLAYD_AEAD_H
#define OVERLAYD_AEAD_H

#include <stddef.h>
#include <stdint.h>

#define AEAD_KEY_BYTES 32
#define AEAD_TAG_BYTES 16
#define AEAD_AD_BYTES 20

// open results (the same numbers as OpenError in session/keypair.ts).
enum { AEAD_TRUNCATED = -1, AEAD_REPLAYED = -2, AEAD_AUTH_FAILED = -3, AEAD_EXPIRED = -4 };

// RFC 6479 sliding window over 64-bit counters (WireGuard's replay.go): a ring of 32-bit blocks, one of
// them slack, so the window is blocks*32 - 32 counters behind the highest accepted.
typedef struct {
  uint64_t last;  // highest counter accepted (0 before any: counter 0 lands inside the window)
  uint64_t limit; // counters >= limit are refused
  uint32_t blocks; // a power of two
  uint32_t reserved;
  uint32_t ring[];
} replay_t;

// Bytes of a replay_t with `bits` ring bits.
size_t replay_bytes(uint32_t bits);
void replay_init(replay_t *r, uint32_t bits, uint64_t limit);
// True if `counter` could be accepted (new, or in the window and unseen). Never changes the window.
int replay_check(const replay_t *r, uint64_t counter);
// Records `counter` (call only after the packet authenticated). False if too old or already seen.
int replay_accept(replay_t *r, uint64_t counter);

typedef struct {
  uint8_t send_key[AEAD_KEY_BYTES];
  uint8_t recv_key[AEAD_KEY_BYTES];
  uint64_t counter;      // next counter to seal with
  uint64_t limit;        // no counter at or above this is sealed
  uint32_t remote_index; // receiverIndex written into sealed packets
  uint32_t destroyed;
  replay_t replay;       // must stay last (flexible ring)
} kp_t;

size_t kp_bytes(uint32_t replay_bits);

typedef struct aead_ctx aead_ctx_t;
// The calling thread's cipher contexts (created once per thread, reused for every packet).
aead_ctx_t *aead_thread_ctx(void);

// Seals one packet: writes receiverIndex and the next counter at out[a+8, a+20), encrypts `kind` (if
// kind >= 0, one byte) followed by pt[0, pt_len) to out[a+20...] and appends the tag. src/dst must be at
// out[a, a+8) already. `pt` may be out + a + 20 + (kind >= 0) (in place) or not overlap the output at all.
// Returns the end offset, or -1 if the keypair is destroyed or its counter is exhausted.
long kp_seal(aead_ctx_t *c, kp_t *kp, uint8_t *out, size_t a, int kind, const uint8_t *pt, size_t pt_len,
             uint32_t path_flags);

// Opens the packet buf[0, len) in place; returns the plaintext length (at a+20) or an AEAD_* code
// (AEAD_EXPIRED once destroyed). The window moves only for a packet that authenticated.
long kp_open(aead_ctx_t *c, kp_t *kp, uint8_t *buf, size_t a, size_t len, uint32_t path_flags);

// The first plaintext byte of the sealed packet buf[0, len) (its inner kind), without authenticating it
// or moving the replay window: which path opens it may depend on it, nothing else. -1 if it cannot be
// read (destroyed keypair, too short).
int kp_peek_first(aead_ctx_t *c, const kp_t *kp, const uint8_t *buf, size_t a, size_t len, uint32_t path_flags);

// Forgets the keys this thread's contexts remember (the next seal or open sets its key again).
void aead_forget_thread_keys(void);

// Zeroes both keys; every later seal or open fails.
void kp_destroy(kp_t *kp);

#endif
