// overlayd's packet binding: the per-packet work of the data plane, one call per batch. Keypair crypto
// (aead.c: seal, open, replay window), batch seal of TUN packets into the transport's send slots, batch
// open of received datagrams with the inner-packet checks, and the offload helpers (offload.c) for the
// in-memory TUN. No file descriptors here: tun.c and udp.c do the I/O.
//
// Holepunch style, like tun.c and udp.c: flat C-named functions, JS owns every byte (keypair state in a
// Buffer of kp_bytes(bits), packet buffers, index and result arrays); native never allocates per packet.
// Results are numbers (counts, negative codes), never exceptions, except for caller bugs (wrong types,
// geometry that does not fit), which throw TypeError/RangeError.
//
// Outbound, per destination run (pkt_seal_batch): for each TUN packet i of the run, copy the
// destination's routed header (route, src, dst) into the next send slot, then seal kind byte + packet
// with the next counter. The nonce's path flag comes from that header (routeLen 0 → direct).
//
// Inbound, per keypair run (pkt_open_batch): for each datagram, open in place (replay pre-check,
// authenticate, then move the window), then check the inner packet as forward/ did in JS: an IP packet
// whose source is the sending member's address and whose destination is one of ours goes on the TUN
// list (its IP total length, padding cut); anything else is reported back by code.
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <node_api.h>

#include "aead.h"
#include "inner-check.h"
#include "napi-util.h"
#include "offload.h"

// Inner kinds (src/wire/constants.ts InnerKind).
#define KIND_IP 1
// Routed header: type, ttl, routeLen, routePos, then routeLen relay ids, then src and dst.
#define ROUTE_PREFIX 4
#define MAX_ROUTE_RELAYS 7


static napi_value num(napi_env env, double v) {
  napi_value out;
  napi_create_double(env, v, &out);
  return out;
}

// A keypair state Buffer: aligned, and as long as its own replay ring says.
static kp_t *kp_arg(napi_env env, napi_value v) {
  kp_t *kp = ovl_handle(env, v, sizeof(kp_t), "kp_bytes(bits)");
  if (kp == NULL) return NULL;
  size_t len = 0;
  void *data;
  napi_get_buffer_info(env, v, &data, &len);
  if (kp->replay.blocks == 0 || len < kp_bytes(kp->replay.blocks * 32)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "keypair state is not initialised (kp_init)");
    return NULL;
  }
  return kp;
}

static bool valid_bits(uint32_t bits) {
  return bits >= 64 && bits <= (1u << 20) && (bits & (bits - 1)) == 0;
}

// A counter or limit from JS: an integer in [0, 2^53] (2^53 itself only as a limit).
static int64_t counter_arg(napi_env env, napi_value v, bool *ok) {
  double d = 0;
  *ok = napi_get_value_double(env, v, &d) == napi_ok && d >= 0 && d <= 9007199254740992.0 && d == (double)(int64_t)d;
  return *ok ? (int64_t)d : 0;
}

// --- sizes ----------------------------------------------------------------------------------------

// kp_bytes(bits) / replay_bytes(bits): state sizes for a replay ring of `bits` bits.
static napi_value js_kp_bytes(napi_env env, napi_callback_info info) {
  OVL_ARGS(1)
  uint32_t bits;
  OVL_CALL(napi_get_value_uint32(env, argv[0], &bits));
  return num(env, valid_bits(bits) ? (double)kp_bytes(bits) : -1);
}

static napi_value js_replay_bytes(napi_env env, napi_callback_info info) {
  OVL_ARGS(1)
  uint32_t bits;
  OVL_CALL(napi_get_value_uint32(env, argv[0], &bits));
  return num(env, valid_bits(bits) ? (double)replay_bytes(bits) : -1);
}

// --- replay window (standalone, for its own tests and any other counter stream) -------------------

