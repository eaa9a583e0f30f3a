// overlayd's UDP binding: one non-blocking datagram socket per handle, received in batches with
// recvmmsg (driven by a libuv poll handle) and sent in batches with sendmmsg.
//
// Holepunch style, like native/tun.c: a thin layer of flat C-named functions, and JS owns every byte of
// memory: the socket state (udp_t, in a Buffer of `sizeof_udp_t` bytes), the receive slots, the lengths,
// the source addresses, the send ring and the counters. Native code never allocates: the mmsghdr, iovec
// and sockaddr arrays a syscall needs live on the stack for the duration of that call. While the socket
// polls, native holds strong references to the JS objects it writes into, released in the uv_close
// callback, so that memory outlives the handle.
//
// Address records (UDP_ADDR_BYTES each, shared by receive and send): bytes 0..15 the address (IPv4 in
// bytes 0..3), 16..17 the port in network order, 18 the family (4 or 6), 19 reserved (zero).
//
// Receive flow (udp_on_readable):
//   1. epoll says the socket is readable (level-triggered, so leftovers wake us again);
//   2. recvmmsg into slot i at i*slot_size, source address into record i, until the batch is full or the
//      queue is empty. With UDP_GRO (OPEN_GRO), one slot may hold many datagrams of one sender, all of
//      the size the kernel reports in a control message but the last: they are split into the datagram
//      list (offset, length, slot of the source record). A datagram longer than its slot (MSG_TRUNC) is
//      counted and left out;
//   3. with the handshake load step on (udp_handshake_load, handshake-load.c), drop initiations to us
//      with a wrong size, a mac1 already passed on or a wrong mac1, and, under load, those from a
//      source that is not a member's proven endpoint, without a valid mac2, beyond the strangers'
//      cookie budget; counted by reason: a spoofed flood of them is discarded here instead of in JS,
//      so the queue drains and the legitimate member's initiation is not dropped with the junk;
//   4. call the JS callback with the number of datagrams, inside a callback scope;
//   5. repeat while datagrams remain, at most MAX_BATCHES_PER_WAKEUP batches, then yield to the loop.
//   An error the kernel queued on the socket (an ICMP unreachable, reported as ECONNREFUSED etc. on the
//   next recv, or as POLLERR, which makes libuv stop the poll handle) is counted and reading goes on.
//   SO_RXQ_OVFL reports the datagrams the socket's receive queue dropped when full: counted too.
//   SO_TIMESTAMPNS stamps each receive with the time the kernel queued it: the age of each message when
//   it is read (µs, per slot) goes to JS, whose standing-delay control (src/transport/standing-delay.ts)
//   drops what sat too long in the queue.
//
// Send flow (udp_send_batch): consecutive datagrams to one address that all have the size of the first
// (the last may be shorter) leave as one message with UDP_SEGMENT (GSO: the kernel, or the NIC, cuts
// them), everything else as messages of one datagram; one sendmmsg per 64 messages. A kernel that
// refuses GSO (EIO: no checksum offload on the route's device) turns it off for the socket and the run
// goes again one datagram per message. A datagram the kernel refuses outright is counted and skipped;
// EAGAIN/ENOBUFS (socket buffer or queue full) drop the rest of the batch, counted. Send results come
// back as numbers (negative errno), never exceptions: the underlay may lose packets.
//
// Errors thrown here look like Node's system errors: `code` is the errno name, `errno` is the negative
// errno, `syscall` names the operation, and the message names the local address.

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

#include "handshake-load.h"
#include "napi-util.h"
#include "rx-lane.h"

// A flood never empties the queue; after this many batches, or datagrams (a GRO batch holds many), we
// return to the event loop so timers, the TUN and the control socket get their turn. epoll is
// level-triggered: we are called again at once. 256 datagrams are ~0.3 ms of opening: what the TUN
// side (a ping, the ACKs of the other direction) may wait behind a bulk flow.
#define MAX_BATCHES_PER_WAKEUP 16
#define MAX_DATAGRAMS_PER_WAKEUP 256
// Datagrams per recvmmsg/sendmmsg call: bounds the stack arrays (about 7 KiB), not the JS batch size.
#define UDP_CHUNK 64
// With GRO, datagrams one batch aims at. A receive slot may split into 64, so reading only what the
// datagram list could take in that worst case meant 4 slots per recvmmsg: a flood of small datagrams
// then cost a syscall per 3-4 of them. Instead each call reads for this target at the datagrams per
// slot seen lately (`seg_avg16`), within what the list can take in the worst case (never cut).
#define DG_TARGET 256
#define UDP_ADDR_BYTES 20
#define UDP_MAX_SLOT (64 * 1024)
// POLLERR that no pending error explains, this many times in a row: give up rather than spin.
#define MAX_UNEXPLAINED_POLL_ERRORS 64

// Counters JS reads from the Uint32Array passed to udp_start (indexes shared with native-udp-transport.ts).
enum {
  STAT_RX_ERRORS = 0,
  STAT_RX_LAST_ERRNO = 1,
  STAT_POLL_RESTARTS = 2,
  STAT_RX_TRUNCATED = 3, // datagrams longer than a slot: discarded unread
  STAT_RX_QUEUE_DROPS = 4, // SO_RXQ_OVFL: the receive queue was full (cumulative, as the kernel counts)
  STAT_TX_GSO = 5,         // messages sent with UDP_SEGMENT
  STAT_RX_MESSAGES = 6,    // receives (slots) behind the batch being delivered; their ages are in `ages`
  STAT_HS_TRUNCATED = 7,   // initiations to us dropped by the load step, by reason (handshake-load.c)
  STAT_HS_OVERSIZED = 8,
  STAT_HS_BAD_MAC = 9,
  STAT_HS_REPLAYED = 10,
  STAT_HS_COOKIE_FILTERED = 11,
  STAT_RX_CALLS = 12, // recvmmsg calls that returned datagrams (datagrams per call = receives / this)
  STAT_COUNT = 13
};
// Results of one udp_send_batch, in the Int32Array passed to it.
enum { RES_DROPPED = 0, RES_FAILED = 1, RES_LAST_FAIL_ERRNO = 2, RES_LAST_DROP_ERRNO = 3, RES_COUNT = 4 };
// udp_open flags: ICMP errors reported; GSO on send and GRO on receive.
enum { OPEN_RECVERR = 1, OPEN_OFFLOADS = 2 };
// Datagrams one GSO message may carry (the kernel's UDP_MAX_SEGMENTS), and the bytes (one IP packet).
#define GSO_MAX_SEGMENTS 64
#define GSO_MAX_BYTES 65000
// Datagrams one GRO slot may split into at most (the kernel merges up to UDP_GRO_CNT_MAX = 64; a larger
// count from a future kernel is cut at what the datagram list still holds, and counted as truncated).
#define GRO_MAX_SEGMENTS 64

enum { UDP_OPEN = 1, UDP_POLLING = 2, UDP_CLOSING = 3, UDP_CLOSED = 4 };

