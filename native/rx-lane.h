// The inbound fast lane: Data packets from a member's proven endpoint on a session JavaScript has
// already seen working, opened, checked and written to the TUN from the UDP socket's readable callback,
// without entering V8 (issue 11: the inbound passes through JavaScript were ~90-115 µs of an idle round
// trip). The outbound twin is fast-lane.h.
//
// JavaScript (src/forward/rx-lane.ts) owns every decision. It installs an entry per receive keypair
// that just delivered data from an address of the member's it knows: our receiver index, the member's
// id, that address's record, the keypair state, the member's address block for the inner checks
// (inner-check.h), and how long the entry may be used. It decides the entries again after each of its
// events, and reads back what the lane delivered and what it refused (counted as the JS path would).
//
// A batch takes the lane only if every datagram in it may, checked before anything changes:
//   - at most RX_MAX_BATCH datagrams, each shorter than `max_datagram` (the standing-delay control in
//     JavaScript looks only at larger ones, so it still sees every datagram it would act on);
//   - a direct Data packet (no relays) to us, whose receiver index has a valid entry for its src, from
//     that entry's address (one JavaScript has nothing to learn from: see forward/rx-lane.ts);
//   - its inner kind, read without authenticating (kp_peek_first), is an IP packet: probes, routing
//     messages and keepalives are JavaScript's, and a forged kind byte only picks which path refuses it.
// Then each is opened (replay window, authentication), its inner packet checked, and written to the TUN.
// What fails is dropped and counted by reason, as the JS path would.
#ifndef OVERLAYD_RX_LANE_H
#define OVERLAYD_RX_LANE_H

#include <stdbool.h>
#include <stdint.h>

#include <node_api.h>

#include "aead.h"
#include "inner-check.h"

#define RX_SLOTS 32
#define RX_MAX_BATCH 8
// Per-slot counters handed to JS by rx_lane_take (doubles): IP packets written to the TUN and their
// bytes, datagrams taken, then refusals by the JS path's drop reasons.
enum {
  RX_ST_PACKETS = 0,
  RX_ST_BYTES,
  RX_ST_DATAGRAMS,
  RX_ST_TRUNCATED,
  RX_ST_REPLAYED,
  RX_ST_AUTH_FAILED,
  RX_ST_EXPIRED,
  RX_ST_NOT_IP,
  RX_ST_SPOOFED,
  RX_ST_NOT_LOCAL,
  RX_ST_BAD_INNER,
  RX_ST_TUN_FULL,
  RX_ST_TUN_ERROR,
  RX_ST_TUN_ERRNO, // the errno of the last failed TUN write (not a count)
  RX_ST_COUNT
};

typedef struct {
  int in_use;
  uint32_t index; // our receiver index
  uint32_t peer;  // the member's id: the header's src
  uint8_t record[20]; // the member's address the entry takes (udp.c's address record)
  kp_t *kp;
  napi_ref kp_ref; // keeps the keypair's Buffer alive while the entry points into it
  uint32_t addr_flags;
  uint64_t valid_until_ns;
  uint8_t addrs[ADDRS_BYTES];
  double st[RX_ST_COUNT];
} rx_entry_t;

typedef struct {
  rx_entry_t e[RX_SLOTS];
  uint32_t used;
  uint32_t self;         // our id: the header's dst
  uint32_t max_datagram; // datagrams this long or longer go to JS
  int tun_fd;            // our dup of the TUN's fd (-1: none yet, the lane is off)
  int tun_fd_of;
  int vnet; // the TUN takes a virtio-net header before each packet
  // A write to the TUN failed (down, deleted): the lane takes nothing until JS sets it up again, so the
  // JS path's writes see the failure too (native-tun.ts logs it once and brings the device back).
  int tun_failed;
} rx_lane_t;

// Delivers datagrams [0, n) of a received batch (datagram i: dg_lengths[i] bytes at buffer +
// dg_offsets[i], source record dg_sources[i] of `records`, its wait ages[dg_sources[i]] µs) if every one
// may take the lane; returns false (nothing changed) otherwise.
bool rx_lane_deliver(rx_lane_t *lane, uint8_t *buffer, const uint8_t *records, const uint32_t *dg_offsets,
                     const uint32_t *dg_lengths, const uint32_t *dg_sources, uint32_t n);

// N-API, through udp.c: udp_rx_set(handle, slot, index, peer, record, state, addrs, addrFlags,
// validUntilMs), udp_rx_clear(handle, slot | -1), udp_rx_take(handle, out Float64Array(RX_SLOTS *
// RX_ST_COUNT)), udp_rx_setup(handle, self, maxDatagram, tunFd, vnet).
napi_status rx_lane_set(napi_env env, rx_lane_t *lane, napi_value *argv);
void rx_lane_clear(napi_env env, rx_lane_t *lane, int slot);
void rx_lane_take(rx_lane_t *lane, double *out);
napi_status rx_lane_setup(napi_env env, rx_lane_t *lane, napi_value *argv);
void rx_lane_close(napi_env env, rx_lane_t *lane);

#endif