static replay_t *replay_arg(napi_env env, napi_value v) {
  replay_t *r = ovl_handle(env, v, sizeof(replay_t), "replay_bytes(bits)");
  if (r == NULL) return NULL;
  size_t len = 0;
  void *data;
  napi_get_buffer_info(env, v, &data, &len);
  if (r->blocks == 0 || len < replay_bytes(r->blocks * 32)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "replay state is not initialised (replay_init)");
    return NULL;
  }
  return r;
}

// replay_init(state, bits, limit)
static napi_value js_replay_init(napi_env env, napi_callback_info info) {
  OVL_ARGS(3)
  uint32_t bits;
  bool ok;
  OVL_CALL(napi_get_value_uint32(env, argv[1], &bits));
  int64_t limit = counter_arg(env, argv[2], &ok);
  replay_t *r = ovl_handle(env, argv[0], sizeof(replay_t), "replay_bytes(bits)");
  if (r == NULL) return NULL;
  size_t len = 0;
  void *data;
  napi_get_buffer_info(env, argv[0], &data, &len);
  if (!valid_bits(bits) || !ok || len < replay_bytes(bits)) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "replay_init: bits, limit or state size is wrong");
    return NULL;
  }
  replay_init(r, bits, (uint64_t)limit);
  return ovl_undefined(env);
}

// replay_check(state, counter) / replay_accept(state, counter) -> boolean
static napi_value replay_call(napi_env env, napi_callback_info info, bool accept) {
  OVL_ARGS(2)
  replay_t *r = replay_arg(env, argv[0]);
  if (r == NULL) return NULL;
  bool ok;
  int64_t counter = counter_arg(env, argv[1], &ok);
  bool result = ok && (accept ? replay_accept(r, (uint64_t)counter) : replay_check(r, (uint64_t)counter));
  napi_value out;
  napi_get_boolean(env, result, &out);
  return out;
}

static napi_value js_replay_check(napi_env env, napi_callback_info info) {
  return replay_call(env, info, false);
}

static napi_value js_replay_accept(napi_env env, napi_callback_info info) {
  return replay_call(env, info, true);
}

// replay_highest(state) -> number
static napi_value js_replay_highest(napi_env env, napi_callback_info info) {
  OVL_ARGS(1)
  replay_t *r = replay_arg(env, argv[0]);
  if (r == NULL) return NULL;
  return num(env, (double)r->last);
}

// --- keypair --------------------------------------------------------------------------------------

// kp_init(state, sendKey, receiveKey, remoteIndex, limit, replayBits)
static napi_value js_kp_init(napi_env env, napi_callback_info info) {
  OVL_ARGS(6)
  kp_t *kp = ovl_handle(env, argv[0], sizeof(kp_t), "kp_bytes(bits)");
  if (kp == NULL) return NULL;
  const uint8_t *send = ovl_typed(env, argv[1], napi_uint8_array, AEAD_KEY_BYTES, "sendKey");
  if (send == NULL) return NULL;
  const uint8_t *recv = ovl_typed(env, argv[2], napi_uint8_array, AEAD_KEY_BYTES, "receiveKey");
  if (recv == NULL) return NULL;
  uint32_t remote, bits;
  bool ok;
  OVL_CALL(napi_get_value_uint32(env, argv[3], &remote));
  int64_t limit = counter_arg(env, argv[4], &ok);
  OVL_CALL(napi_get_value_uint32(env, argv[5], &bits));
  size_t len = 0;
  void *data;
  napi_get_buffer_info(env, argv[0], &data, &len);
  if (!ok || !valid_bits(bits) || len < kp_bytes(bits)) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "kp_init: limit, replay bits or state size is wrong");
    return NULL;
  }
  memcpy(kp->send_key, send, AEAD_KEY_BYTES);
  memcpy(kp->recv_key, recv, AEAD_KEY_BYTES);
  kp->counter = 0;
  kp->limit = (uint64_t)limit;
  kp->remote_index = remote;
  kp->destroyed = 0;
  replay_init(&kp->replay, bits, (uint64_t)limit);
  return ovl_undefined(env);
}