typedef struct {
  uv_poll_t poll;
  int fd;
  int state;
  int family; // AF_INET or AF_INET6
  char name[64]; // "host port N", for error messages

  napi_env env;
  napi_ref self_ref;    // the Buffer holding this struct
  napi_ref buffer_ref;  // receive slots
  napi_ref lengths_ref; // Uint32Array of datagram lengths
  napi_ref addrs_ref;   // Uint8Array of source address records
  napi_ref stats_ref;   // Uint32Array of counters
  napi_ref on_batch_ref;
  napi_ref on_error_ref;
  napi_ref on_closed_ref; // optional, set by udp_close
  napi_async_context async_context;
  napi_async_cleanup_hook_handle cleanup_hook;
  int env_gone; // the env is being torn down: no more calls into JS
  int unexplained_poll_errors;

  uint8_t *buffer;
  uint32_t *lengths;
  uint8_t *addrs;
  uint32_t *stats;
  uint32_t slot_size;
  uint32_t batch;
  // The datagram list of one receive batch (GRO slots split): offset in buffer, length, source slot.
  napi_ref dg_offsets_ref;
  napi_ref dg_lengths_ref;
  napi_ref dg_sources_ref;
  napi_ref ages_ref; // Uint32Array: per receive slot, µs the message waited in the socket queue
  uint32_t *ages;
  uint32_t *dg_offsets;
  uint32_t *dg_lengths;
  uint32_t *dg_sources;
  uint32_t dg_capacity;
  int gro; // UDP_GRO is on
  uint32_t seg_avg16; // datagrams per receive slot lately, ×16 (GRO only; starts at the worst case)
  int gso; // UDP_SEGMENT is used when sending (until the kernel refuses it)
  hs_load_t hs;            // handshake load step (off until udp_handshake_load)
  napi_ref hs_seen_ref;    // its replay table
  napi_ref hs_secrets_ref; // the cookie secrets (JS rotates them in place)
  napi_ref hs_proven_ref;  // its proven-endpoint table

  // Data from members JS has decided is opened and written to the TUN from here (rx-lane.h).
  rx_lane_t rx;
} udp_t;

// --- errors ---------------------------------------------------------------------------------------

static void udp_throw_errno(napi_env env, int err, const char *syscall, const char *where, const char *why) {
  napi_throw(env, ovl_errno_error(env, err, syscall, where, why));
}

#define UDP_HANDLE(u, v)                                                                                     \
  udp_t *u = ovl_handle(env, (v), sizeof(udp_t), "sizeof_udp_t");                                             \
  if (u == NULL) return NULL;

static napi_value udp_int(napi_env env, int32_t n) {
  napi_value v;
  napi_create_int32(env, n, &v);
  return v;
}

// --- address records ------------------------------------------------------------------------------

static void udp_record_from_sockaddr(uint8_t *rec, const struct sockaddr_storage *ss) {
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
    memcpy(rec, &sin->sin_addr, 4);
    memset(rec + 4, 0, 12);
    memcpy(rec + 16, &sin->sin_port, 2);
    rec[18] = 4;
  } else {
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
    memcpy(rec, &sin6->sin6_addr, 16);
    memcpy(rec + 16, &sin6->sin6_port, 2);
    rec[18] = 6;
  }
  rec[19] = 0;
}

// Fills a sockaddr for this socket's family from a record; returns its length, or 0 if the record's
// family is not the socket's (JS picks the socket by family, so this is a bug guard, not a hot path).
static socklen_t udp_sockaddr_from_record(const udp_t *u, const uint8_t *rec, struct sockaddr_in6 *out) {
  memset(out, 0, sizeof(*out));
  if (u->family == AF_INET) {
    if (rec[18] != 4) return 0;
    struct sockaddr_in *sin = (struct sockaddr_in *)out;
    sin->sin_family = AF_INET;
    memcpy(&sin->sin_addr, rec, 4);
    memcpy(&sin->sin_port, rec + 16, 2);
    return sizeof(struct sockaddr_in);
  }
  if (rec[18] != 6) return 0;
  out->sin6_family = AF_INET6;
  memcpy(&out->sin6_addr, rec, 16);
  memcpy(&out->sin6_port, rec + 16, 2);
  return sizeof(struct sockaddr_in6);
}

// --- open -----------------------------------------------------------------------------------------

// Large buffers absorb bursts. The FORCE variants ignore net.core.{r,w}mem_max but need CAP_NET_ADMIN;
// without it the plain option is capped at the sysctl. Either way a failure is not fatal.
static void udp_set_buffer(int fd, int force_opt, int opt, int bytes) {
  if (bytes <= 0) return;
  if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof(bytes)) == 0) return;
  (void)setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof(bytes));
}

static uint32_t udp_get_int_opt(int fd, int level, int opt) {
  int value = 0;
  socklen_t len = sizeof(value);
  if (getsockopt(fd, level, opt, &value, &len) < 0) return 0;
  return (uint32_t)value;
}

