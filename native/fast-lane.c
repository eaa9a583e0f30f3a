// The outbound fast lane (see fast-lane.h for what it is and who decides what).
//
// Per batch (fast_lane_send), all or nothing:
//   1. every packet: IP version and destination → entry (a linear scan of the few busy destinations,
//      skipped while the destination repeats); the entry still valid, the packet no larger than the
//      path takes and than its slot's room for the tag, the keypair alive with counters to spare, and
//      (under MSS clamping) not a TCP SYN. One miss and the batch goes to JavaScript untouched;
//   2. every packet is sealed in place: the routed header and the AEAD fields go into the headroom
//      before it (the kind byte right before it, so kind + packet is one plaintext), the tag after it;
//   3. runs of datagrams on one socket leave in one sendmmsg. What the kernel refuses is counted, not
//      retried: the underlay may lose packets, and a retry would only reorder.
#define _GNU_SOURCE
#include "fast-lane.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mono-clock.h"
#include "napi-util.h"

// Inner kind of an IP packet (src/wire/constants.ts InnerKind.IPPacket).
#define KIND_IP 1
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_ICMPV6_ 58
#define TCP_SYN 0x02

// The entry for the packet's destination, or NULL.
static fast_entry_t *fast_find(fast_lane_t *lane, const uint8_t *p, uint32_t len) {
  const uint8_t v = p[0] >> 4;
  const uint8_t *dst;
  size_t alen;
  if (v == 4 && len >= 20) {
    dst = p + 16;
    alen = 4;
  } else if (v == 6 && len >= 40) {
    dst = p + 24;
    alen = 16;
  } else {
    return NULL;
  }
  for (uint32_t k = 0; k < FAST_SLOTS; k++) {
    fast_entry_t *e = &lane->e[k];
    if (e->in_use && e->family == (v == 4 ? 4 : 6) && memcmp(e->addr, dst, alen) == 0) return e;
  }
  return NULL;
}

// True if MSS clamping must see the packet: a TCP SYN, or an IPv6 packet whose next header is not
// TCP, UDP or ICMPv6 (an extension header could hide a SYN).
static bool fast_clamp_wants(const uint8_t *p, uint32_t len) {
  uint32_t tcp;
  if ((p[0] >> 4) == 4) {
    if (p[9] != IPPROTO_TCP_) return false;
    tcp = (uint32_t)(p[0] & 0x0f) * 4;
  } else {
    if (p[6] == IPPROTO_UDP_ || p[6] == IPPROTO_ICMPV6_) return false;
    if (p[6] != IPPROTO_TCP_) return true;
    tcp = 40;
  }
  return tcp + 14 > len || (p[tcp + 13] & TCP_SYN) != 0;
}

bool fast_lane_send(fast_lane_t *lane, uint8_t *buffer, uint32_t stride, uint32_t headroom, const uint32_t *lengths,
                    uint32_t n) {
  if (lane->used == 0 || n == 0 || n > FAST_MAX_BATCH) return false;
  const uint64_t now = mono_now_ns();
  const uint32_t room = stride - headroom;
  fast_entry_t *of[FAST_MAX_BATCH];
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *p = buffer + (size_t)i * stride + headroom;
    const uint32_t len = lengths[i];
    fast_entry_t *e = fast_find(lane, p, len);
    if (e == NULL || now >= e->valid_until_ns || len > e->max_len || len + AEAD_TAG_BYTES > room ||
        headroom < (uint32_t)e->header_len - 8 + AEAD_AD_BYTES + 1 || e->kp->destroyed ||
        e->kp->counter + n >= e->kp->limit || ((e->flags & FAST_CLAMP_SYN) && fast_clamp_wants(p, len)))
      return false;
    of[i] = e;
  }
  aead_ctx_t *c = aead_thread_ctx();
  if (c == NULL) return false;
  struct mmsghdr msgs[FAST_MAX_BATCH];
  struct iovec iov[FAST_MAX_BATCH];
  const double now_ms = (double)now / 1e6;
  for (uint32_t i = 0; i < n; i++) {
    fast_entry_t *e = of[i];
    uint8_t *p = buffer + (size_t)i * stride + headroom;
    const size_t a = e->header_len - 8;
    uint8_t *out = p - 1 - AEAD_AD_BYTES - a;
    memcpy(out, e->header, e->header_len);
    p[-1] = KIND_IP;
    const long end = kp_seal(c, e->kp, out, a, -1, p - 1, lengths[i] + 1, e->header[2] == 0 ? 1 : 0);
    if (end < 0) return false; // unreachable after the checks above; nothing was sent yet
    iov[i] = (struct iovec){out, (size_t)end};
    msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &e->to, .msg_namelen = e->to_len, .msg_iov = &iov[i], .msg_iovlen = 1}};
    e->st[FAST_ST_PACKETS] += 1;
    e->st[FAST_ST_BYTES] += lengths[i];
    if (lengths[i] > e->st[FAST_ST_LARGEST]) e->st[FAST_ST_LARGEST] = lengths[i];
    e->st[FAST_ST_LAST_MS] = now_ms;
  }
  for (uint32_t i = 0; i < n;) {
    uint32_t run = 1;
    while (i + run < n && of[i + run]->fd == of[i]->fd) run++;
    int sent = sendmmsg(of[i]->fd, msgs + i, run, MSG_DONTWAIT);
    if (sent < 0) sent = 0;
    for (uint32_t k = i + (uint32_t)sent; k < i + run; k++) {
      of[k]->st[FAST_ST_DROPS] += 1;
      of[k]->st[FAST_ST_ERRNO] = errno;
    }
    i += run;
  }
  return true;
}

