// overlayd's TUN binding: open a Linux TUN device, configure it with ioctls, read packets in batches
// driven by a libuv poll handle, write packets one syscall each.
//
// Holepunch style: a thin layer of flat C-named functions. JS owns every byte of memory: the device
// state (tun_t, in a Buffer of `sizeof_tun_t` bytes), the packet slots and the lengths array; native
// code never allocates per packet (nor per device). While the device polls, native holds strong
// references to those JS objects, released in the uv_close callback, so the memory outlives the handle.
//
// Read flow (on_readable):
//   1. epoll says the fd is readable (level-triggered, so leftovers wake us again);
//   2. read() into slot i at i*stride + headroom until the batch is full or the queue is empty (EAGAIN);
//   3. call the JS callback with the count, inside a callback scope (microtasks and nextTicks run after);
//   4. repeat while packets remain, at most MAX_BATCHES_PER_WAKEUP batches, then yield to the event loop.
//
// Errors thrown here look like Node's system errors: `code` is the errno name, `errno` is the negative
// errno, `syscall` names the operation, and the message names the interface.

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
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

#include "napi-util.h"

// A flood never empties the queue; after this many batches we return to the event loop so timers,
// UDP and the control socket get their turn. epoll is level-triggered: we are called again at once.
#define MAX_BATCHES_PER_WAKEUP 16

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
  napi_ref on_batch_ref;
  napi_ref on_error_ref;
  napi_async_context async_context;
  napi_async_cleanup_hook_handle cleanup_hook;
  int env_gone; // the env is being torn down: no more calls into JS

  uint8_t *buffer;
  uint32_t *lengths;
  uint32_t stride;
  uint32_t headroom;
  uint32_t batch;
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

// tun_open(handle, name) -> actual interface name. The kernel picks a name (tun%d) if `name` is empty.
static napi_value tun_open(napi_env env, napi_callback_info info) {
  OVL_ARGS(2)
  TUN_HANDLE(t, argv[0])
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
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  memcpy(ifr.ifr_name, name, len);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    tun_throw_errno(env, err, "TUNSETIFF", name, NULL);
    return NULL;
  }
  t->fd = fd;
  t->state = TUN_OPEN;
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

// --- batched reads --------------------------------------------------------------------------------

static void tun_report_error(tun_t *t, int err, const char *syscall, const char *why) {
  napi_env env = t->env;
  napi_value error;
  tun_throw_errno(env, err, syscall, t->name, why);
  if (napi_get_and_clear_last_exception(env, &error) != napi_ok) return;
  ovl_call_js(t->env, t->async_context, t->on_error_ref, 1, &error);
}

static void tun_on_readable(uv_poll_t *poll, int status, int events) {
  (void)events;
  tun_t *t = (tun_t *)poll->data;
  napi_env env = t->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;

  if (status < 0) {
    // libuv stopped the poll already (POLLERR, e.g. the interface was deleted under us).
    tun_report_error(t, -status, "poll", status == UV_EBADF ? "poll error (was the interface deleted?)" : NULL);
    napi_close_handle_scope(env, scope);
    return;
  }

  const size_t room = t->stride - t->headroom;
  for (int round = 0; round < MAX_BATCHES_PER_WAKEUP && t->state == TUN_POLLING; round++) {
    uint32_t n = 0;
    int err = 0;
    while (n < t->batch) {
      ssize_t r = read(t->fd, t->buffer + (size_t)n * t->stride + t->headroom, room);
      if (r >= 0) {
        t->lengths[n++] = (uint32_t)r;
      } else if (errno != EINTR) {
        err = errno;
        break;
      }
    }
    if (n > 0) {
      napi_value count;
      napi_create_uint32(env, n, &count);
      ovl_call_js(t->env, t->async_context, t->on_batch_ref, 1, &count);
    }
    if (err == EAGAIN || err == EWOULDBLOCK) break;
    if (err != 0 && t->state == TUN_POLLING) {
      // Not transient (e.g. EBADFD: the interface was deleted). Stop, or level-triggered epoll spins.
      uv_poll_stop(&t->poll);
      tun_report_error(t, err, "read", NULL);
      break;
    }
  }
  napi_close_handle_scope(env, scope);
}

static void tun_on_env_teardown(napi_async_cleanup_hook_handle hook, void *arg);

// tun_start(handle, buffer, stride, headroom, lengths, batch, onBatch(count), onError(err))
static napi_value tun_start(napi_env env, napi_callback_info info) {
  OVL_ARGS(8)
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
  if (lengths_type != napi_uint32_array || batch == 0 || lengths_len < batch || headroom >= stride ||
      (size_t)stride * batch > buffer_len) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "tun_start: buffer, lengths or batch geometry is inconsistent");
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
  napi_value resource_name;
  napi_create_string_utf8(env, "overlayd:tun", NAPI_AUTO_LENGTH, &resource_name);
  napi_async_init(env, NULL, resource_name, &t->async_context);
  napi_create_reference(env, argv[0], 1, &t->self_ref);
  napi_create_reference(env, argv[1], 1, &t->buffer_ref);
  napi_create_reference(env, argv[4], 1, &t->lengths_ref);
  napi_create_reference(env, argv[6], 1, &t->on_batch_ref);
  napi_create_reference(env, argv[7], 1, &t->on_error_ref);
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

// tun_write(handle, u8array, offset, length) -> true if written, false if the kernel queue dropped it.
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
  if (tun_check_open(env, t, "write") < 0) return NULL;
  ssize_t r;
  do {
    r = write(t->fd, (uint8_t *)data + offset, length);
  } while (r < 0 && errno == EINTR);
  if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS) {
    tun_throw_errno(env, errno, "write", t->name, NULL);
    return NULL;
  }
  napi_value result;
  OVL_CALL(napi_get_boolean(env, r >= 0, &result));
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
  tun_close_handle(t);
}

// tun_close(handle): idempotent; safe inside the batch callback (reading stops after it returns).
static napi_value tun_close(napi_env env, napi_callback_info info) {
  OVL_ARGS(1)
  TUN_HANDLE(t, argv[0])
  tun_close_handle(t);
  return ovl_undefined(env);
}

// --- module ---------------------------------------------------------------------------------------

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_property_descriptor fns[] = {
    {"tun_open", NULL, tun_open, NULL, NULL, NULL, napi_enumerable, NULL},
    {"tun_set_mtu", NULL, tun_set_mtu, NULL, NULL, NULL, napi_enumerable, NULL},
    {"tun_set_ipv4", NULL, tun_set_ipv4, NULL, NULL, NULL, napi_enumerable, NULL},
    {"tun_add_ipv6", NULL, tun_add_ipv6, NULL, NULL, NULL, napi_enumerable, NULL},
    {"tun_set_up", NULL, tun_set_up, NULL, NULL, NULL, napi_enumerable, NULL},
    {"tun_start", NULL, tun_start, NULL, NULL, NULL, napi_enumerable, NULL},
    {"tun_write", NULL, tun_write, NULL, NULL, NULL, napi_enumerable, NULL},
    {"tun_close", NULL, tun_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof(fns) / sizeof(fns[0]), fns) != napi_ok) return NULL;
  napi_value size;
  if (napi_create_uint32(env, sizeof(tun_t), &size) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "sizeof_tun_t", size) != napi_ok) return NULL;
  return exports;
}