// udp_open(handle, family 4|6, host, port, receiveBufferBytes, sendBufferBytes, flags, info Uint32Array(4))
// Binds a non-blocking socket (IPv6 sockets are IPV6_V6ONLY). info receives [bound port, SO_RCVBUF,
// SO_SNDBUF, offloads] as the kernel reports them (it doubles buffer sizes, for bookkeeping overhead);
// offloads is 1 if UDP_GRO was accepted (GSO is then tried on send too), 0 otherwise.
static napi_value udp_open(napi_env env, napi_callback_info info) {
  OVL_ARGS(8)
  UDP_HANDLE(u, argv[0])
  uint32_t family, port, flags;
  int32_t rcv_bytes, snd_bytes;
  char host[INET6_ADDRSTRLEN];
  OVL_CALL(napi_get_value_uint32(env, argv[1], &family));
  OVL_CALL(napi_get_value_string_utf8(env, argv[2], host, sizeof(host), NULL));
  OVL_CALL(napi_get_value_uint32(env, argv[3], &port));
  OVL_CALL(napi_get_value_int32(env, argv[4], &rcv_bytes));
  OVL_CALL(napi_get_value_int32(env, argv[5], &snd_bytes));
  OVL_CALL(napi_get_value_uint32(env, argv[6], &flags));
  uint32_t *out = ovl_typed(env, argv[7], napi_uint32_array, 4, "info");
  if (out == NULL) return NULL;

  char where[96];
  snprintf(where, sizeof(where), family == 6 ? "[%s]:%u" : "%s:%u", host, port);
  if ((family != 4 && family != 6) || port > 65535) {
    udp_throw_errno(env, EINVAL, "bind", where, "family must be 4 or 6 and port 0..65535");
    return NULL;
  }
  if (u->state != 0 && u->state != UDP_CLOSED) {
    udp_throw_errno(env, EALREADY, "bind", where, "handle is already in use");
    return NULL;
  }

  struct sockaddr_in6 addr;
  memset(&addr, 0, sizeof(addr));
  socklen_t addr_len;
  int af = family == 4 ? AF_INET : AF_INET6;
  if (af == AF_INET) {
    struct sockaddr_in *sin = (struct sockaddr_in *)&addr;
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    addr_len = sizeof(*sin);
    if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
      udp_throw_errno(env, EINVAL, "bind", where, "not an IPv4 address");
      return NULL;
    }
  } else {
    addr.sin6_family = AF_INET6;
    addr.sin6_port = htons((uint16_t)port);
    addr_len = sizeof(addr);
    if (inet_pton(AF_INET6, host, &addr.sin6_addr) != 1) {
      udp_throw_errno(env, EINVAL, "bind", where, "not an IPv6 address");
      return NULL;
    }
  }

  int fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    udp_throw_errno(env, errno, "socket", where, NULL);
    return NULL;
  }
  int one = 1;
  if (af == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) {
    int err = errno;
    close(fd);
    udp_throw_errno(env, err, "setsockopt IPV6_V6ONLY", where, NULL);
    return NULL;
  }
  // Path MTU (src/pmtu/): every datagram leaves with DF set and is never fragmented, whatever the kernel's
  // PMTU cache says (IP_PMTUDISC_PROBE: sized by the interface MTU only). overlayd finds each link's MTU
  // with its own padded probes, so an underlay that filters ICMP can't leave it believing a size passes,
  // and a fragment lost on a lossy path can't cost a whole datagram. A datagram above the interface MTU
  // is refused by the kernel (EMSGSIZE, counted as a send failure).
  if (af == AF_INET) {
    int probe = IP_PMTUDISC_PROBE;
    (void)setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &probe, sizeof(probe));
  } else {
    int probe = IPV6_PMTUDISC_PROBE;
    (void)setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &probe, sizeof(probe));
    (void)setsockopt(fd, IPPROTO_IPV6, IPV6_DONTFRAG, &one, sizeof(one));
  }
  if (flags & OPEN_RECVERR) {
    // ICMP errors become visible (counted) instead of silently ignored on an unconnected socket.
    if (af == AF_INET) (void)setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one));
    else (void)setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof(one));
  }
  // Drops of a full receive queue become visible (a count in a control message on every receive).
  (void)setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
  // When each datagram was queued, so its wait in the queue can be measured (0 if refused).
  (void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
  int gro = (flags & OPEN_OFFLOADS) && setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)) == 0;
  udp_set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, rcv_bytes);
  udp_set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, snd_bytes);
  if (bind(fd, (struct sockaddr *)&addr, addr_len) < 0) {
    int err = errno;
    close(fd);
    udp_throw_errno(env, err, "bind", where, NULL);
    return NULL;
  }
  struct sockaddr_in6 bound;
  socklen_t bound_len = sizeof(bound);
  if (getsockname(fd, (struct sockaddr *)&bound, &bound_len) < 0) {
    int err = errno;
    close(fd);
    udp_throw_errno(env, err, "getsockname", where, NULL);
    return NULL;
  }

  memset(u, 0, sizeof(*u));
  u->rx.tun_fd = -1;
  u->rx.tun_fd_of = -1;
  u->fd = fd;
  u->family = af;
  u->state = UDP_OPEN;
  u->gro = gro;
  u->seg_avg16 = GRO_MAX_SEGMENTS * 16;
  u->gso = gro; // a kernel with UDP_GRO (4.18) has UDP_SEGMENT (4.18) too
  out[3] = (uint32_t)gro;
  // sin_port and sin6_port sit at the same offset.
  uint16_t bound_port = ntohs(bound.sin6_port);
  snprintf(u->name, sizeof(u->name), family == 6 ? "[%s]:%u" : "%s:%u", host, bound_port);
  out[0] = bound_port;
  out[1] = udp_get_int_opt(fd, SOL_SOCKET, SO_RCVBUF);
  out[2] = udp_get_int_opt(fd, SOL_SOCKET, SO_SNDBUF);
  return ovl_undefined(env);
}

// --- batched receive ------------------------------------------------------------------------------

static void udp_count_rx_error(udp_t *u, int err) {
  u->stats[STAT_RX_ERRORS]++;
  u->stats[STAT_RX_LAST_ERRNO] = (uint32_t)err;
}

// Reading cannot go on (the fd is gone or the kernel refuses the call itself): stop polling, or
// level-triggered epoll spins, and tell JS. The socket stays open until udp_close.
static void udp_fail(udp_t *u, int err, const char *syscall) {
  uv_poll_stop(&u->poll);
  udp_count_rx_error(u, err);
  napi_value error = ovl_errno_error(u->env, err, syscall, u->name, NULL);
  ovl_call_js(u->env, u->async_context, u->on_error_ref, 1, &error);
}

// Errors that mean this socket (not the network) is broken; everything else recv reports is an
// asynchronous network error (ICMP: ECONNREFUSED, EHOSTUNREACH, EMSGSIZE...) or a transient shortage.
static bool udp_fatal_errno(int err) {
  return err == EBADF || err == ENOTSOCK || err == EFAULT || err == EINVAL || err == EOPNOTSUPP;
}

// POLLERR: libuv has stopped the poll handle. Collect what the kernel queued (SO_ERROR clears the pending
// error; with IP_RECVERR, ICMP reports also sit in the error queue), count it, and poll again.
static int udp_recover_poll_error(udp_t *u) {
  int soerr = 0;
  socklen_t len = sizeof(soerr);
  if (getsockopt(u->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0) {
    udp_fail(u, errno, "getsockopt SO_ERROR");
    return -1;
  }
  int explained = soerr != 0;
  if (soerr != 0) udp_count_rx_error(u, soerr);
  uint8_t scratch[256];
  uint8_t control[512];
  for (int i = 0; i < UDP_CHUNK; i++) {
    struct iovec iov = {scratch, sizeof(scratch)};
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    if (recvmsg(u->fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) break;
    // Not counted again: the same ICMP report also set the pending error, counted via SO_ERROR or recv.
    explained = 1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
      if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
          (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
        uint32_t ee_errno;
        memcpy(&ee_errno, CMSG_DATA(c), sizeof(ee_errno)); // struct sock_extended_err starts with ee_errno
        if (ee_errno != 0) u->stats[STAT_RX_LAST_ERRNO] = ee_errno;
      }
    }
  }
  u->unexplained_poll_errors = explained ? 0 : u->unexplained_poll_errors + 1;
  if (u->unexplained_poll_errors > MAX_UNEXPLAINED_POLL_ERRORS) {
    udp_fail(u, EIO, "poll");
    return -1;
  }
  u->stats[STAT_POLL_RESTARTS]++;
  return 0;
}

static void udp_on_readable(uv_poll_t *poll, int status, int events);

static void udp_on_poll(uv_poll_t *poll, int status, int events) {
  udp_t *u = (udp_t *)poll->data;
  napi_env env = u->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  if (status < 0) {
    if (udp_recover_poll_error(u) < 0 || u->state != UDP_POLLING) goto done;
    int rc = uv_poll_start(&u->poll, UV_READABLE, udp_on_poll);
    if (rc < 0) {
      udp_fail(u, -rc, "uv_poll_start");
      goto done;
    }
  }
  udp_on_readable(poll, status, events);
done:
  napi_close_handle_scope(env, scope);
}

// Control messages of one receive: the GRO segment size, the receive-queue drop count, the time queued.
#define RX_CONTROL_BYTES                                                                                     \
  (CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(uint32_t)) + CMSG_SPACE(sizeof(struct timespec)))