// kp_counter(state) -> the next send counter
static napi_value js_kp_counter(napi_env env, napi_callback_info info) {
  OVL_ARGS(1)
  kp_t *kp = kp_arg(env, argv[0]);
  if (kp == NULL) return NULL;
  return num(env, (double)kp->counter);
}

// kp_destroy(state)
static napi_value js_kp_destroy(napi_env env, napi_callback_info info) {
  OVL_ARGS(1)
  kp_t *kp = kp_arg(env, argv[0]);
  if (kp == NULL) return NULL;
  kp_destroy(kp);
  return ovl_undefined(env);
}

static void *u8_view(napi_env env, napi_value v, size_t *len) {
  napi_typedarray_type type;
  void *data = NULL;
  if (napi_get_typedarray_info(env, v, &type, len, &data, NULL, NULL) != napi_ok) {
    ovl_throw_napi(env);
    return NULL;
  }
  if (type != napi_uint8_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected a Uint8Array or Buffer");
    return NULL;
  }
  return data == NULL ? (void *)"" : data; // an empty view may have no data pointer
}

static uint32_t *u32_view(napi_env env, napi_value v, size_t *len) {
  napi_typedarray_type type;
  void *data = NULL;
  if (napi_get_typedarray_info(env, v, &type, len, &data, NULL, NULL) != napi_ok) {
    ovl_throw_napi(env);
    return NULL;
  }
  if (type != napi_uint32_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected a Uint32Array");
    return NULL;
  }
  return data;
}

// kp_seal(state, out, addrOffset, plaintext, pathFlags) -> end offset, or -1 (refused: destroyed or
// counter exhausted). Throws RangeError if `out` cannot hold the packet (a caller bug).
static napi_value js_kp_seal(napi_env env, napi_callback_info info) {
  OVL_ARGS(5)
  kp_t *kp = kp_arg(env, argv[0]);
  if (kp == NULL) return NULL;
  size_t out_len, pt_len;
  uint8_t *out = u8_view(env, argv[1], &out_len);
  if (out == NULL) return NULL;
  uint32_t a, flags;
  OVL_CALL(napi_get_value_uint32(env, argv[2], &a));
  const uint8_t *pt = u8_view(env, argv[3], &pt_len);
  if (pt == NULL) return NULL;
  OVL_CALL(napi_get_value_uint32(env, argv[4], &flags));
  if ((size_t)a + AEAD_AD_BYTES + pt_len + AEAD_TAG_BYTES > out_len) {
    char msg[80];
    snprintf(msg, sizeof(msg), "packet buffer too small: need %zu bytes", (size_t)a + AEAD_AD_BYTES + pt_len + AEAD_TAG_BYTES);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
    return NULL;
  }
  return num(env, (double)kp_seal(aead_thread_ctx(), kp, out, a, -1, pt, pt_len, flags));
}

// kp_open(state, buf, addrOffset, length, pathFlags) -> plaintext length, or a negative OpenError.
static napi_value js_kp_open(napi_env env, napi_callback_info info) {
  OVL_ARGS(5)
  kp_t *kp = kp_arg(env, argv[0]);
  if (kp == NULL) return NULL;
  size_t buf_len;
  uint8_t *buf = u8_view(env, argv[1], &buf_len);
  if (buf == NULL) return NULL;
  int64_t a, len;
  uint32_t flags;
  OVL_CALL(napi_get_value_int64(env, argv[2], &a));
  OVL_CALL(napi_get_value_int64(env, argv[3], &len));
  OVL_CALL(napi_get_value_uint32(env, argv[4], &flags));
  if (a < 0 || len < 0 || (size_t)len > buf_len) return num(env, AEAD_TRUNCATED);
  return num(env, (double)kp_open(aead_thread_ctx(), kp, buf, (size_t)a, (size_t)len, flags));
}

