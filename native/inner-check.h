// The inner-packet checks of an opened Data packet (forward/deliver-ip.ts describes them), shared by
// the batch open (packet.c) and the inbound fast lane (rx-lane.c): an IP packet whose source is the
// sending member's address or in a LAN it is a gateway for, and whose destination is ours.
#ifndef OVERLAYD_INNER_CHECK_H
#define OVERLAYD_INNER_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

// Open results besides 0 (delivered to the TUN list) — shared with forward/inbound.ts.
enum {
  OPEN_DELIVERED = 0,
  OPEN_OTHER_KIND = 1, // authenticated, not an IP packet: JS dispatches it (control, probe, keepalive)
  OPEN_NOT_IP = -10,
  OPEN_SPOOFED = -11,  // inner source is neither the sending member's address nor in one of its LANs
  OPEN_NOT_LOCAL = -12,  // inner destination is not an address this node accepts
  OPEN_BAD_INNER = -13,  // IP length field inconsistent with the packet
};

// The address block (pkt_open_batch, rx lane): what the inner checks compare with.
//   [0,4)   the member's IPv4 address       [4,20)  its IPv6 address (if flag ADDRS_PEER6)
//   20 u8   n4: accepted IPv4 destination prefixes, 21 u8 n6: IPv6 ones (at most ADDRS_MAX each)
//   22 u8   s4: the member's IPv4 source prefixes (the LANs it is a gateway for), 23 u8 s6: IPv6 ones
//   ADDRS_V4_AT       n4 × (u32 BE network, u32 BE mask)
//   ADDRS_V6_AT       n6 × (16 bytes network, u8 prefix length, 3 bytes zero)
//   ADDRS_SRC_V4_AT   s4 × IPv4 prefix, ADDRS_SRC_V6_AT  s6 × IPv6 prefix (same entry formats)
// Counts above ADDRS_MAX are read as ADDRS_MAX: a bad count never reads past the block.
#define ADDRS_MAX 8
#define ADDRS_V4_AT 24
#define ADDRS_V6_AT (ADDRS_V4_AT + 8 * ADDRS_MAX)
#define ADDRS_SRC_V4_AT (ADDRS_V6_AT + 20 * ADDRS_MAX)
#define ADDRS_SRC_V6_AT (ADDRS_SRC_V4_AT + 8 * ADDRS_MAX)
#define ADDRS_BYTES (ADDRS_SRC_V6_AT + 20 * ADDRS_MAX)
enum { ADDRS_PEER6 = 1 };

// True if the IPv4 address `addr` (network order bytes) is in one of the `count` prefixes at `list`.
static inline bool in_v4(const uint8_t *list, uint8_t count, const uint8_t *addr) {
  const uint32_t a = ((uint32_t)addr[0] << 24) | ((uint32_t)addr[1] << 16) | ((uint32_t)addr[2] << 8) | addr[3];
  const uint8_t n = count < ADDRS_MAX ? count : ADDRS_MAX;
  for (uint8_t i = 0; i < n; i++) {
    const uint8_t *e = list + 8 * i;
    const uint32_t net = ((uint32_t)e[0] << 24) | ((uint32_t)e[1] << 16) | ((uint32_t)e[2] << 8) | e[3];
    const uint32_t mask = ((uint32_t)e[4] << 24) | ((uint32_t)e[5] << 16) | ((uint32_t)e[6] << 8) | e[7];
    if ((a & mask) == net) return true;
  }
  return false;
}

// True if the IPv6 address `addr` is in one of the `count` prefixes at `list`.
static inline bool in_v6(const uint8_t *list, uint8_t count, const uint8_t *addr) {
  const uint8_t n = count < ADDRS_MAX ? count : ADDRS_MAX;
  for (uint8_t i = 0; i < n; i++) {
    const uint8_t *e = list + 20 * i;
    const uint8_t bits = e[16] > 128 ? 128 : e[16];
    const uint8_t whole = bits >> 3;
    if (memcmp(addr, e, whole) != 0) continue;
    const uint8_t rest = bits & 7;
    if (rest == 0) return true;
    const uint8_t mask = (uint8_t)(0xff << (8 - rest));
    if ((addr[whole] & mask) == (e[whole] & mask)) return true;
  }
  return false;
}

// The inner source may be the member's own address or inside a LAN it is a gateway for.
static inline bool source_v4(const uint8_t *addrs, const uint8_t *src) {
  return memcmp(src, addrs, 4) == 0 || in_v4(addrs + ADDRS_SRC_V4_AT, addrs[22], src);
}

static inline bool source_v6(const uint8_t *addrs, uint32_t addr_flags, const uint8_t *src) {
  return ((addr_flags & ADDRS_PEER6) && memcmp(src, addrs + 4, 16) == 0) ||
         in_v6(addrs + ADDRS_SRC_V6_AT, addrs[23], src);
}

// The inner-packet checks of one opened IP packet at p (plen bytes), as forward/deliver-ip.ts describes
// them. Returns 0 with *ip_len set (IP total length, padding cut) or an OPEN_* refusal.
static inline int check_inner(const uint8_t *p, size_t plen, const uint8_t *addrs, uint32_t addr_flags, uint32_t *ip_len) {
  if (plen < 1) return OPEN_NOT_IP;
  const uint8_t version = p[0] >> 4;
  size_t total;
  if (version == 4 && plen >= 20) {
    if (!source_v4(addrs, p + 12)) return OPEN_SPOOFED;
    if (!in_v4(addrs + ADDRS_V4_AT, addrs[20], p + 16)) return OPEN_NOT_LOCAL;
    total = ((size_t)p[2] << 8) | p[3];
    if (total < 20) return OPEN_BAD_INNER;
  } else if (version == 6 && plen >= 40) {
    if (!source_v6(addrs, addr_flags, p + 8)) return OPEN_SPOOFED;
    if (!in_v6(addrs + ADDRS_V6_AT, addrs[21], p + 24)) return OPEN_NOT_LOCAL;
    total = 40 + (((size_t)p[4] << 8) | p[5]);
  } else {
    return OPEN_NOT_IP;
  }
  if (total > plen) return OPEN_BAD_INNER;
  *ip_len = (uint32_t)total;
  return OPEN_DELIVERED;
}

#endif
