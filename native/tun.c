// overlayd's TUN binding: open a Linux TUN device, configure it with ioctls, read packets in batches
// driven by a libuv poll handle, write packets in batches.
//
// Holepunch style: a thin layer of flat C-named functions. JS owns every byte of memory: the device
// state (tun_t, in a Buffer of `sizeof_tun_t` bytes), the packet slots, the lengths array, the scratch
// buffer for super-packets and the counters; native code never allocates per packet (nor per device).
// While the device polls, native holds strong references to those JS objects, released in the uv_close
// callback, so the memory outlives the handle.
//
// Offloads (tun_open with TUN_OFFLOADS): the device is opened with IFF_VNET_HDR and TUNSETOFFLOAD
// (checksum, TSO4/6, USO4/6 where the kernel has it, less if it refuses). Reads then return TCP/UDP
// super-packets of up to 64 kB behind a virtio-net header; they are segmented here (offload.c) into
// path-MTU packets, so JS sees the same batch of ordinary IP packets either way. Writes coalesce the
// in-order segments of each flow into one super-packet per write (GRO).
//
// Read flow (on_readable):
//   1. epoll says the fd is readable (level-triggered, so leftovers wake us again);
//   2. read into slot i at i*stride + headroom until the batch is full or the queue is empty (EAGAIN).
//      With offloads, readv puts the virtio header aside and the packet in the slot, spilling into the
//      scratch buffer; a super-packet is segmented into the following slots. One that does not fit what
//      is left of the batch waits in the scratch buffer and opens the next batch;
//   3. call the JS callback with the count, inside a callback scope (microtasks and nextTicks run after);
//   4. repeat while packets remain, at most MAX_BATCHES_PER_WAKEUP batches, then yield to the event loop.
//
// Write flow (tun_write_batch): GRO over the batch (offload.c), then one writev per resulting packet:
// virtio header, head packet, the payloads merged after it, straight from the caller's buffer.
// Write results are numbers (negative errno), never exceptions: a TUN set down (EIO) or deleted (EBADFD)
// must not take the daemon down; JS counts them and recovers.
//
// Errors thrown here look like Node's system errors: `code` is the errno name, `errno` is the negative
// errno, `syscall` names the operation, and the message names the interface. Only open, configuration
// and caller bugs throw.

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

#include "fast-lane.h"
#include "mono-clock.h"
#include "napi-util.h"
#include "offload.h"

// A flood never empties the queue; after this many batches we return to the event loop so timers,
// UDP and the control socket get their turn. epoll is level-triggered: we are called again at once.
// With offloads a batch is ~2-3 super-packets (~0.15 ms of sealing): 2 of them bound how long the
// other direction (ACKs, a ping's reply) waits behind a bulk flow. 16 cost ~1 ms of RTT under load and
// some throughput; 4 → 2 took ping p50 under load from 2.96/3.17 to 2.65/2.32 ms with no loss of
// throughput, 1 was no better than 2 (benchmarks/README.md, "Latency after issue 11").
#define MAX_BATCHES_PER_WAKEUP 2

// Newer than Debian 12's linux/if_tun.h.
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

// tun_open flags.
enum { TUN_OFFLOADS = 1 };
// tun_open info (Uint32Array(2)): [0] 1 if packets carry a virtio header, [1] the TUN_F_* flags granted.
// Counters JS reads from the Uint32Array passed to tun_start (indexes shared with native-tun.ts).
enum { STAT_RX_INVALID = 0, STAT_RX_ERRORS = 1, STAT_RX_LAST_ERRNO = 2, STAT_COUNT = 3 };
// Results of one tun_write_batch, in the Int32Array passed to it.
enum { RES_WRITES = 0, RES_DROPPED = 1, RES_FAILED = 2, RES_LAST_ERRNO = 3, RES_COUNT = 4 };
// Packets coalesced per round of tun_write_batch (bounds the stack arrays).
#define GRO_CHUNK 256

// linux/ipv6.h defines this too, but it clashes with glibc's netinet/in.h; the layout is kernel ABI.
struct overlayd_in6_ifreq {
  struct in6_addr addr;
  uint32_t prefixlen;
  int ifindex;
};

enum { TUN_OPEN = 1, TUN_POLLING = 2, TUN_CLOSING = 3, TUN_CLOSED = 4 };

typedef struct {
  uv_poll_t poll;
  int fd;
  int state;
  char name[IFNAMSIZ];

  napi_env env;
  napi_ref self_ref;    // the Buffer holding this struct
  napi_ref buffer_ref;  // packet slots
  napi_ref lengths_ref; // Uint32Array of packet lengths
  napi_ref stats_ref;   // Uint32Array of counters
  napi_ref on_batch_ref;
  napi_ref on_error_ref;
  napi_async_context async_context;
  napi_async_cleanup_hook_handle cleanup_hook;
  int env_gone; // the env is being torn down: no more calls into JS

  uint8_t *buffer;
  uint32_t *lengths;
  uint32_t *stats;
  uint32_t stride;
  uint32_t headroom;
  uint32_t batch;

  // Offloads: packets carry a virtio header; `offload` holds the TUN_F_* flags the kernel granted.
  int vnet;
  uint32_t offload;
  napi_ref scratch_ref;
  uint8_t *scratch; // one super-packet: room bytes copied from the slot, then the rest as read
  uint32_t scratch_len;
  // A super-packet in `scratch` not fully segmented yet (the batch filled up): it opens the next batch.
  uint32_t pend_len;
  uint32_t pend_next;
  ofl_plan_t pend_plan;

  // Packets to destinations JS has decided are sealed and sent from here (fast-lane.h).
  fast_lane_t fast;
} tun_t;