// --- batches --------------------------------------------------------------------------------------

// pkt_seal_batch(state, header, hdrLen, src, stride, headroom, lengths, first, count, kind, dst, slotSize,
//                dstFirst, dstLengths) -> packets sealed.
// Seals TUN packets [first, first+count) of `src` (packet i at i*stride + headroom, lengths[i] bytes) as
// kind byte + packet (the kind byte is written into the headroom, which is scratch) into send slots
// dstFirst.. of `dst`: each slot gets header[0, hdrLen) (routed header
// through dst id), then receiverIndex, counter, ciphertext and tag; dstLengths[slot] its length. Stops
// early if the keypair refuses (destroyed, counter exhausted): the caller drops the rest as expired.
static napi_value js_pkt_seal_batch(napi_env env, napi_callback_info info) {
  OVL_ARGS(14)
  kp_t *kp = kp_arg(env, argv[0]);
  if (kp == NULL) return NULL;
  size_t hdr_cap, src_len, dst_len;
  const uint8_t *hdr = u8_view(env, argv[1], &hdr_cap);
  if (hdr == NULL) return NULL;
  uint32_t hdr_len, stride, headroom, first, count, slot, dst_first;
  int32_t kind;
  OVL_CALL(napi_get_value_uint32(env, argv[2], &hdr_len));
  uint8_t *src = u8_view(env, argv[3], &src_len);
  if (src == NULL) return NULL;
  OVL_CALL(napi_get_value_uint32(env, argv[4], &stride));
  OVL_CALL(napi_get_value_uint32(env, argv[5], &headroom));
  OVL_CALL(napi_get_value_uint32(env, argv[7], &first));
  OVL_CALL(napi_get_value_uint32(env, argv[8], &count));
  const uint32_t *lengths = ovl_typed(env, argv[6], napi_uint32_array, (size_t)first + count, "lengths");
  if (lengths == NULL) return NULL;
  OVL_CALL(napi_get_value_int32(env, argv[9], &kind));
  uint8_t *dst = u8_view(env, argv[10], &dst_len);
  if (dst == NULL) return NULL;
  OVL_CALL(napi_get_value_uint32(env, argv[11], &slot));
  OVL_CALL(napi_get_value_uint32(env, argv[12], &dst_first));
  uint32_t *dst_lengths = ovl_typed(env, argv[13], napi_uint32_array, (size_t)dst_first + count, "dstLengths");
  if (dst_lengths == NULL) return NULL;
  const uint32_t route_len = hdr_cap >= 3 ? hdr[2] : 0;
  if (hdr_len > hdr_cap || route_len > MAX_ROUTE_RELAYS || hdr_len != ROUTE_PREFIX + 4 * route_len + 8 ||
      kind > 255 || headroom > stride || (size_t)(first + count) * stride > src_len ||
      (size_t)(dst_first + count) * slot > dst_len) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "pkt_seal_batch: header or buffer geometry is inconsistent");
    return NULL;
  }
  const size_t a = hdr_len - 8;
  const uint32_t path_flags = route_len == 0 ? 1 : 0;
  const size_t overhead = a + AEAD_AD_BYTES + (kind >= 0 ? 1 : 0) + AEAD_TAG_BYTES;
  aead_ctx_t *c = aead_thread_ctx();
  uint32_t sealed = 0;
  for (; sealed < count; sealed++) {
    const uint32_t i = first + sealed;
    const uint32_t len = lengths[i];
    if (len > stride - headroom || overhead + len > slot) {
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "pkt_seal_batch: a packet does not fit its slot");
      return NULL;
    }
    uint8_t *out = dst + (size_t)(dst_first + sealed) * slot;
    memcpy(out, hdr, hdr_len);
    uint8_t *pt = src + (size_t)i * stride + headroom;
    long end;
    if (kind >= 0 && headroom > 0) {
      // The kind byte goes into the headroom: kind + packet is then one contiguous plaintext, and one
      // EVP update (a 1-byte update first puts the cipher off its block alignment: ~1.7x slower here).
      pt[-1] = (uint8_t)kind;
      end = kp_seal(c, kp, out, a, -1, pt - 1, len + 1, path_flags);
    } else {
      end = kp_seal(c, kp, out, a, kind, pt, len, path_flags);
    }
    if (end < 0) break;
    dst_lengths[dst_first + sealed] = (uint32_t)end;
  }
  return num(env, sealed);
}