// Adds message `slot` (len bytes, gso_size 0 if not coalesced) to the datagram list. Returns false if
// the list is full.
static bool udp_add_datagrams(udp_t *u, uint32_t slot, uint32_t len, uint32_t gso_size, uint32_t *n_dg) {
  static const int hs_stat[] = {[HS_TRUNCATED] = STAT_HS_TRUNCATED, [HS_OVERSIZED] = STAT_HS_OVERSIZED,
                                [HS_BAD_MAC] = STAT_HS_BAD_MAC, [HS_REPLAYED] = STAT_HS_REPLAYED,
                                [HS_COOKIE_FILTERED] = STAT_HS_COOKIE_FILTERED};
  const uint32_t base = slot * u->slot_size;
  if (gso_size == 0 || gso_size >= len) gso_size = len;
  // An empty datagram is still one (the data plane counts it as truncated): the loop below adds none.
  if (len == 0) gso_size = 1;
  for (uint32_t off = 0; off == 0 || off < len; off += gso_size) {
    if (*n_dg >= u->dg_capacity) {
      u->stats[STAT_RX_TRUNCATED]++;
      return false;
    }
    const uint32_t dg_len = len - off < gso_size ? len - off : gso_size;
    const int verdict =
        hs_load_check(&u->hs, u->buffer + base + off, dg_len, u->addrs + (size_t)slot * UDP_ADDR_BYTES);
    if (verdict != HS_PASS) {
      u->stats[hs_stat[verdict]]++;
      continue;
    }
    u->dg_offsets[*n_dg] = base + off;
    u->dg_lengths[*n_dg] = dg_len;
    u->dg_sources[*n_dg] = slot;
    (*n_dg)++;
  }
  return true;
}

// Microseconds from `queued` to `now`, 0 if the clock stepped back, saturated at 2^32-1.
static uint32_t udp_age_us(const struct timespec *queued, const struct timespec *now) {
  const int64_t ns = (int64_t)(now->tv_sec - queued->tv_sec) * 1000000000 + (now->tv_nsec - queued->tv_nsec);
  if (ns <= 0) return 0;
  return ns / 1000 > UINT32_MAX ? UINT32_MAX : (uint32_t)(ns / 1000);
}

// Reads a receive's control messages; *age_us is how long it waited in the queue (0 if not stamped).
static void udp_read_control(udp_t *u, struct msghdr *m, const struct timespec *now, uint32_t *gso_size,
                             uint32_t *age_us) {
  *gso_size = 0;
  *age_us = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR(m, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
      struct timespec queued;
      memcpy(&queued, CMSG_DATA(c), sizeof(queued));
      *age_us = udp_age_us(&queued, now);
      continue;
    }
    if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO) {
      int v;
      memcpy(&v, CMSG_DATA(c), sizeof(v));
      *gso_size = v > 0 ? (uint32_t)v : 0;
    } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
      uint32_t dropped;
      memcpy(&dropped, CMSG_DATA(c), sizeof(dropped));
      u->stats[STAT_RX_QUEUE_DROPS] = dropped;
    }
  }
}

// Moving average of datagrams per receive slot (×16, at least 1.0): a quarter of the weight on this call.
static void udp_note_segments(udp_t *u, uint32_t segments, uint32_t slots) {
  const uint32_t avg16 = segments * 16 / slots;
  u->seg_avg16 = (3 * u->seg_avg16 + avg16) / 4;
  if (u->seg_avg16 < 16) u->seg_avg16 = 16;
}

// Reads up to u->batch messages into slots; returns how many datagrams they held (in the datagram list),
// and the errno that stopped it early (0 if full).
static uint32_t udp_recv_batch(udp_t *u, int *stop_err) {
  struct mmsghdr msgs[UDP_CHUNK];
  struct iovec iovs[UDP_CHUNK];
  struct sockaddr_storage names[UDP_CHUNK];
  uint8_t control[UDP_CHUNK][RX_CONTROL_BYTES] __attribute__((aligned(8)));
  const uint32_t per_slot = u->gro ? GRO_MAX_SEGMENTS : 1;
  uint32_t n = 0, n_dg = 0;
  *stop_err = 0;
  while (n < u->batch) {
    uint32_t want = u->batch - n < UDP_CHUNK ? u->batch - n : UDP_CHUNK;
    // Never read more than the datagram list can take once split.
    const uint32_t room = (u->dg_capacity - n_dg) / per_slot;
    if (room == 0) break;
    if (want > room) want = room;
    if (u->gro) {
      if (n_dg >= DG_TARGET) break;
      const uint32_t expect = ((DG_TARGET - n_dg) * 16 + u->seg_avg16 - 1) / u->seg_avg16;
      if (want > expect) want = expect;
    }
    for (uint32_t i = 0; i < want; i++) {
      iovs[i].iov_base = u->buffer + (size_t)(n + i) * u->slot_size;
      iovs[i].iov_len = u->slot_size;
      memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &names[i];
      msgs[i].msg_hdr.msg_namelen = sizeof(names[i]);
      msgs[i].msg_hdr.msg_control = control[i];
      msgs[i].msg_hdr.msg_controllen = RX_CONTROL_BYTES;
    }
    int r = recvmmsg(u->fd, msgs, want, MSG_DONTWAIT | MSG_TRUNC, NULL);
    if (r < 0) {
      if (errno == EINTR) continue;
      *stop_err = errno;
      break;
    }
    // The kernel stamps with CLOCK_REALTIME; one reading serves the whole call.
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint32_t segments = 0;
    for (int i = 0; i < r; i++) {
      const uint32_t slot = n + (uint32_t)i;
      uint32_t len = msgs[i].msg_len;
      uint32_t gso_size;
      udp_read_control(u, &msgs[i].msg_hdr, &now, &gso_size, &u->ages[slot]);
      udp_record_from_sockaddr(u->addrs + (size_t)slot * UDP_ADDR_BYTES, &names[i]);
      u->lengths[slot] = len;
      // With MSG_TRUNC, msg_len is the real length; the flag check covers kernels that don't say so.
      if (len > u->slot_size || (msgs[i].msg_hdr.msg_flags & MSG_TRUNC)) {
        u->stats[STAT_RX_TRUNCATED]++;
        continue;
      }
      segments += gso_size == 0 || gso_size >= len ? 1 : (len + gso_size - 1) / gso_size;
      udp_add_datagrams(u, slot, len, gso_size, &n_dg);
    }
    if (r > 0) {
      u->stats[STAT_RX_CALLS]++;
      udp_note_segments(u, segments, (uint32_t)r);
    }
    n += (uint32_t)r;
    if ((uint32_t)r < want) {
      *stop_err = EAGAIN; // the queue is empty: a short read means nothing more right now
      break;
    }
  }
  u->stats[STAT_RX_MESSAGES] = n;
  return n_dg;
}