// --- errors ---------------------------------------------------------------------------------------

// Throws a Node-style system error whose message names the interface: "CODE: why, syscall 'tun0'".
static void tun_throw_errno(napi_env env, int err, const char *syscall, const char *ifname, const char *why) {
  char where[72]; // tun_open reports names too long for IFNAMSIZ too
  snprintf(where, sizeof(where), "'%s'", ifname);
  napi_throw(env, ovl_errno_error(env, err, syscall, where, why));
}

#define TUN_HANDLE(t, v)                                                                                     \
  tun_t *t = ovl_handle(env, (v), sizeof(tun_t), "sizeof_tun_t");                                             \
  if (t == NULL) return NULL;

// --- open and configure ---------------------------------------------------------------------------

// Asks for the offloads, the most first: USO is newer (Linux 6.2) than checksum and TSO. Returns the
// flags granted (0: packets still carry a virtio header, but never a super-packet or a partial checksum).
static uint32_t tun_negotiate_offloads(int fd) {
  static const unsigned long wanted[] = {
    TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6,
    TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6,
    TUN_F_CSUM,
  };
  for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
    if (ioctl(fd, TUNSETOFFLOAD, wanted[i]) == 0) return (uint32_t)wanted[i];
  }
  (void)ioctl(fd, TUNSETOFFLOAD, 0UL);
  return 0;
}

// tun_open(handle, name, flags, info Uint32Array(2)) -> actual interface name. The kernel picks a name
// (tun%d) if `name` is empty. With TUN_OFFLOADS, asks for a virtio header and offloads and reports what
// it got in info; a kernel that refuses falls back to plain packets, never to an error.
static napi_value tun_open(napi_env env, napi_callback_info info) {
  OVL_ARGS(4)
  TUN_HANDLE(t, argv[0])
  uint32_t flags;
  OVL_CALL(napi_get_value_uint32(env, argv[2], &flags));
  uint32_t *out = ovl_typed(env, argv[3], napi_uint32_array, 2, "info");
  if (out == NULL) return NULL;
  size_t len = 0;
  OVL_CALL(napi_get_value_string_utf8(env, argv[1], NULL, 0, &len));
  char name[64];
  OVL_CALL(napi_get_value_string_utf8(env, argv[1], name, sizeof(name), NULL));
  if (len >= IFNAMSIZ) {
    tun_throw_errno(env, EINVAL, "TUNSETIFF", name, "interface name longer than 15 bytes");
    return NULL;
  }

  if (t->state != 0 && t->state != TUN_CLOSED) {
    tun_throw_errno(env, EALREADY, "TUNSETIFF", name, "handle is already in use");
    return NULL;
  }
  memset(t, 0, sizeof(*t));
  t->fd = -1;
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    tun_throw_errno(env, errno, "open /dev/net/tun for", name, NULL);
    return NULL;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | ((flags & TUN_OFFLOADS) ? IFF_VNET_HDR : 0);
  memcpy(ifr.ifr_name, name, len);
  int rc = ioctl(fd, TUNSETIFF, &ifr);
  if (rc < 0 && errno == EINVAL && (ifr.ifr_flags & IFF_VNET_HDR)) {
    ifr.ifr_flags &= ~IFF_VNET_HDR; // a kernel without virtio headers on TUN: plain packets
    rc = ioctl(fd, TUNSETIFF, &ifr);
  }
  if (rc < 0) {
    int err = errno;
    close(fd);
    tun_throw_errno(env, err, "TUNSETIFF", name, NULL);
    return NULL;
  }
  t->fd = fd;
  t->state = TUN_OPEN;
  if (ifr.ifr_flags & IFF_VNET_HDR) {
    int hdr_len = OFL_VNET_HDR_LEN;
    if (ioctl(fd, TUNSETVNETHDRSZ, &hdr_len) == 0) {
      t->vnet = 1;
      t->offload = tun_negotiate_offloads(fd);
    } else {
      int err = errno;
      close(fd);
      t->fd = -1;
      t->state = TUN_CLOSED;
      tun_throw_errno(env, err, "TUNSETVNETHDRSZ", name, NULL);
      return NULL;
    }
  }
  out[0] = (uint32_t)t->vnet;
  out[1] = t->offload;
  memcpy(t->name, ifr.ifr_name, IFNAMSIZ);
  t->name[IFNAMSIZ - 1] = '\0';

  napi_value result;
  OVL_CALL(napi_create_string_utf8(env, t->name, NAPI_AUTO_LENGTH, &result));
  return result;
}