// --- JS side ------------------------------------------------------------------------------------

static void fast_release(napi_env env, fast_entry_t *e) {
  if (e->fd >= 0) close(e->fd);
  e->fd = -1;
  e->fd_of = -1;
  if (env != NULL && e->kp_ref != NULL) napi_delete_reference(env, e->kp_ref);
  e->kp_ref = NULL;
  e->kp = NULL;
}

void fast_lane_clear(napi_env env, fast_lane_t *lane, int slot) {
  for (int k = 0; k < FAST_SLOTS; k++) {
    if ((slot >= 0 && k != slot) || !lane->e[k].in_use) continue;
    fast_release(env, &lane->e[k]);
    lane->e[k].in_use = 0;
    lane->used--;
  }
  // This addon's cipher context may still hold a cleared entry's key: forget it (aead.c kp_destroy
  // does the same for the packet addon's own context).
  aead_forget_thread_keys();
}

void fast_lane_take(fast_lane_t *lane, double *out) {
  for (uint32_t k = 0; k < FAST_SLOTS; k++) {
    fast_entry_t *e = &lane->e[k];
    memcpy(out + k * FAST_ST_COUNT, e->st, sizeof(e->st));
    const double last = e->st[FAST_ST_LAST_MS];
    memset(e->st, 0, sizeof(e->st));
    e->st[FAST_ST_LAST_MS] = last;
  }
}

static void fast_sockaddr(const uint8_t *rec, struct sockaddr_in6 *to, socklen_t *len) {
  memset(to, 0, sizeof(*to));
  if (rec[18] == 4) {
    struct sockaddr_in *sin = (struct sockaddr_in *)to;
    sin->sin_family = AF_INET;
    memcpy(&sin->sin_addr, rec, 4);
    memcpy(&sin->sin_port, rec + 16, 2);
    *len = sizeof(struct sockaddr_in);
  } else {
    to->sin6_family = AF_INET6;
    memcpy(&to->sin6_addr, rec, 16);
    memcpy(&to->sin6_port, rec + 16, 2);
    *len = sizeof(struct sockaddr_in6);
  }
}

// argv: slot, addr, state, header, headerLength, maxLength, fd, record, validUntilMs, flags.
napi_status fast_lane_set(napi_env env, fast_lane_t *lane, napi_value *argv) {
  uint32_t slot, header_len, max_len, flags;
  int32_t fd;
  double valid_ms;
  size_t addr_len, state_len, header_cap;
  void *addr, *state, *header;
  const uint8_t *rec;
  napi_status s;
  if ((s = napi_get_value_uint32(env, argv[0], &slot)) != napi_ok) return s;
  if ((s = napi_get_buffer_info(env, argv[1], &addr, &addr_len)) != napi_ok) return s;
  if ((s = napi_get_buffer_info(env, argv[2], &state, &state_len)) != napi_ok) return s;
  if ((s = napi_get_buffer_info(env, argv[3], &header, &header_cap)) != napi_ok) return s;
  if ((s = napi_get_value_uint32(env, argv[4], &header_len)) != napi_ok) return s;
  if ((s = napi_get_value_uint32(env, argv[5], &max_len)) != napi_ok) return s;
  if ((s = napi_get_value_int32(env, argv[6], &fd)) != napi_ok) return s;
  rec = ovl_typed(env, argv[7], napi_uint8_array, 20, "record");
  if (rec == NULL) return napi_pending_exception;
  if ((s = napi_get_value_double(env, argv[8], &valid_ms)) != napi_ok) return s;
  if ((s = napi_get_value_uint32(env, argv[9], &flags)) != napi_ok) return s;
  const uint8_t *h = header;
  if (slot >= FAST_SLOTS || (addr_len != 4 && addr_len != 16) || state_len < sizeof(kp_t) || fd < 0 ||
      header_len > header_cap || header_len > FAST_HEADER_MAX || header_cap < 3 || h[2] > 7 ||
      header_len != 4 + 4u * h[2] + 8 || (rec[18] != 4 && rec[18] != 6) || !(valid_ms >= 0)) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "tun_fast_set: slot, address, state, header or record is inconsistent");
    return napi_pending_exception;
  }
  fast_entry_t *e = &lane->e[slot];
  if (!e->in_use) {
    e->fd = -1;
    e->fd_of = -1;
    e->kp_ref = NULL;
    e->kp = NULL;
    memset(e->st, 0, sizeof(e->st));
  }
  if (e->fd_of != fd) {
    const int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0) {
      napi_throw(env, ovl_errno_error(env, errno, "fcntl", "fast lane", "cannot duplicate the UDP socket"));
      return napi_pending_exception;
    }
    if (e->fd >= 0) close(e->fd);
    e->fd = dup_fd;
    e->fd_of = fd;
  }
  if (e->kp != (kp_t *)state) {
    if (e->kp_ref != NULL) {
      napi_delete_reference(env, e->kp_ref);
      aead_forget_thread_keys();
    }
    if ((s = napi_create_reference(env, argv[2], 1, &e->kp_ref)) != napi_ok) return s;
    e->kp = state;
  }
  e->family = addr_len == 4 ? 4 : 6;
  memcpy(e->addr, addr, addr_len);
  e->header_len = (uint8_t)header_len;
  memcpy(e->header, header, header_len);
  e->max_len = max_len;
  e->flags = (uint8_t)flags;
  fast_sockaddr(rec, &e->to, &e->to_len);
  e->valid_until_ns = (uint64_t)(valid_ms * 1e6);
  if (!e->in_use) lane->used++;
  e->in_use = 1;
  return napi_ok;
}