static void udp_on_readable(uv_poll_t *poll, int status, int events) {
  (void)status;
  (void)events;
  udp_t *u = (udp_t *)poll->data;
  napi_env env = u->env;
  uint32_t delivered = 0;
  for (int round = 0; round < MAX_BATCHES_PER_WAKEUP && delivered < MAX_DATAGRAMS_PER_WAKEUP && u->state == UDP_POLLING;
       round++) {
    int err;
    uint32_t n = udp_recv_batch(u, &err);
    delivered += n;
    if (n == 0 && err == 0) continue; // only truncated datagrams: read on
    if (n > 0) u->unexplained_poll_errors = 0;
    if (n > 0 && !rx_lane_deliver(&u->rx, u->buffer, u->addrs, u->dg_offsets, u->dg_lengths, u->dg_sources, n)) {
      napi_value count;
      napi_create_uint32(env, n, &count);
      ovl_call_js(u->env, u->async_context, u->on_batch_ref, 1, &count);
    }
    if (err == 0) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) break;
    if (u->state != UDP_POLLING) break;
    if (udp_fatal_errno(err)) {
      udp_fail(u, err, "recvmmsg");
      break;
    }
    // A queued network error (consumed by this very call) or a memory shortage: count, keep reading.
    udp_count_rx_error(u, err);
    if (err == ENOMEM || err == ENOBUFS) break;
  }
}

static void udp_on_env_teardown(napi_async_cleanup_hook_handle hook, void *arg);

// udp_start(handle, buffer, slotSize, lengths, addrs, batch, stats, dgOffsets, dgLengths, dgSources,
//           onBatch(datagrams), onError(err), ages)
// The datagram arrays (Uint32Array, same length) receive the split list; with GRO they should hold
// 64 entries per slot, or fewer slots are read per call.
static napi_value udp_start(napi_env env, napi_callback_info info) {
  OVL_ARGS(13)
  UDP_HANDLE(u, argv[0])
  if (u->state != UDP_OPEN) {
    udp_throw_errno(env, u->state == UDP_POLLING ? EALREADY : EBADF, "start", u->name, NULL);
    return NULL;
  }
  void *buffer;
  size_t buffer_len;
  uint32_t slot_size, batch;
  OVL_CALL(napi_get_buffer_info(env, argv[1], &buffer, &buffer_len));
  OVL_CALL(napi_get_value_uint32(env, argv[2], &slot_size));
  OVL_CALL(napi_get_value_uint32(env, argv[5], &batch));
  if (batch == 0 || slot_size == 0 || slot_size > UDP_MAX_SLOT || (size_t)slot_size * batch > buffer_len) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "udp_start: buffer, slot size or batch is inconsistent");
    return NULL;
  }
  uint32_t *lengths = ovl_typed(env, argv[3], napi_uint32_array, batch, "lengths");
  if (lengths == NULL) return NULL;
  uint8_t *addrs = ovl_typed(env, argv[4], napi_uint8_array, (size_t)batch * UDP_ADDR_BYTES, "addrs");
  if (addrs == NULL) return NULL;
  uint32_t *stats = ovl_typed(env, argv[6], napi_uint32_array, STAT_COUNT, "stats");
  if (stats == NULL) return NULL;
  uint32_t *ages = ovl_typed(env, argv[12], napi_uint32_array, batch, "ages");
  if (ages == NULL) return NULL;
  napi_typedarray_type dg_type;
  size_t dg_capacity;
  void *dg_data;
  OVL_CALL(napi_get_typedarray_info(env, argv[7], &dg_type, &dg_capacity, &dg_data, NULL, NULL));
  uint32_t *dg_offsets = ovl_typed(env, argv[7], napi_uint32_array, 1, "dgOffsets");
  uint32_t *dg_lengths = ovl_typed(env, argv[8], napi_uint32_array, dg_capacity, "dgLengths");
  uint32_t *dg_sources = ovl_typed(env, argv[9], napi_uint32_array, dg_capacity, "dgSources");
  if (dg_offsets == NULL || dg_lengths == NULL || dg_sources == NULL) return NULL;
  if (u->gro && dg_capacity < GRO_MAX_SEGMENTS) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "udp_start: with GRO the datagram list needs 64 entries or more");
    return NULL;
  }

  uv_loop_t *loop;
  OVL_CALL(napi_get_uv_event_loop(env, &loop));
  int rc = uv_poll_init(loop, &u->poll, u->fd);
  if (rc < 0) {
    udp_throw_errno(env, -rc, "uv_poll_init", u->name, NULL);
    return NULL;
  }
  u->poll.data = u;
  u->env = env;
  u->buffer = buffer;
  u->lengths = lengths;
  u->addrs = addrs;
  u->stats = stats;
  u->ages = ages;
  u->slot_size = slot_size;
  u->batch = batch;
  u->dg_offsets = dg_offsets;
  u->dg_lengths = dg_lengths;
  u->dg_sources = dg_sources;
  u->dg_capacity = (uint32_t)dg_capacity;
  napi_value resource_name;
  napi_create_string_utf8(env, "overlayd:udp", NAPI_AUTO_LENGTH, &resource_name);
  napi_async_init(env, NULL, resource_name, &u->async_context);
  napi_create_reference(env, argv[0], 1, &u->self_ref);
  napi_create_reference(env, argv[1], 1, &u->buffer_ref);
  napi_create_reference(env, argv[3], 1, &u->lengths_ref);
  napi_create_reference(env, argv[4], 1, &u->addrs_ref);
  napi_create_reference(env, argv[6], 1, &u->stats_ref);
  napi_create_reference(env, argv[7], 1, &u->dg_offsets_ref);
  napi_create_reference(env, argv[8], 1, &u->dg_lengths_ref);
  napi_create_reference(env, argv[9], 1, &u->dg_sources_ref);
  napi_create_reference(env, argv[10], 1, &u->on_batch_ref);
  napi_create_reference(env, argv[11], 1, &u->on_error_ref);
  napi_create_reference(env, argv[12], 1, &u->ages_ref);
  napi_add_async_cleanup_hook(env, udp_on_env_teardown, u, &u->cleanup_hook);
  u->state = UDP_POLLING;
  // Any failure after uv_poll_init must still uv_close the handle: udp_close does that via UDP_POLLING.
  rc = uv_poll_start(&u->poll, UV_READABLE, udp_on_poll);
  if (rc < 0) {
    udp_throw_errno(env, -rc, "uv_poll_start", u->name, NULL);
    return NULL;
  }
  return ovl_undefined(env);
}

// Releases the load step's references to JS memory (the step is off by then, or about to be).
static void udp_release_hs(udp_t *u) {
  napi_ref *refs[] = {&u->hs_seen_ref, &u->hs_secrets_ref, &u->hs_proven_ref};
  for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
    if (*refs[i] != NULL) napi_delete_reference(u->env, *refs[i]);
    *refs[i] = NULL;
  }
}

static bool udp_power_of_two(size_t n) {
  return n != 0 && (n & (n - 1)) == 0 && n <= UINT32_MAX;
}