// Runs one interface ioctl on a throwaway socket of the given family (interface ioctls need a socket).
static int tun_ifioctl(napi_env env, tun_t *t, int family, unsigned long request, const char *syscall, void *arg) {
  int sock = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) {
    tun_throw_errno(env, errno, "socket for", t->name, NULL);
    return -1;
  }
  int rc = ioctl(sock, request, arg);
  int err = errno;
  close(sock);
  if (rc < 0) {
    tun_throw_errno(env, err, syscall, t->name, NULL);
    return -1;
  }
  return 0;
}

static int tun_check_open(napi_env env, tun_t *t, const char *syscall) {
  if (t->state == TUN_OPEN || t->state == TUN_POLLING) return 0;
  tun_throw_errno(env, EBADF, syscall, t->name, "device is closed");
  return -1;
}

static void tun_ifreq(tun_t *t, struct ifreq *ifr) {
  memset(ifr, 0, sizeof(*ifr));
  memcpy(ifr->ifr_name, t->name, IFNAMSIZ);
}

// tun_set_mtu(handle, mtu)
static napi_value tun_set_mtu(napi_env env, napi_callback_info info) {
  OVL_ARGS(2)
  TUN_HANDLE(t, argv[0])
  int32_t mtu;
  OVL_CALL(napi_get_value_int32(env, argv[1], &mtu));
  if (tun_check_open(env, t, "SIOCSIFMTU") < 0) return NULL;
  struct ifreq ifr;
  tun_ifreq(t, &ifr);
  ifr.ifr_mtu = mtu;
  if (tun_ifioctl(env, t, AF_INET, SIOCSIFMTU, "SIOCSIFMTU", &ifr) < 0) return NULL;
  return ovl_undefined(env);
}

// tun_set_ipv4(handle, address, prefixLength). Replaces the interface's IPv4 address (ioctls know one).
static napi_value tun_set_ipv4(napi_env env, napi_callback_info info) {
  OVL_ARGS(3)
  TUN_HANDLE(t, argv[0])
  char literal[INET6_ADDRSTRLEN];
  int32_t prefix;
  OVL_CALL(napi_get_value_string_utf8(env, argv[1], literal, sizeof(literal), NULL));
  OVL_CALL(napi_get_value_int32(env, argv[2], &prefix));
  if (tun_check_open(env, t, "SIOCSIFADDR") < 0) return NULL;

  struct sockaddr_in sin;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  if (inet_pton(AF_INET, literal, &sin.sin_addr) != 1) {
    tun_throw_errno(env, EINVAL, "SIOCSIFADDR", t->name, "not an IPv4 address");
    return NULL;
  }
  if (prefix < 0 || prefix > 32) {
    tun_throw_errno(env, EINVAL, "SIOCSIFNETMASK", t->name, "IPv4 prefix length must be 0..32");
    return NULL;
  }
  struct ifreq ifr;
  tun_ifreq(t, &ifr);
  memcpy(&ifr.ifr_addr, &sin, sizeof(sin));
  if (tun_ifioctl(env, t, AF_INET, SIOCSIFADDR, "SIOCSIFADDR", &ifr) < 0) return NULL;

  // The kernel guessed a classful mask from the address; the netmask ioctl re-inserts it with ours.
  sin.sin_addr.s_addr = prefix == 0 ? 0 : htonl(UINT32_MAX << (32 - prefix));
  tun_ifreq(t, &ifr);
  memcpy(&ifr.ifr_netmask, &sin, sizeof(sin));
  if (tun_ifioctl(env, t, AF_INET, SIOCSIFNETMASK, "SIOCSIFNETMASK", &ifr) < 0) return NULL;
  return ovl_undefined(env);
}

// tun_add_ipv6(handle, address, prefixLength). Adds (does not replace): several IPv6 addresses may coexist.
static napi_value tun_add_ipv6(napi_env env, napi_callback_info info) {
  OVL_ARGS(3)
  TUN_HANDLE(t, argv[0])
  char literal[INET6_ADDRSTRLEN];
  int32_t prefix;
  OVL_CALL(napi_get_value_string_utf8(env, argv[1], literal, sizeof(literal), NULL));
  OVL_CALL(napi_get_value_int32(env, argv[2], &prefix));
  if (tun_check_open(env, t, "SIOCSIFADDR") < 0) return NULL;

  struct overlayd_in6_ifreq req;
  memset(&req, 0, sizeof(req));
  if (inet_pton(AF_INET6, literal, &req.addr) != 1) {
    tun_throw_errno(env, EINVAL, "SIOCSIFADDR", t->name, "not an IPv6 address");
    return NULL;
  }
  if (prefix < 0 || prefix > 128) {
    tun_throw_errno(env, EINVAL, "SIOCSIFADDR", t->name, "IPv6 prefix length must be 0..128");
    return NULL;
  }
  struct ifreq ifr;
  tun_ifreq(t, &ifr);
  if (tun_ifioctl(env, t, AF_INET6, SIOCGIFINDEX, "SIOCGIFINDEX", &ifr) < 0) return NULL;
  req.prefixlen = (uint32_t)prefix;
  req.ifindex = ifr.ifr_ifindex;
  if (tun_ifioctl(env, t, AF_INET6, SIOCSIFADDR, "SIOCSIFADDR", &req) < 0) return NULL;
  return ovl_undefined(env);
}