// pkt_open_batch(state, buf, offsets, lengths, list, n, addrs, addrFlags, results, tunOffsets, tunLengths,
//                tunCount) -> the new tunCount.
// Opens datagrams list[0..n) of `buf` (datagram j at offsets[j], lengths[j]) in place with one keypair.
// Each must be a Data packet (routed header parsed by the caller). results[k]: OPEN_DELIVERED (appended
// to the TUN list), OPEN_OTHER_KIND (authenticated, JS dispatches the inner kind), or a negative code:
// AEAD_* (truncated, replayed, auth-failed, expired) or OPEN_* (inner checks).
static napi_value js_pkt_open_batch(napi_env env, napi_callback_info info) {
  OVL_ARGS(12)
  kp_t *kp = kp_arg(env, argv[0]);
  if (kp == NULL) return NULL;
  size_t buf_len;
  uint8_t *buf = u8_view(env, argv[1], &buf_len);
  if (buf == NULL) return NULL;
  uint32_t n, addr_flags, tun_count;
  OVL_CALL(napi_get_value_uint32(env, argv[5], &n));
  OVL_CALL(napi_get_value_uint32(env, argv[7], &addr_flags));
  OVL_CALL(napi_get_value_uint32(env, argv[11], &tun_count));
  size_t offsets_len;
  const uint32_t *offsets = u32_view(env, argv[2], &offsets_len);
  if (offsets == NULL) return NULL;
  const uint32_t *lengths = ovl_typed(env, argv[3], napi_uint32_array, offsets_len, "lengths");
  const uint32_t *list = ovl_typed(env, argv[4], napi_uint32_array, n, "list");
  if (lengths == NULL || list == NULL) return NULL;
  const uint8_t *addrs = ovl_typed(env, argv[6], napi_uint8_array, ADDRS_BYTES, "addrs");
  int32_t *results = ovl_typed(env, argv[8], napi_int32_array, n, "results");
  uint32_t *tun_offsets = ovl_typed(env, argv[9], napi_uint32_array, (size_t)tun_count + n, "tunOffsets");
  uint32_t *tun_lengths = ovl_typed(env, argv[10], napi_uint32_array, (size_t)tun_count + n, "tunLengths");
  if (addrs == NULL || results == NULL || tun_offsets == NULL || tun_lengths == NULL) return NULL;
  aead_ctx_t *c = aead_thread_ctx();
  for (uint32_t k = 0; k < n; k++) {
    const uint32_t j = list[k];
    if (j >= offsets_len || (size_t)offsets[j] + lengths[j] > buf_len) {
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "pkt_open_batch: a datagram lies outside the buffer");
      return NULL;
    }
    uint8_t *d = buf + offsets[j];
    const size_t len = lengths[j];
    if (len < ROUTE_PREFIX || d[2] > MAX_ROUTE_RELAYS) {
      results[k] = AEAD_TRUNCATED;
      continue;
    }
    const size_t a = ROUTE_PREFIX + 4 * (size_t)d[2];
    long plain = kp_open(c, kp, d, a, len, d[2] == 0 ? 1 : 0);
    if (plain < 0) {
      results[k] = (int32_t)plain;
      continue;
    }
    if (plain == 0 || d[a + AEAD_AD_BYTES] != KIND_IP) {
      results[k] = plain == 0 ? OPEN_BAD_INNER : OPEN_OTHER_KIND; // 0 bytes: not even a kind
      continue;
    }
    const uint8_t *ip = d + a + AEAD_AD_BYTES + 1;
    uint32_t ip_len = 0;
    int verdict = check_inner(ip, (size_t)plain - 1, addrs, addr_flags, &ip_len);
    results[k] = verdict;
    if (verdict == OPEN_DELIVERED) {
      tun_offsets[tun_count] = offsets[j] + (uint32_t)(a + AEAD_AD_BYTES + 1);
      tun_lengths[tun_count] = ip_len;
      tun_count++;
    }
  }
  return num(env, tun_count);
}