// udp_handshake_load(handle, self NodeId, mac1Key Buffer(32), seen BigUint64Array (2^k entries),
//                    secrets Uint8Array(HS_SECRETS_BYTES), proven Uint8Array(2^k entries of
//                    HS_PROVEN_ENTRY_BYTES, k >= 2), params Float64Array(HS_P_COUNT))
// Turns the handshake load step on (handshake-load.c) for initiations addressed to `self`, on a started
// socket, which keeps the three tables (JS-owned; `secrets` is read in place) until it is closed. Throws
// if OpenSSL has no BLAKE2b MAC.
static napi_value udp_handshake_load(napi_env env, napi_callback_info info) {
  OVL_ARGS(7)
  UDP_HANDLE(u, argv[0])
  hs_load_config_t c;
  OVL_CALL(napi_get_value_uint32(env, argv[1], &c.self));
  void *key;
  size_t key_len;
  OVL_CALL(napi_get_buffer_info(env, argv[2], &key, &key_len));
  napi_typedarray_type type;
  size_t entries;
  void *seen;
  OVL_CALL(napi_get_typedarray_info(env, argv[3], &type, &entries, &seen, NULL, NULL));
  c.secrets = ovl_typed(env, argv[4], napi_uint8_array, HS_SECRETS_BYTES, "secrets");
  if (c.secrets == NULL) return NULL;
  napi_typedarray_type proven_type;
  size_t proven_bytes;
  void *proven;
  OVL_CALL(napi_get_typedarray_info(env, argv[5], &proven_type, &proven_bytes, &proven, NULL, NULL));
  c.params = ovl_typed(env, argv[6], napi_float64_array, HS_P_COUNT, "params");
  if (c.params == NULL) return NULL;
  const size_t proven_entries = proven_bytes / HS_PROVEN_ENTRY_BYTES;
  if (key_len != HS_MAC1_KEY_BYTES || type != napi_biguint64_array || !udp_power_of_two(entries) ||
      proven_type != napi_uint8_array || proven_bytes % HS_PROVEN_ENTRY_BYTES != 0 ||
      !udp_power_of_two(proven_entries) || proven_entries < 4) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE",
                           "udp_handshake_load: a 32-byte key, a BigUint64Array of 2^k entries and a proven "
                           "table of 2^k (k >= 2) entries");
    return NULL;
  }
  if (u->state != UDP_POLLING) { // after udp_start: the references are released with the others
    udp_throw_errno(env, EBADF, "handshake load", u->name, NULL);
    return NULL;
  }
  c.mac1_key = key;
  c.seen = seen;
  c.seen_entries = (uint32_t)entries;
  c.proven = proven;
  c.proven_entries = (uint32_t)proven_entries;
  if (hs_load_init(&u->hs, &c) != 0) {
    udp_throw_errno(env, ENOSYS, "handshake load", u->name, "OpenSSL has no BLAKE2BMAC");
    return NULL;
  }
  udp_release_hs(u);
  OVL_CALL(napi_create_reference(env, argv[3], 1, &u->hs_seen_ref));
  OVL_CALL(napi_create_reference(env, argv[4], 1, &u->hs_secrets_ref));
  OVL_CALL(napi_create_reference(env, argv[5], 1, &u->hs_proven_ref));
  return ovl_undefined(env);
}

// udp_proven_endpoint(handle, address Uint8Array(HS_ADDRESS_BYTES), on) -> true if the load step's table
// holds the address afterwards (false after a removal, an insert refused above ¾ full, or with the step
// off). Only JS calls this, for endpoints it has authenticated: nothing received ever inserts.
static napi_value udp_proven_endpoint(napi_env env, napi_callback_info info) {
  OVL_ARGS(3)
  UDP_HANDLE(u, argv[0])
  const uint8_t *address = ovl_typed(env, argv[1], napi_uint8_array, HS_ADDRESS_BYTES, "address");
  if (address == NULL) return NULL;
  bool on;
  OVL_CALL(napi_get_value_bool(env, argv[2], &on));
  const int held = u->state == UDP_POLLING && hs_load_proven(&u->hs, address, on);
  napi_value result;
  OVL_CALL(napi_get_boolean(env, held, &result));
  return result;
}

// udp_fd(handle) -> the socket's fd while it is open, else -1. For the TUN's outbound fast lane
// (fast-lane.h), which sends on its own duplicate of it.
static napi_value udp_fd(napi_env env, napi_callback_info info) {
  OVL_ARGS(1)
  UDP_HANDLE(u, argv[0])
  return udp_int(env, u->state == UDP_OPEN || u->state == UDP_POLLING ? u->fd : -1);
}

// --- rx lane (rx-lane.h) ----------------------------------------------------------------------------

// udp_rx_setup(handle, self, maxDatagram, tunFd, vnet): our id, the datagram size from which JS keeps
// every datagram (its standing-delay control's), the TUN to write to (-1: none, the lane is off).
static napi_value udp_rx_setup(napi_env env, napi_callback_info info) {
  OVL_ARGS(5)
  UDP_HANDLE(u, argv[0])
  OVL_CALL(rx_lane_setup(env, &u->rx, argv + 1));
  return ovl_undefined(env);
}

// udp_rx_set(handle, slot, index, peer, record, state, addrs, addrFlags, validUntilMs): the entry for
// Data packets to our receiver index `index` from member `peer` at the address record.
static napi_value udp_rx_set(napi_env env, napi_callback_info info) {
  OVL_ARGS(9)
  UDP_HANDLE(u, argv[0])
  if (u->state != UDP_OPEN && u->state != UDP_POLLING) {
    udp_throw_errno(env, EBADF, "rx_set", u->name, NULL);
    return NULL;
  }
  OVL_CALL(rx_lane_set(env, &u->rx, argv + 1));
  return ovl_undefined(env);
}

// udp_rx_clear(handle, slot): empties one slot, or every slot for -1.
static napi_value udp_rx_clear(napi_env env, napi_callback_info info) {
  OVL_ARGS(2)
  UDP_HANDLE(u, argv[0])
  int32_t slot;
  OVL_CALL(napi_get_value_int32(env, argv[1], &slot));
  if (slot >= RX_SLOTS) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "udp_rx_clear: no such slot");
    return NULL;
  }
  rx_lane_clear(env, &u->rx, slot < 0 ? -1 : slot);
  return ovl_undefined(env);
}

// udp_rx_take(handle, out Float64Array(RX_SLOTS * RX_ST_COUNT)): what each slot did since the last take.
static napi_value udp_rx_take(napi_env env, napi_callback_info info) {
  OVL_ARGS(2)
  UDP_HANDLE(u, argv[0])
  double *out = ovl_typed(env, argv[1], napi_float64_array, RX_SLOTS * RX_ST_COUNT, "out");
  if (out == NULL) return NULL;
  rx_lane_take(&u->rx, out);
  return ovl_undefined(env);
}

// --- send -----------------------------------------------------------------------------------------

static bool udp_can_send(const udp_t *u) {
  return u->state == UDP_OPEN || u->state == UDP_POLLING;
}