// tun_set_up(handle): IFF_UP | IFF_RUNNING, keeping the flags the kernel set (POINTOPOINT, NOARP...).
static napi_value tun_set_up(napi_env env, napi_callback_info info) {
  OVL_ARGS(1)
  TUN_HANDLE(t, argv[0])
  if (tun_check_open(env, t, "SIOCSIFFLAGS") < 0) return NULL;
  struct ifreq ifr;
  tun_ifreq(t, &ifr);
  if (tun_ifioctl(env, t, AF_INET, SIOCGIFFLAGS, "SIOCGIFFLAGS", &ifr) < 0) return NULL;
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (tun_ifioctl(env, t, AF_INET, SIOCSIFFLAGS, "SIOCSIFFLAGS", &ifr) < 0) return NULL;
  return ovl_undefined(env);
}

// tun_is_up(handle) -> true if the interface is administratively up. False (never a throw) when it is
// gone or the handle is closed: the caller is watching for it to come back.
static napi_value tun_is_up(napi_env env, napi_callback_info info) {
  OVL_ARGS(1)
  TUN_HANDLE(t, argv[0])
  bool up = false;
  if (t->state == TUN_OPEN || t->state == TUN_POLLING) {
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock >= 0) {
      struct ifreq ifr;
      tun_ifreq(t, &ifr);
      up = ioctl(sock, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP);
      close(sock);
    }
  }
  napi_value result;
  OVL_CALL(napi_get_boolean(env, up, &result));
  return result;
}

// --- batched reads --------------------------------------------------------------------------------

static void tun_report_error(tun_t *t, int err, const char *syscall, const char *why) {
  napi_env env = t->env;
  napi_value error;
  tun_throw_errno(env, err, syscall, t->name, why);
  if (napi_get_and_clear_last_exception(env, &error) != napi_ok) return;
  ovl_call_js(t->env, t->async_context, t->on_error_ref, 1, &error);
}

// Segments the pending super-packet into slots [n, batch); returns the new n. The packet stays pending
// while segments remain (the batch is full).
static uint32_t tun_segment_pending(tun_t *t, uint32_t n) {
  const size_t room = t->stride - t->headroom;
  int made = ofl_segment(t->scratch, t->pend_len, &t->pend_plan, t->pend_next, t->buffer + (size_t)n * t->stride + t->headroom,
                         t->stride, room, t->lengths + n, t->batch - n);
  if (made < 0) {
    // A segment longer than a slot (gso_size above the MTU): the kernel's packet is unusable.
    t->stats[STAT_RX_INVALID]++;
    t->pend_len = 0;
    return n;
  }
  t->pend_next += (uint32_t)made;
  if (t->pend_next >= t->pend_plan.segments) t->pend_len = 0;
  return n + (uint32_t)made;
}

// Reads one packet with its virtio header into slot n. Returns the slots now used, or -errno.
static long tun_read_vnet(tun_t *t, uint32_t n) {
  uint8_t hdr_bytes[OFL_VNET_HDR_LEN];
  const size_t room = t->stride - t->headroom;
  uint8_t *slot = t->buffer + (size_t)n * t->stride + t->headroom;
  struct iovec iov[3] = {
    {hdr_bytes, OFL_VNET_HDR_LEN},
    {slot, room},
    {t->scratch + room, t->scratch_len - room},
  };
  ssize_t r = readv(t->fd, iov, 3);
  if (r < 0) return -errno;
  if (r < OFL_VNET_HDR_LEN) {
    t->stats[STAT_RX_INVALID]++;
    return n;
  }
  const uint32_t len = (uint32_t)(r - OFL_VNET_HDR_LEN);
  ofl_vnet_hdr_t h;
  ofl_hdr_read(&h, hdr_bytes);
  if ((h.gso_type & ~OFL_GSO_ECN) == OFL_GSO_NONE) {
    // One packet, in its slot (a TUN never hands over more than its MTU without GSO).
    if (len > room || ((h.flags & OFL_F_NEEDS_CSUM) && ofl_finish_csum(slot, len, &h) < 0)) {
      t->stats[STAT_RX_INVALID]++;
      return n;
    }
    t->lengths[n] = len;
    return n + 1;
  }
  // A super-packet: make it contiguous in scratch (its head went to the slot), then segment it.
  memcpy(t->scratch, slot, len < room ? len : room);
  if (ofl_plan_segments(t->scratch, len, &h, &t->pend_plan) < 0) {
    t->stats[STAT_RX_INVALID]++;
    return n;
  }
  t->pend_len = len;
  t->pend_next = 0;
  return tun_segment_pending(t, n);
}