// --- offload helpers (the in-memory TUN uses them to behave like the kernel's) --------------------

// ofl_segment(pkt, vnetHdr, out, stride, lengths) -> segments written, or a negative OFL_* code.
// pkt is a super-packet with its 10-byte virtio header in vnetHdr; segments go to out at k*stride.
static napi_value js_ofl_segment(napi_env env, napi_callback_info info) {
  OVL_ARGS(5)
  size_t pkt_len, out_len;
  uint8_t *pkt = u8_view(env, argv[0], &pkt_len);
  if (pkt == NULL) return NULL;
  const uint8_t *hdr_bytes = ovl_typed(env, argv[1], napi_uint8_array, OFL_VNET_HDR_LEN, "vnetHdr");
  if (hdr_bytes == NULL) return NULL;
  uint8_t *out = u8_view(env, argv[2], &out_len);
  if (out == NULL) return NULL;
  uint32_t stride;
  OVL_CALL(napi_get_value_uint32(env, argv[3], &stride));
  size_t max_len;
  uint32_t *lengths = u32_view(env, argv[4], &max_len);
  if (lengths == NULL) return NULL;
  if (stride == 0 || pkt_len > OFL_MAX_SUPER) return num(env, OFL_EINVAL);
  ofl_vnet_hdr_t h;
  ofl_hdr_read(&h, hdr_bytes);
  const uint32_t max = (uint32_t)(out_len / stride < max_len ? out_len / stride : max_len);
  if ((h.gso_type & ~OFL_GSO_ECN) == OFL_GSO_NONE) {
    // One packet; complete a partial checksum the way the TUN reader does.
    if (max == 0 || pkt_len > stride) return num(env, OFL_ENOSPC);
    if ((h.flags & OFL_F_NEEDS_CSUM) && ofl_finish_csum(pkt, (uint32_t)pkt_len, &h) < 0) return num(env, OFL_EINVAL);
    memcpy(out, pkt, pkt_len);
    lengths[0] = (uint32_t)pkt_len;
    return num(env, 1);
  }
  ofl_plan_t plan;
  if (ofl_plan_segments(pkt, (uint32_t)pkt_len, &h, &plan) < 0) return num(env, OFL_EINVAL);
  if (plan.segments > max) return num(env, OFL_ENOSPC);
  return num(env, ofl_segment(pkt, (uint32_t)pkt_len, &plan, 0, out, stride, stride, lengths, max));
}

