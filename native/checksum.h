// The Internet checksum (RFC 1071) for the offload code: segmentation writes TCP/UDP checksums, coalescing
// verifies them and writes the pseudo-header sum a CHECKSUM_PARTIAL packet carries.
//
// Sums are kept in the "memory order" domain: 16-bit words are loaded as the host stores them, so no byte
// is swapped per word. A one's-complement sum is byte-order independent up to one final swap, so a value
// folded here and stored back with memcpy lands in the packet as the right big-endian bytes. A field
// known as a number (a length, a protocol) enters the sum as `ck_be16(value)`, the way it sits in memory.
#ifndef OVERLAYD_CHECKSUM_H
#define OVERLAYD_CHECKSUM_H

#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

// Adds `len` bytes at `p` to the running sum. `p` must start at an even offset from the start of the
// checksummed region (an odd final byte is padded with a zero, as RFC 1071 says).
static inline uint64_t ck_add(uint64_t acc, const void *data, size_t len) {
  const uint8_t *p = data;
  uint64_t carry = 0;
  while (len >= 32) {
    uint64_t a, b, c, d;
    memcpy(&a, p, 8);
    memcpy(&b, p + 8, 8);
    memcpy(&c, p + 16, 8);
    memcpy(&d, p + 24, 8);
    acc += a;
    carry += acc < a;
    acc += b;
    carry += acc < b;
    acc += c;
    carry += acc < c;
    acc += d;
    carry += acc < d;
    p += 32;
    len -= 32;
  }
  while (len >= 8) {
    uint64_t a;
    memcpy(&a, p, 8);
    acc += a;
    carry += acc < a;
    p += 8;
    len -= 8;
  }
  // Folding the 64-bit words to 32 bits first keeps the tail additions from overflowing.
  uint64_t sum = (acc & 0xffffffffu) + (acc >> 32) + carry;
  if (len >= 4) {
    uint32_t v;
    memcpy(&v, p, 4);
    sum += v;
    p += 4;
    len -= 4;
  }
  if (len >= 2) {
    uint16_t v;
    memcpy(&v, p, 2);
    sum += v;
    p += 2;
    len -= 2;
  }
  if (len) {
    uint16_t v = 0;
    memcpy(&v, p, 1);
    sum += v;
  }
  return sum;
}

// A 16-bit big-endian number as it contributes to a memory-order sum.
static inline uint64_t ck_be16(uint16_t value) {
  return htons(value);
}

static inline uint16_t ck_fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)sum;
}

// The TCP/UDP pseudo header of the IP packet at `ip` (version from its first nibble): addresses, protocol
// and the transport length.
static inline uint64_t ck_pseudo(const uint8_t *ip, uint8_t proto, uint32_t transport_len) {
  uint64_t sum = (ip[0] >> 4) == 4 ? ck_add(0, ip + 12, 8) : ck_add(0, ip + 8, 32);
  sum += ck_be16(proto);
  // An IPv6 jumbo length would need 32 bits; nothing here exceeds 65535.
  sum += ck_be16((uint16_t)transport_len);
  return sum;
}

// Stores a folded memory-order value at `p` (2 bytes).
static inline void ck_store(uint8_t *p, uint16_t value) {
  memcpy(p, &value, 2);
}

#endif