// Fills the batch from n on; returns the slots used and the errno that stopped it early (0 if full).
static uint32_t tun_fill(tun_t *t, int *stop_err) {
  uint32_t n = 0;
  *stop_err = 0;
  if (t->pend_len > 0) n = tun_segment_pending(t, n);
  while (n < t->batch && t->pend_len == 0) {
    if (t->vnet) {
      long r = tun_read_vnet(t, n);
      if (r == -EINTR) continue;
      if (r < 0) {
        *stop_err = (int)-r;
        break;
      }
      n = (uint32_t)r;
      continue;
    }
    ssize_t r = read(t->fd, t->buffer + (size_t)n * t->stride + t->headroom, t->stride - t->headroom);
    if (r >= 0) {
      t->lengths[n++] = (uint32_t)r;
    } else if (errno != EINTR) {
      *stop_err = errno;
      break;
    }
  }
  return n;
}

static void tun_on_readable(uv_poll_t *poll, int status, int events) {
  (void)events;
  tun_t *t = (tun_t *)poll->data;
  napi_env env = t->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;

  if (status < 0) {
    // libuv stopped the poll already (POLLERR, e.g. the interface was deleted under us).
    t->stats[STAT_RX_ERRORS]++;
    t->stats[STAT_RX_LAST_ERRNO] = (uint32_t)-status;
    tun_report_error(t, -status, "poll", status == UV_EBADF ? "poll error (was the interface deleted?)" : NULL);
    napi_close_handle_scope(env, scope);
    return;
  }

  for (int round = 0; round < MAX_BATCHES_PER_WAKEUP && t->state == TUN_POLLING; round++) {
    int err = 0;
    uint32_t n = tun_fill(t, &err);
    if (n > 0 && !fast_lane_send(&t->fast, t->buffer, t->stride, t->headroom, t->lengths, n)) {
      napi_value count;
      napi_create_uint32(env, n, &count);
      ovl_call_js(t->env, t->async_context, t->on_batch_ref, 1, &count);
    }
    if (err == EAGAIN || err == EWOULDBLOCK) break;
    if (err != 0 && t->state == TUN_POLLING) {
      // Not transient (e.g. EBADFD: the interface was deleted). Stop, or level-triggered epoll spins.
      t->stats[STAT_RX_ERRORS]++;
      t->stats[STAT_RX_LAST_ERRNO] = (uint32_t)err;
      uv_poll_stop(&t->poll);
      tun_report_error(t, err, "read", NULL);
      break;
    }
  }
  napi_close_handle_scope(env, scope);
}

static void tun_on_env_teardown(napi_async_cleanup_hook_handle hook, void *arg);

// tun_start(handle, buffer, stride, headroom, lengths, batch, scratch, stats, onBatch(count), onError(err))
// `scratch` holds one super-packet: at least 65535 + (stride - headroom) bytes when the device has a
// virtio header (unused otherwise). `stats` is a Uint32Array(STAT_COUNT) of counters native bumps.
static napi_value tun_start(napi_env env, napi_callback_info info) {
  OVL_ARGS(10)
  TUN_HANDLE(t, argv[0])
  if (t->state != TUN_OPEN) {
    tun_throw_errno(env, t->state == TUN_POLLING ? EALREADY : EBADF, "start", t->name, NULL);
    return NULL;
  }
  void *buffer;
  size_t buffer_len, lengths_len;
  uint32_t stride, headroom, batch;
  napi_typedarray_type lengths_type;
  void *lengths;
  OVL_CALL(napi_get_buffer_info(env, argv[1], &buffer, &buffer_len));
  OVL_CALL(napi_get_value_uint32(env, argv[2], &stride));
  OVL_CALL(napi_get_value_uint32(env, argv[3], &headroom));
  OVL_CALL(napi_get_typedarray_info(env, argv[4], &lengths_type, &lengths_len, &lengths, NULL, NULL));
  OVL_CALL(napi_get_value_uint32(env, argv[5], &batch));
  void *scratch;
  size_t scratch_len;
  OVL_CALL(napi_get_buffer_info(env, argv[6], &scratch, &scratch_len));
  uint32_t *stats = ovl_typed(env, argv[7], napi_uint32_array, STAT_COUNT, "stats");
  if (stats == NULL) return NULL;
  if (lengths_type != napi_uint32_array || batch == 0 || lengths_len < batch || headroom >= stride ||
      (size_t)stride * batch > buffer_len ||
      (t->vnet && scratch_len < (size_t)OFL_MAX_SUPER + (stride - headroom))) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "tun_start: buffer, lengths, scratch or batch geometry is inconsistent");
    return NULL;
  }

  uv_loop_t *loop;
  OVL_CALL(napi_get_uv_event_loop(env, &loop));
  int rc = uv_poll_init(loop, &t->poll, t->fd);
  if (rc < 0) {
    tun_throw_errno(env, -rc, "uv_poll_init", t->name, NULL);
    return NULL;
  }
  t->poll.data = t;
  t->env = env;
  t->buffer = buffer;
  t->lengths = lengths;
  t->stride = stride;
  t->headroom = headroom;
  t->batch = batch;
  t->scratch = scratch;
  t->scratch_len = (uint32_t)(scratch_len > UINT32_MAX ? UINT32_MAX : scratch_len);
  t->stats = stats;
  t->pend_len = 0;
  napi_value resource_name;
  napi_create_string_utf8(env, "overlayd:tun", NAPI_AUTO_LENGTH, &resource_name);
  napi_async_init(env, NULL, resource_name, &t->async_context);
  napi_create_reference(env, argv[0], 1, &t->self_ref);
  napi_create_reference(env, argv[1], 1, &t->buffer_ref);
  napi_create_reference(env, argv[4], 1, &t->lengths_ref);
  napi_create_reference(env, argv[6], 1, &t->scratch_ref);
  napi_create_reference(env, argv[7], 1, &t->stats_ref);
  napi_create_reference(env, argv[8], 1, &t->on_batch_ref);
  napi_create_reference(env, argv[9], 1, &t->on_error_ref);
  napi_add_async_cleanup_hook(env, tun_on_env_teardown, t, &t->cleanup_hook);
  t->state = TUN_POLLING;
  // Any failure after uv_poll_init must still uv_close the handle: tun_close does that via TUN_POLLING.
  rc = uv_poll_start(&t->poll, UV_READABLE, tun_on_readable);
  if (rc < 0) {
    tun_throw_errno(env, -rc, "uv_poll_start", t->name, NULL);
    return NULL;
  }
  return ovl_undefined(env);
}