// udp_send(handle, data Uint8Array, offset, length, addr Uint8Array record) -> 0, or a negative errno.
// One sendto, synchronous: the kernel has copied the bytes when this returns.
static napi_value udp_send(napi_env env, napi_callback_info info) {
  OVL_ARGS(5)
  UDP_HANDLE(u, argv[0])
  napi_typedarray_type type;
  size_t len;
  void *data;
  uint32_t offset, length;
  OVL_CALL(napi_get_typedarray_info(env, argv[1], &type, &len, &data, NULL, NULL));
  OVL_CALL(napi_get_value_uint32(env, argv[2], &offset));
  OVL_CALL(napi_get_value_uint32(env, argv[3], &length));
  if (type != napi_uint8_array || (size_t)offset + length > len) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "udp_send: offset/length outside the Uint8Array");
    return NULL;
  }
  const uint8_t *rec = ovl_typed(env, argv[4], napi_uint8_array, UDP_ADDR_BYTES, "addr");
  if (rec == NULL) return NULL;
  if (!udp_can_send(u)) return udp_int(env, -EBADF);
  struct sockaddr_in6 to;
  socklen_t to_len = udp_sockaddr_from_record(u, rec, &to);
  if (to_len == 0) return udp_int(env, -EAFNOSUPPORT);
  ssize_t r;
  do {
    r = sendto(u->fd, (uint8_t *)data + offset, length, MSG_DONTWAIT, (struct sockaddr *)&to, to_len);
  } while (r < 0 && errno == EINTR);
  return udp_int(env, r < 0 ? -errno : 0);
}

static void udp_note(int32_t *res, int slot, int errno_slot, int32_t how_many, int err) {
  res[slot] += how_many;
  res[errno_slot] = -err;
}

// One sendmmsg worth of messages: each a run of consecutive slots (one datagram, or a GSO run).
typedef struct {
  uint32_t first;
  uint32_t count;
} udp_run_t;

typedef struct {
  struct mmsghdr msgs[UDP_CHUNK];
  udp_run_t runs[UDP_CHUNK];
  struct sockaddr_in6 names[UDP_CHUNK];
  struct iovec iovs[UDP_CHUNK * GSO_MAX_SEGMENTS];
  uint8_t control[UDP_CHUNK][CMSG_SPACE(sizeof(uint16_t))] __attribute__((aligned(8)));
  uint32_t n;
} udp_batch_t;

// How many datagrams from `i` on can leave in one GSO message: same address record, all the size of
// the first except a shorter last one, within the kernel's segment and byte limits.
static uint32_t udp_gso_run(const uint32_t *lengths, const uint8_t *addrs, uint32_t count, uint32_t i) {
  const uint32_t size = lengths[i];
  const uint8_t *rec = addrs + (size_t)i * UDP_ADDR_BYTES;
  uint32_t k = 1, bytes = size;
  while (i + k < count && k < GSO_MAX_SEGMENTS) {
    const uint32_t len = lengths[i + k];
    if (len > size || len == 0 || bytes + len > GSO_MAX_BYTES) break;
    if (memcmp(rec, addrs + (size_t)(i + k) * UDP_ADDR_BYTES, UDP_ADDR_BYTES) != 0) break;
    bytes += len;
    k++;
    if (len < size) break; // only the last may be shorter
  }
  return k;
}

// Fills `m` with messages for datagrams from `i` on (at most UDP_CHUNK messages); returns the index of
// the first datagram not covered.
static uint32_t udp_build_messages(udp_t *u, uint8_t *buffer, uint32_t slot_size, const uint32_t *lengths,
                                   const uint8_t *addrs, uint32_t count, uint32_t i, udp_batch_t *m) {
  uint32_t iov_used = 0;
  m->n = 0;
  while (i < count && m->n < UDP_CHUNK) {
    const uint32_t k = u->gso ? udp_gso_run(lengths, addrs, count, i) : 1;
    struct msghdr *h = &m->msgs[m->n].msg_hdr;
    memset(h, 0, sizeof(*h));
    // The family was checked by the caller, so the length is never 0 here.
    h->msg_namelen = udp_sockaddr_from_record(u, addrs + (size_t)i * UDP_ADDR_BYTES, &m->names[m->n]);
    h->msg_name = &m->names[m->n];
    h->msg_iov = &m->iovs[iov_used];
    h->msg_iovlen = k;
    for (uint32_t j = 0; j < k; j++) {
      m->iovs[iov_used].iov_base = buffer + (size_t)(i + j) * slot_size;
      m->iovs[iov_used].iov_len = lengths[i + j];
      iov_used++;
    }
    if (k > 1) {
      h->msg_control = m->control[m->n];
      h->msg_controllen = sizeof(m->control[m->n]);
      struct cmsghdr *c = CMSG_FIRSTHDR(h);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      const uint16_t seg = (uint16_t)lengths[i];
      memcpy(CMSG_DATA(c), &seg, sizeof(seg));
    }
    m->runs[m->n].first = i;
    m->runs[m->n].count = k;
    m->n++;
    i += k;
  }
  return i;
}

// udp_send_batch(handle, buffer, slotSize, lengths, addrs, count, result Int32Array(4)) -> datagrams sent.
// Datagram i is lengths[i] bytes at i*slotSize, to address record i. result: [dropped, failed, last
// failure errno (negative), last drop errno (negative)]; sent + dropped + failed == count. Runs of
// equal-size datagrams to one address leave as one GSO message (see the file comment).
//
// EAGAIN/ENOBUFS (the socket buffer or the device queue is full) drop the rest of the batch instead of
// waiting for writability: the caller is a synchronous packet loop that reuses the ring at once, so
// waiting would mean stalling the event loop (TUN reads, timers) or copying into an unbounded backlog.
// A full queue is what a NIC does too; TCP inside the tunnel sees the loss and slows down. With
// multi-megabyte SO_SNDBUFFORCE buffers it only happens when the underlay is truly saturated.
static napi_value udp_send_batch(napi_env env, napi_callback_info info) {
  OVL_ARGS(7)
  UDP_HANDLE(u, argv[0])
  void *buffer;
  size_t buffer_len;
  uint32_t slot_size, count;
  OVL_CALL(napi_get_buffer_info(env, argv[1], &buffer, &buffer_len));
  OVL_CALL(napi_get_value_uint32(env, argv[2], &slot_size));
  OVL_CALL(napi_get_value_uint32(env, argv[5], &count));
  if ((size_t)slot_size * count > buffer_len) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "udp_send_batch: count * slotSize exceeds the buffer");
    return NULL;
  }
  const uint32_t *lengths = ovl_typed(env, argv[3], napi_uint32_array, count, "lengths");
  if (lengths == NULL) return NULL;
  const uint8_t *addrs = ovl_typed(env, argv[4], napi_uint8_array, (size_t)count * UDP_ADDR_BYTES, "addrs");
  if (addrs == NULL) return NULL;
  int32_t *res = ovl_typed(env, argv[6], napi_int32_array, RES_COUNT, "result");
  if (res == NULL) return NULL;
  memset(res, 0, RES_COUNT * sizeof(int32_t));
  // JS picks the socket by family and copies at most a slot: anything else is a bug, not a network error.
  const uint8_t want_family = u->family == AF_INET ? 4 : 6;
  for (uint32_t i = 0; i < count; i++) {
    if (lengths[i] > slot_size || addrs[(size_t)i * UDP_ADDR_BYTES + 18] != want_family) {
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "udp_send_batch: a length or address family is wrong");
      return NULL;
    }
  }
  if (!udp_can_send(u)) {
    if (count > 0) udp_note(res, RES_FAILED, RES_LAST_FAIL_ERRNO, (int32_t)count, EBADF);
    return udp_int(env, 0);
  }

  uint32_t sent = 0;
  uint32_t next = 0;
  while (next < count) {
    udp_batch_t m;
    next = udp_build_messages(u, (uint8_t *)buffer, slot_size, lengths, addrs, count, next, &m);
    // The kernel may take only part of the messages per call: it stops at the first one that fails.
    uint32_t done = 0;
    while (done < m.n) {
      int r = sendmmsg(u->fd, m.msgs + done, m.n - done, MSG_DONTWAIT);
      if (r > 0) {
        for (int j = 0; j < r; j++) {
          sent += m.runs[done + (uint32_t)j].count;
          if (m.runs[done + (uint32_t)j].count > 1 && u->stats != NULL) u->stats[STAT_TX_GSO]++;
        }
        done += (uint32_t)r;
        continue;
      }
      int err = r < 0 ? errno : EIO;
      if (err == EINTR) continue;
      const udp_run_t *run = &m.runs[done];
      if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
        // Full: drop this message and everything after it (see above).
        udp_note(res, RES_DROPPED, RES_LAST_DROP_ERRNO, (int32_t)(count - run->first), err);
        return udp_int(env, (int32_t)sent);
      }
      if (run->count > 1 && (err == EIO || err == EINVAL || err == EOPNOTSUPP)) {
        // The route's device cannot take GSO: send without it from this run on, for good.
        u->gso = 0;
        next = run->first;
        break;
      }
      // The kernel refused this message itself (unreachable, too big, not permitted...): its datagrams
      // are lost, the ones after it may still go.
      udp_note(res, RES_FAILED, RES_LAST_FAIL_ERRNO, (int32_t)run->count, err);
      done++;
    }
  }
  return udp_int(env, (int32_t)sent);
}