// ofl_coalesce(buf, offsets, lengths, count, udp, out, outLengths) -> packets written to `out`.
// Coalesces IP packets i < count (at offsets[i], lengths[i] in buf, rewritten in place where they head
// a merged packet) exactly as the TUN writer does, and lays each resulting write out contiguously in
// `out` (virtio header first): the bytes a TUN with IFF_VNET_HDR would receive, one write each.
#define JS_GRO_MAX 256
static napi_value js_ofl_coalesce(napi_env env, napi_callback_info info) {
  OVL_ARGS(7)
  size_t buf_len, out_len, out_lengths_len;
  uint8_t *buf = u8_view(env, argv[0], &buf_len);
  if (buf == NULL) return NULL;
  uint32_t count;
  bool udp;
  OVL_CALL(napi_get_value_uint32(env, argv[3], &count));
  OVL_CALL(napi_get_value_bool(env, argv[4], &udp));
  const uint32_t *offsets = ovl_typed(env, argv[1], napi_uint32_array, count, "offsets");
  const uint32_t *lengths = ovl_typed(env, argv[2], napi_uint32_array, count, "lengths");
  uint8_t *out = u8_view(env, argv[5], &out_len);
  if (offsets == NULL || lengths == NULL || out == NULL) return NULL;
  uint32_t *out_lengths = u32_view(env, argv[6], &out_lengths_len);
  if (out_lengths == NULL) return NULL;
  if (count > JS_GRO_MAX) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "ofl_coalesce: at most 256 packets");
    return NULL;
  }
  ofl_pkt_t pkts[JS_GRO_MAX];
  int32_t next[JS_GRO_MAX];
  ofl_item_t items[JS_GRO_MAX];
  ofl_gro_t g = {.capacity = JS_GRO_MAX, .next = next, .items = items};
  ofl_gro_reset(&g, udp);
  for (uint32_t i = 0; i < count; i++) {
    if ((size_t)offsets[i] + lengths[i] > buf_len) {
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "ofl_coalesce: a packet lies outside the buffer");
      return NULL;
    }
    pkts[i].data = buf + offsets[i];
    pkts[i].len = lengths[i];
    ofl_gro_add(&g, pkts, i);
  }
  size_t at = 0;
  uint32_t written = 0;
  for (uint32_t k = 0; k < g.n_items && written < out_lengths_len; k++) {
    uint8_t hdr[OFL_VNET_HDR_LEN];
    struct iovec iov[OFL_MAX_MERGE + 2];
    int n = ofl_gro_item_iov(&g, pkts, k, hdr, iov);
    size_t total = 0;
    for (int i = 0; i < n; i++) total += iov[i].iov_len;
    if (at + total > out_len) break;
    for (int i = 0; i < n; i++) {
      memcpy(out + at, iov[i].iov_base, iov[i].iov_len);
      at += iov[i].iov_len;
    }
    out_lengths[written++] = (uint32_t)total;
  }
  return num(env, written);
}

// --- module ---------------------------------------------------------------------------------------

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_property_descriptor fns[] = {
    {"kp_bytes", NULL, js_kp_bytes, NULL, NULL, NULL, napi_enumerable, NULL},
    {"kp_init", NULL, js_kp_init, NULL, NULL, NULL, napi_enumerable, NULL},
    {"kp_seal", NULL, js_kp_seal, NULL, NULL, NULL, napi_enumerable, NULL},
    {"kp_open", NULL, js_kp_open, NULL, NULL, NULL, napi_enumerable, NULL},
    {"kp_counter", NULL, js_kp_counter, NULL, NULL, NULL, napi_enumerable, NULL},
    {"kp_destroy", NULL, js_kp_destroy, NULL, NULL, NULL, napi_enumerable, NULL},
    {"replay_bytes", NULL, js_replay_bytes, NULL, NULL, NULL, napi_enumerable, NULL},
    {"replay_init", NULL, js_replay_init, NULL, NULL, NULL, napi_enumerable, NULL},
    {"replay_check", NULL, js_replay_check, NULL, NULL, NULL, napi_enumerable, NULL},
    {"replay_accept", NULL, js_replay_accept, NULL, NULL, NULL, napi_enumerable, NULL},
    {"replay_highest", NULL, js_replay_highest, NULL, NULL, NULL, napi_enumerable, NULL},
    {"pkt_seal_batch", NULL, js_pkt_seal_batch, NULL, NULL, NULL, napi_enumerable, NULL},
    {"pkt_open_batch", NULL, js_pkt_open_batch, NULL, NULL, NULL, napi_enumerable, NULL},
    {"ofl_segment", NULL, js_ofl_segment, NULL, NULL, NULL, napi_enumerable, NULL},
    {"ofl_coalesce", NULL, js_ofl_coalesce, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof(fns) / sizeof(fns[0]), fns) != napi_ok) return NULL;
  return exports;
}