// --- write and close ------------------------------------------------------------------------------

static bool tun_can_write(const tun_t *t) {
  return t->state == TUN_OPEN || t->state == TUN_POLLING;
}

// One write (writev: a virtio header goes first when the device has one). Returns 0 or -errno.
static int tun_writev(tun_t *t, struct iovec *iov, int n) {
  ssize_t r;
  do {
    r = writev(t->fd, iov, n);
  } while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : 0;
}

// tun_write(handle, u8array, offset, length) -> 0 if written, or a negative errno: -EAGAIN/-ENOBUFS
// when the kernel queue is full, -EIO when the interface is down, -EBADFD when it was deleted, -EBADF
// when the handle is closed. Never throws for those.
static napi_value tun_write(napi_env env, napi_callback_info info) {
  OVL_ARGS(4)
  TUN_HANDLE(t, argv[0])
  napi_typedarray_type type;
  size_t len;
  void *data;
  uint32_t offset, length;
  OVL_CALL(napi_get_typedarray_info(env, argv[1], &type, &len, &data, NULL, NULL));
  OVL_CALL(napi_get_value_uint32(env, argv[2], &offset));
  OVL_CALL(napi_get_value_uint32(env, argv[3], &length));
  if (type != napi_uint8_array || (size_t)offset + length > len) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "tun_write: offset/length outside the Uint8Array");
    return NULL;
  }
  napi_value result;
  if (!tun_can_write(t)) {
    OVL_CALL(napi_create_int32(env, -EBADF, &result));
    return result;
  }
  uint8_t hdr[OFL_VNET_HDR_LEN] = {0};
  struct iovec iov[2] = {{hdr, OFL_VNET_HDR_LEN}, {(uint8_t *)data + offset, length}};
  int rc = t->vnet ? tun_writev(t, iov, 2) : tun_writev(t, iov + 1, 1);
  OVL_CALL(napi_create_int32(env, rc, &result));
  return result;
}

static void tun_note_write(int32_t *res, int rc, uint32_t packets) {
  if (rc == 0) {
    res[RES_WRITES]++;
  } else if (rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -ENOBUFS) {
    res[RES_DROPPED] += (int32_t)packets;
    res[RES_LAST_ERRNO] = rc;
  } else {
    res[RES_FAILED] += (int32_t)packets;
    res[RES_LAST_ERRNO] = rc;
  }
}