// --- close ----------------------------------------------------------------------------------------

static void udp_release(udp_t *u) {
  napi_env env = u->env;
  napi_async_destroy(env, u->async_context);
  napi_delete_reference(env, u->buffer_ref);
  napi_delete_reference(env, u->lengths_ref);
  napi_delete_reference(env, u->addrs_ref);
  napi_delete_reference(env, u->stats_ref);
  napi_delete_reference(env, u->dg_offsets_ref);
  napi_delete_reference(env, u->dg_lengths_ref);
  napi_delete_reference(env, u->dg_sources_ref);
  napi_delete_reference(env, u->on_batch_ref);
  napi_delete_reference(env, u->on_error_ref);
  napi_delete_reference(env, u->ages_ref);
  udp_release_hs(u);
}

static void udp_on_closed(uv_handle_t *handle) {
  udp_t *u = (udp_t *)handle->data;
  close(u->fd);
  u->fd = -1;
  u->state = UDP_CLOSED;
  hs_load_free(&u->hs);
  napi_remove_async_cleanup_hook(u->cleanup_hook);
  if (u->env_gone) return; // the env releases its references itself
  napi_env env = u->env;
  napi_ref on_closed = u->on_closed_ref;
  u->on_closed_ref = NULL;
  if (on_closed != NULL) {
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) == napi_ok) {
      ovl_call_js(u->env, u->async_context, on_closed, 0, NULL);
      napi_close_handle_scope(env, scope);
    }
    napi_delete_reference(env, on_closed);
  }
  udp_release(u);
  napi_delete_reference(env, u->self_ref); // last: u may be garbage once its Buffer is unreferenced
}

// Returns true if the fd closes later (in the uv_close callback).
static bool udp_close_handle(udp_t *u) {
  if (u->state == UDP_POLLING) {
    u->state = UDP_CLOSING;
    uv_poll_stop(&u->poll);
    uv_close((uv_handle_t *)&u->poll, udp_on_closed);
    return true;
  }
  if (u->state == UDP_OPEN) {
    close(u->fd);
    u->fd = -1;
    u->state = UDP_CLOSED;
  }
  return u->state == UDP_CLOSING;
}

// A worker thread (or the main env) is going away with the socket still polling: close it so the loop
// can be closed, and stop calling into JS.
static void udp_on_env_teardown(napi_async_cleanup_hook_handle hook, void *arg) {
  (void)hook;
  udp_t *u = (udp_t *)arg;
  u->env_gone = 1;
  rx_lane_close(NULL, &u->rx); // the env releases the references itself
  udp_close_handle(u);
}

// udp_close(handle, onClosed?) -> true if onClosed will be called once the fd is closed, false if it is
// closed already. Idempotent; safe inside the batch callback (reading stops after it returns).
static napi_value udp_close(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  OVL_CALL(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_COUNT", "missing arguments");
    return NULL;
  }
  UDP_HANDLE(u, argv[0])
  rx_lane_close(env, &u->rx);
  bool later = udp_close_handle(u);
  if (later && argc >= 2 && u->on_closed_ref == NULL) {
    napi_valuetype type;
    OVL_CALL(napi_typeof(env, argv[1], &type));
    if (type == napi_function) OVL_CALL(napi_create_reference(env, argv[1], 1, &u->on_closed_ref));
    else later = false;
  } else {
    later = false;
  }
  napi_value result;
  OVL_CALL(napi_get_boolean(env, later, &result));
  return result;
}

// --- module ---------------------------------------------------------------------------------------

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_property_descriptor fns[] = {
    {"udp_open", NULL, udp_open, NULL, NULL, NULL, napi_enumerable, NULL},
    {"udp_start", NULL, udp_start, NULL, NULL, NULL, napi_enumerable, NULL},
    {"udp_send", NULL, udp_send, NULL, NULL, NULL, napi_enumerable, NULL},
    {"udp_send_batch", NULL, udp_send_batch, NULL, NULL, NULL, napi_enumerable, NULL},
    {"udp_close", NULL, udp_close, NULL, NULL, NULL, napi_enumerable, NULL},
    {"udp_handshake_load", NULL, udp_handshake_load, NULL, NULL, NULL, napi_enumerable, NULL},
    {"udp_proven_endpoint", NULL, udp_proven_endpoint, NULL, NULL, NULL, napi_enumerable, NULL},
    {"udp_fd", NULL, udp_fd, NULL, NULL, NULL, napi_enumerable, NULL},
    {"udp_rx_setup", NULL, udp_rx_setup, NULL, NULL, NULL, napi_enumerable, NULL},
    {"udp_rx_set", NULL, udp_rx_set, NULL, NULL, NULL, napi_enumerable, NULL},
    {"udp_rx_clear", NULL, udp_rx_clear, NULL, NULL, NULL, napi_enumerable, NULL},
    {"udp_rx_take", NULL, udp_rx_take, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof(fns) / sizeof(fns[0]), fns) != napi_ok) return NULL;
  napi_value v;
  if (napi_create_uint32(env, sizeof(udp_t), &v) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "sizeof_udp_t", v) != napi_ok) return NULL;
  if (napi_create_uint32(env, UDP_ADDR_BYTES, &v) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "udp_addr_bytes", v) != napi_ok) return NULL;
  if (napi_create_uint32(env, RX_SLOTS, &v) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "rx_slots", v) != napi_ok) return NULL;
  if (napi_create_uint32(env, RX_ST_COUNT, &v) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "rx_stat_fields", v) != napi_ok) return NULL;
  return exports;
}
