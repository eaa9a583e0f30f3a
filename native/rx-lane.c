// The inbound fast lane (see rx-lane.h for what it is and who decides what).
#define _GNU_SOURCE
#include "rx-lane.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "mono-clock.h"
#include "napi-util.h"

// A direct Data packet: type, ttl, routeLen 0, routePos 0, src, dst, receiverIndex, counter, sealed body.
#define TYPE_DATA 3
#define KIND_IP 1
#define AD_AT 4 // src: where the AEAD's associated data starts in a direct packet
#define MIN_DATAGRAM (AD_AT + AEAD_AD_BYTES + 1 + AEAD_TAG_BYTES)
#define VNET_HDR_BYTES 10

static uint32_t get32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static rx_entry_t *rx_find(rx_lane_t *lane, uint32_t index) {
  for (uint32_t k = 0; k < RX_SLOTS; k++)
    if (lane->e[k].in_use && lane->e[k].index == index) return &lane->e[k];
  return NULL;
}

// The drop counter for an AEAD_* or OPEN_* refusal.
static int rx_reason(long code) {
  switch (code) {
  case AEAD_TRUNCATED:
    return RX_ST_TRUNCATED;
  case AEAD_REPLAYED:
    return RX_ST_REPLAYED;
  case AEAD_EXPIRED:
    return RX_ST_EXPIRED;
  case OPEN_NOT_IP:
    return RX_ST_NOT_IP;
  case OPEN_SPOOFED:
    return RX_ST_SPOOFED;
  case OPEN_NOT_LOCAL:
    return RX_ST_NOT_LOCAL;
  case OPEN_BAD_INNER:
    return RX_ST_BAD_INNER;
  default:
    return RX_ST_AUTH_FAILED;
  }
}

bool rx_lane_deliver(rx_lane_t *lane, uint8_t *buffer, const uint8_t *records, const uint32_t *dg_offsets,
                     const uint32_t *dg_lengths, const uint32_t *dg_sources, uint32_t n) {
  if (lane->used == 0 || lane->tun_fd < 0 || lane->tun_failed || n == 0 || n > RX_MAX_BATCH) return false;
  aead_ctx_t *c = aead_thread_ctx();
  if (c == NULL) return false;
  const uint64_t now = mono_now_ns();
  rx_entry_t *of[RX_MAX_BATCH];
  // 1. Every datagram qualifies, or none takes the lane. Nothing is changed here.
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *d = buffer + dg_offsets[i];
    const uint32_t len = dg_lengths[i];
    if (len < MIN_DATAGRAM || len >= lane->max_datagram || d[0] != TYPE_DATA || d[2] != 0 || d[3] != 0 ||
        get32(d + 8) != lane->self)
      return false;
    rx_entry_t *e = rx_find(lane, get32(d + 12));
    if (e == NULL || e->peer != get32(d + 4) || now >= e->valid_until_ns || e->kp->destroyed ||
        memcmp(records + (size_t)dg_sources[i] * 20, e->record, 19) != 0 ||
        kp_peek_first(c, e->kp, d, AD_AT, len, 1) != KIND_IP)
      return false;
    of[i] = e;
  }
  // 2. Open, check, write: what fails is counted and dropped, as on the JS path.
  for (uint32_t i = 0; i < n; i++) {
    rx_entry_t *e = of[i];
    uint8_t *d = buffer + dg_offsets[i];
    e->st[RX_ST_DATAGRAMS] += 1;
    const long plain = kp_open(c, e->kp, d, AD_AT, dg_lengths[i], 1);
    if (plain < 0) {
      e->st[rx_reason(plain)] += 1;
      continue;
    }
    // Authentic from here on; the peeked kind byte was the real one.
    uint8_t *ip = d + AD_AT + AEAD_AD_BYTES + 1;
    uint32_t ip_len = 0;
    const int verdict = plain < 1 ? OPEN_BAD_INNER : check_inner(ip, (size_t)plain - 1, e->addrs, e->addr_flags, &ip_len);
    if (verdict != OPEN_DELIVERED) {
      e->st[rx_reason(verdict)] += 1;
      continue;
    }
    uint8_t vnet[VNET_HDR_BYTES] = {0};
    struct iovec iov[2] = {{vnet, VNET_HDR_BYTES}, {ip, ip_len}};
    ssize_t w;
    do {
      w = lane->vnet ? writev(lane->tun_fd, iov, 2) : writev(lane->tun_fd, iov + 1, 1);
    } while (w < 0 && errno == EINTR);
    if (w >= 0) {
      e->st[RX_ST_PACKETS] += 1;
      e->st[RX_ST_BYTES] += ip_len;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
      e->st[RX_ST_TUN_FULL] += 1;
    } else {
      e->st[RX_ST_TUN_ERROR] += 1;
      e->st[RX_ST_TUN_ERRNO] = errno;
      lane->tun_failed = 1;
    }
  }
  return true;
}

// --- JS side ------------------------------------------------------------------------------------