// tun_write_batch(handle, buf, offsets, lengths, count, result Int32Array(4)) -> packets written.
// Packet i is lengths[i] bytes at offsets[i] of buf; buf must be writable (the head of a merged packet
// gets new lengths and checksums in place). With a virtio header, in-order segments of a flow are merged
// (TCP; UDP too if the kernel granted USO) and each merged packet is one writev. result: [writes,
// dropped (queue full), failed (other errors), last errno (negative)]; written + dropped + failed == count.
static napi_value tun_write_batch(napi_env env, napi_callback_info info) {
  OVL_ARGS(6)
  TUN_HANDLE(t, argv[0])
  size_t buf_len;
  void *buf_data;
  napi_typedarray_type type;
  OVL_CALL(napi_get_typedarray_info(env, argv[1], &type, &buf_len, &buf_data, NULL, NULL));
  uint32_t count;
  OVL_CALL(napi_get_value_uint32(env, argv[4], &count));
  const uint32_t *offsets = ovl_typed(env, argv[2], napi_uint32_array, count, "offsets");
  const uint32_t *lengths = ovl_typed(env, argv[3], napi_uint32_array, count, "lengths");
  int32_t *res = ovl_typed(env, argv[5], napi_int32_array, RES_COUNT, "result");
  if (offsets == NULL || lengths == NULL || res == NULL) return NULL;
  uint8_t *buf = buf_data;
  for (uint32_t i = 0; i < count; i++) {
    if (type != napi_uint8_array || (size_t)offsets[i] + lengths[i] > buf_len) {
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "tun_write_batch: a packet lies outside the buffer");
      return NULL;
    }
  }
  memset(res, 0, RES_COUNT * sizeof(int32_t));
  napi_value result;
  if (!tun_can_write(t)) {
    if (count > 0) tun_note_write(res, -EBADF, count);
    OVL_CALL(napi_create_uint32(env, 0, &result));
    return result;
  }
  uint32_t written = 0;
  if (!t->vnet) {
    for (uint32_t i = 0; i < count; i++) {
      struct iovec iov = {buf + offsets[i], lengths[i]};
      int rc = tun_writev(t, &iov, 1);
      tun_note_write(res, rc, 1);
      if (rc == 0) written++;
    }
    OVL_CALL(napi_create_uint32(env, written, &result));
    return result;
  }
  ofl_pkt_t pkts[GRO_CHUNK];
  int32_t next[GRO_CHUNK];
  ofl_item_t items[GRO_CHUNK];
  ofl_gro_t g = {.capacity = GRO_CHUNK, .next = next, .items = items};
  const bool udp = (t->offload & (TUN_F_USO4 | TUN_F_USO6)) == (TUN_F_USO4 | TUN_F_USO6);
  for (uint32_t first = 0; first < count; first += GRO_CHUNK) {
    const uint32_t n = count - first < GRO_CHUNK ? count - first : GRO_CHUNK;
    ofl_gro_reset(&g, udp);
    for (uint32_t i = 0; i < n; i++) {
      pkts[i].data = buf + offsets[first + i];
      pkts[i].len = lengths[first + i];
      ofl_gro_add(&g, pkts, i);
    }
    for (uint32_t k = 0; k < g.n_items; k++) {
      uint8_t hdr[OFL_VNET_HDR_LEN];
      struct iovec iov[OFL_MAX_MERGE + 2];
      int parts = ofl_gro_item_iov(&g, pkts, k, hdr, iov);
      int rc = tun_writev(t, iov, parts);
      tun_note_write(res, rc, g.items[k].merged);
      if (rc == 0) written += g.items[k].merged;
    }
  }
  OVL_CALL(napi_create_uint32(env, written, &result));
  return result;
}

static void tun_on_closed(uv_handle_t *handle) {
  tun_t *t = (tun_t *)handle->data;
  close(t->fd); // the kernel removes a non-persistent TUN interface here
  t->fd = -1;
  t->state = TUN_CLOSED;
  napi_remove_async_cleanup_hook(t->cleanup_hook);
  if (t->env_gone) return; // the env releases its references itself
  napi_env env = t->env;
  napi_async_destroy(env, t->async_context);
  napi_delete_reference(env, t->buffer_ref);
  napi_delete_reference(env, t->lengths_ref);
  napi_delete_reference(env, t->scratch_ref);
  napi_delete_reference(env, t->stats_ref);
  napi_delete_reference(env, t->on_batch_ref);
  napi_delete_reference(env, t->on_error_ref);
  napi_delete_reference(env, t->self_ref); // last: t may be garbage once its Buffer is unreferenced
}

static void tun_close_handle(tun_t *t) {
  if (t->state == TUN_POLLING) {
    t->state = TUN_CLOSING;
    uv_poll_stop(&t->poll);
    uv_close((uv_handle_t *)&t->poll, tun_on_closed);
  } else if (t->state == TUN_OPEN) {
    close(t->fd);
    t->fd = -1;
    t->state = TUN_CLOSED;
  }
}

// A worker thread (or the main env) is going away with the device still polling: close it so the
// loop can be closed, and stop calling into JS.
static void tun_on_env_teardown(napi_async_cleanup_hook_handle hook, void *arg) {
  (void)hook;
  tun_t *t = (tun_t *)arg;
  t->env_gone = 1;
  fast_lane_clear(NULL, &t->fast, -1); // the env releases the references itself
  tun_close_handle(t);
}

// tun_close(handle): idempotent; safe inside the batch callback (reading stops after it returns).
static napi_value tun_close(napi_env env, napi_callback_info info) {
  OVL_ARGS(1)
  TUN_HANDLE(t, argv[0])
  fast_lane_clear(env, &t->fast, -1);
  tun_close_handle(t);
  return ovl_undefined(env);
}

// --- fast lane (fast-lane.h) ------------------------------------------------------------------------

