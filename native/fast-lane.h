// The outbound fast lane: TUN packets to a destination JavaScript has already decided, sealed and sent
// from the TUN's readable callback without entering V8 (issue 11: the idle round trip's four passes
// through JavaScript were ~250 µs of ~450-600 µs; this takes out the two outbound ones).
//
// JavaScript (src/forward/fast-lane.ts) owns every decision. For each busy destination it installs an
// entry: the inner destination address, the keypair state it seals with, the routed header, the largest
// packet the path takes, the UDP socket and address of the first hop, and how long the entry may be
// used. It renews or replaces the entries after each of its own events (timer, received batch, TUN
// batch it handled), which are the only times routes, sessions, endpoints or liveness can change, and
// reads back what the lane sent (counters, "in use" for the prober and the path watch).
//
// A batch takes the lane only if every packet in it does; anything else (a packet JS must look at:
// no entry, expired entry, too big, a TCP SYN under MSS clamping, a worn-out keypair, a large batch
// that the JS path sends with UDP GSO) goes to JavaScript whole, as before.
#ifndef OVERLAYD_FAST_LANE_H
#define OVERLAYD_FAST_LANE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include <node_api.h>

#include "aead.h"

// Entries: one per overlay address of a busy destination (IPv4 and IPv6 of up to 16 members).
#define FAST_SLOTS 32
// Routed header: type, ttl, routeLen, routePos, up to 7 relay ids, src, dst.
#define FAST_HEADER_MAX (4 + 4 * 7 + 8)
// Packets per batch the lane takes. A lone packet is what latency is made of (a keystroke, a ping, a
// request); two or more read at once are a flow, which the JS path sends as one UDP GSO message per run
// of equal sizes, and which the far side and a relay then receive in fewer, coalesced reads. With 8,
// the ACK trains of a bulk flow left here one datagram each, and relayed single-flow throughput fell by
// a sixth (benchmarks/README.md, "The fast lanes").
#define FAST_MAX_BATCH 1
// Per-slot counters handed to JS by fast_take (doubles): packets, bytes, largest packet, last send
// (ms, CLOCK_MONOTONIC), datagrams the kernel refused, the last refusal's errno.
enum { FAST_ST_PACKETS = 0, FAST_ST_BYTES, FAST_ST_LARGEST, FAST_ST_LAST_MS, FAST_ST_DROPS, FAST_ST_ERRNO, FAST_ST_COUNT };
// Entry flags.
enum { FAST_CLAMP_SYN = 1 }; // network.mssClamp: TCP SYNs (and IPv6 extension headers) go to JS

typedef struct {
  int in_use;
  uint8_t family; // of the inner destination: 4 or 6
  uint8_t header_len;
  uint8_t flags;
  uint8_t addr[16];
  uint32_t max_len; // largest inner IP packet (the path MTU)
  int fd;           // our dup of the UDP socket (closing the transport's fd cannot redirect us)
  int fd_of;        // the transport's fd it was duplicated from
  struct sockaddr_in6 to;
  socklen_t to_len;
  kp_t *kp;
  napi_ref kp_ref; // keeps the keypair's Buffer alive while the entry points into it
  uint64_t valid_until_ns;
  uint8_t header[FAST_HEADER_MAX];
  double st[FAST_ST_COUNT];
} fast_entry_t;

typedef struct {
  fast_entry_t e[FAST_SLOTS];
  uint32_t used; // slots in use (0: the lane is skipped at no cost)
} fast_lane_t;

// Seals and sends packets [0, n) of the TUN batch (packet i at i*stride + headroom, lengths[i] bytes)
// if every one of them has a valid entry; returns false (nothing done, nothing changed) otherwise.
bool fast_lane_send(fast_lane_t *lane, uint8_t *buffer, uint32_t stride, uint32_t headroom, const uint32_t *lengths,
                    uint32_t n);

// N-API: tun_fast_set(handle, slot, addr, state, header, headerLength, maxLength, fd, record, validUntilMs,
// flags), tun_fast_clear(handle, slot | -1), tun_fast_take(handle, out Float64Array(FAST_SLOTS *
// FAST_ST_COUNT)), tun_fast_clock() -> ms. They take the lane of a device handle; see tun.c.
napi_status fast_lane_set(napi_env env, fast_lane_t *lane, napi_value *argv);
void fast_lane_clear(napi_env env, fast_lane_t *lane, int slot);
void fast_lane_take(fast_lane_t *lane, double *out);

#endif