static void rx_release(napi_env env, rx_entry_t *e) {
  if (env != NULL && e->kp_ref != NULL) napi_delete_reference(env, e->kp_ref);
  e->kp_ref = NULL;
  e->kp = NULL;
}

void rx_lane_clear(napi_env env, rx_lane_t *lane, int slot) {
  for (int k = 0; k < RX_SLOTS; k++) {
    if ((slot >= 0 && k != slot) || !lane->e[k].in_use) continue;
    rx_release(env, &lane->e[k]);
    lane->e[k].in_use = 0;
    lane->used--;
  }
  // This addon's cipher contexts may still hold a cleared entry's key (aead.c kp_destroy does the same
  // for the packet addon's).
  aead_forget_thread_keys();
}

void rx_lane_close(napi_env env, rx_lane_t *lane) {
  rx_lane_clear(env, lane, -1);
  if (lane->tun_fd >= 0) close(lane->tun_fd);
  lane->tun_fd = -1;
  lane->tun_fd_of = -1;
}

void rx_lane_take(rx_lane_t *lane, double *out) {
  for (uint32_t k = 0; k < RX_SLOTS; k++) {
    memcpy(out + k * RX_ST_COUNT, lane->e[k].st, sizeof(lane->e[k].st));
    memset(lane->e[k].st, 0, sizeof(lane->e[k].st));
  }
}

// argv: self, maxDatagram, tunFd (-1: none), vnet.
napi_status rx_lane_setup(napi_env env, rx_lane_t *lane, napi_value *argv) {
  uint32_t self, max_datagram;
  int32_t fd;
  bool vnet;
  napi_status s;
  if ((s = napi_get_value_uint32(env, argv[0], &self)) != napi_ok) return s;
  if ((s = napi_get_value_uint32(env, argv[1], &max_datagram)) != napi_ok) return s;
  if ((s = napi_get_value_int32(env, argv[2], &fd)) != napi_ok) return s;
  if ((s = napi_get_value_bool(env, argv[3], &vnet)) != napi_ok) return s;
  if (lane->tun_fd_of != fd || lane->tun_fd < 0) {
    int dup_fd = -1;
    if (fd >= 0 && (dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
      napi_throw(env, ovl_errno_error(env, errno, "fcntl", "rx lane", "cannot duplicate the TUN fd"));
      return napi_pending_exception;
    }
    if (lane->tun_fd >= 0) close(lane->tun_fd);
    lane->tun_fd = dup_fd;
    lane->tun_fd_of = fd;
  }
  lane->self = self;
  lane->max_datagram = max_datagram;
  lane->vnet = vnet;
  lane->tun_failed = 0;
  return napi_ok;
}

// argv: slot, index, peer, record, state, addrs, addrFlags, validUntilMs.
napi_status rx_lane_set(napi_env env, rx_lane_t *lane, napi_value *argv) {
  uint32_t slot, index, peer, addr_flags;
  double valid_ms;
  size_t state_len;
  void *state;
  napi_status s;
  if ((s = napi_get_value_uint32(env, argv[0], &slot)) != napi_ok) return s;
  if ((s = napi_get_value_uint32(env, argv[1], &index)) != napi_ok) return s;
  if ((s = napi_get_value_uint32(env, argv[2], &peer)) != napi_ok) return s;
  const uint8_t *rec = ovl_typed(env, argv[3], napi_uint8_array, 20, "record");
  if (rec == NULL) return napi_pending_exception;
  if ((s = napi_get_buffer_info(env, argv[4], &state, &state_len)) != napi_ok) return s;
  const uint8_t *addrs = ovl_typed(env, argv[5], napi_uint8_array, ADDRS_BYTES, "addrs");
  if (addrs == NULL) return napi_pending_exception;
  if ((s = napi_get_value_uint32(env, argv[6], &addr_flags)) != napi_ok) return s;
  if ((s = napi_get_value_double(env, argv[7], &valid_ms)) != napi_ok) return s;
  if (slot >= RX_SLOTS || state_len < sizeof(kp_t) || !(valid_ms >= 0)) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "udp_rx_set: slot, state or validity is inconsistent");
    return napi_pending_exception;
  }
  rx_entry_t *e = &lane->e[slot];
  if (!e->in_use) {
    e->kp_ref = NULL;
    e->kp = NULL;
    memset(e->st, 0, sizeof(e->st));
  }
  if (e->kp != (kp_t *)state) {
    if (e->kp_ref != NULL) {
      napi_delete_reference(env, e->kp_ref);
      aead_forget_thread_keys();
    }
    if ((s = napi_create_reference(env, argv[4], 1, &e->kp_ref)) != napi_ok) return s;
    e->kp = state;
  }
  e->index = index;
  e->peer = peer;
  memcpy(e->record, rec, 20);
  memcpy(e->addrs, addrs, ADDRS_BYTES);
  e->addr_flags = addr_flags;
  e->valid_until_ns = (uint64_t)(valid_ms * 1e6);
  if (!e->in_use) lane->used++;
  e->in_use = 1;
  return napi_ok;
}