// tun_fast_set(handle, slot, addr, state, header, headerLength, maxLength, fd, record, validUntilMs, flags):
// the entry for inner destination `addr` (4 or 16 bytes): seal with keypair `state`, prefix
// header[0, headerLength), send to the address record (udp.c's format) on socket `fd`, packets up to
// maxLength bytes, until validUntilMs (tun_fast_clock's scale). Replaces what the slot held.
static napi_value tun_fast_set(napi_env env, napi_callback_info info) {
  OVL_ARGS(11)
  TUN_HANDLE(t, argv[0])
  if (t->state != TUN_OPEN && t->state != TUN_POLLING) {
    tun_throw_errno(env, EBADF, "fast_set", t->name, NULL);
    return NULL;
  }
  OVL_CALL(fast_lane_set(env, &t->fast, argv + 1));
  return ovl_undefined(env);
}

// tun_fast_clear(handle, slot): empties one slot, or every slot for -1.
static napi_value tun_fast_clear(napi_env env, napi_callback_info info) {
  OVL_ARGS(2)
  TUN_HANDLE(t, argv[0])
  int32_t slot;
  OVL_CALL(napi_get_value_int32(env, argv[1], &slot));
  if (slot >= FAST_SLOTS) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "tun_fast_clear: no such slot");
    return NULL;
  }
  fast_lane_clear(env, &t->fast, slot < 0 ? -1 : slot);
  return ovl_undefined(env);
}

// tun_fast_take(handle, out Float64Array(slots * FAST_ST_COUNT)): what each slot sent since the last take.
static napi_value tun_fast_take(napi_env env, napi_callback_info info) {
  OVL_ARGS(2)
  TUN_HANDLE(t, argv[0])
  double *out = ovl_typed(env, argv[1], napi_float64_array, FAST_SLOTS * FAST_ST_COUNT, "out");
  if (out == NULL) return NULL;
  fast_lane_take(&t->fast, out);
  return ovl_undefined(env);
}

// tun_write_target(handle, out Int32Array(2)): [fd, 1 if packets carry a virtio header], fd -1 once
// closed. For the inbound fast lane (rx-lane.h), which writes to its own duplicate of the fd.
static napi_value tun_write_target(napi_env env, napi_callback_info info) {
  OVL_ARGS(2)
  TUN_HANDLE(t, argv[0])
  int32_t *out = ovl_typed(env, argv[1], napi_int32_array, 2, "out");
  if (out == NULL) return NULL;
  out[0] = tun_can_write(t) ? t->fd : -1;
  out[1] = t->vnet ? 1 : 0;
  return ovl_undefined(env);
}

// tun_fast_clock() -> CLOCK_MONOTONIC in ms, the scale of validUntilMs and of the last-send times.
static napi_value tun_fast_clock(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  napi_create_double(env, (double)mono_now_ns() / 1e6, &v);
  return v;
}

// --- module ---------------------------------------------------------------------------------------

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_property_descriptor fns[] = {
    {"tun_open", NULL, tun_open, NULL, NULL, NULL, napi_enumerable, NULL},
    {"tun_set_mtu", NULL, tun_set_mtu, NULL, NULL, NULL, napi_enumerable, NULL},
    {"tun_set_ipv4", NULL, tun_set_ipv4, NULL, NULL, NULL, napi_enumerable, NULL},
    {"tun_add_ipv6", NULL, tun_add_ipv6, NULL, NULL, NULL, napi_enumerable, NULL},
    {"tun_set_up", NULL, tun_set_up, NULL, NULL, NULL, napi_enumerable, NULL},
    {"tun_is_up", NULL, tun_is_up, NULL, NULL, NULL, napi_enumerable, NULL},
    {"tun_start", NULL, tun_start, NULL, NULL, NULL, napi_enumerable, NULL},
    {"tun_write", NULL, tun_write, NULL, NULL, NULL, napi_enumerable, NULL},
    {"tun_write_batch", NULL, tun_write_batch, NULL, NULL, NULL, napi_enumerable, NULL},
    {"tun_close", NULL, tun_close, NULL, NULL, NULL, napi_enumerable, NULL},
    {"tun_fast_set", NULL, tun_fast_set, NULL, NULL, NULL, napi_enumerable, NULL},
    {"tun_fast_clear", NULL, tun_fast_clear, NULL, NULL, NULL, napi_enumerable, NULL},
    {"tun_fast_take", NULL, tun_fast_take, NULL, NULL, NULL, napi_enumerable, NULL},
    {"tun_fast_clock", NULL, tun_fast_clock, NULL, NULL, NULL, napi_enumerable, NULL},
    {"tun_write_target", NULL, tun_write_target, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof(fns) / sizeof(fns[0]), fns) != napi_ok) return NULL;
  napi_value size;
  if (napi_create_uint32(env, sizeof(tun_t), &size) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "sizeof_tun_t", size) != napi_ok) return NULL;
  napi_value slots, fields;
  if (napi_create_uint32(env, FAST_SLOTS, &slots) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "fast_slots", slots) != napi_ok) return NULL;
  if (napi_create_uint32(env, FAST_ST_COUNT, &fields) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "fast_stat_fields", fields) != napi_ok) return NULL;
  return exports;
}
