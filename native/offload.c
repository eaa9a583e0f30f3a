// Segmentation (TSO/USO super-packets from a TUN read → path-MTU packets) and coalescing (in-order
// segments of one flow → one super-packet for a TUN write). See offload.h for the contract.
//
// Segmentation of one super-packet:
//   1. ofl_plan_segments checks the virtio header against the packet (offsets, protocol, lengths);
//   2. ofl_segment copies the headers and one payload slice per segment and fixes what differs: IP total
//      or payload length, IPv4 id and header checksum, TCP sequence number and flags or UDP length, and
//      the full transport checksum (the super-packet only carries the pseudo-header part).
//
// Coalescing of a batch (the kernel's GRO rules, as wireguard-go applies them before its TUN writes):
//   1. ofl_gro_add sorts each packet into an item: the last item of its flow if it continues it exactly
//      (next sequence number, same ack, options, IP fields, no larger than the first segment), else a
//      new one. Checksums are verified before anything is merged: a merged packet gets a fresh one;
//   2. ofl_gro_item_iov rewrites the head of each merged item (lengths, IPv4 header checksum, the pseudo
//      sum in the transport checksum) and returns an iovec: virtio header, head packet, each payload.
#include "offload.h"

#include <string.h>

#include "checksum.h"

#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_CWR 0x80
#define PROTO_TCP 6
#define PROTO_UDP 17

// Items searched backwards for a packet's flow: bounds the work per packet when many flows interleave.
// A flow whose last item is further back simply starts a new item (never a reorder).
#define FLOW_SEARCH 32

static uint16_t get16(const uint8_t *p) {
  return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void put16(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

void ofl_hdr_read(ofl_vnet_hdr_t *h, const uint8_t *p) {
  h->flags = p[0];
  h->gso_type = p[1];
  memcpy(&h->hdr_len, p + 2, 2);
  memcpy(&h->gso_size, p + 4, 2);
  memcpy(&h->csum_start, p + 6, 2);
  memcpy(&h->csum_offset, p + 8, 2);
}

void ofl_hdr_write(uint8_t *p, const ofl_vnet_hdr_t *h) {
  p[0] = h->flags;
  p[1] = h->gso_type;
  memcpy(p + 2, &h->hdr_len, 2);
  memcpy(p + 4, &h->gso_size, 2);
  memcpy(p + 6, &h->csum_start, 2);
  memcpy(p + 8, &h->csum_offset, 2);
}

static void ipv4_header_checksum(uint8_t *ip, uint32_t ihl) {
  ip[10] = ip[11] = 0;
  ck_store(ip + 10, (uint16_t)~ck_fold(ck_add(0, ip, ihl)));
}

// The transport checksum of the IP packet `ip` (len bytes, transport header at l4), written in place.
static void transport_checksum(uint8_t *ip, uint32_t len, uint32_t l4, uint8_t proto) {
  uint8_t *field = ip + l4 + (proto == PROTO_TCP ? 16 : 6);
  field[0] = field[1] = 0;
  uint16_t c = (uint16_t)~ck_fold(ck_add(ck_pseudo(ip, proto, len - l4), ip + l4, len - l4));
  if (c == 0 && proto == PROTO_UDP) c = 0xffff; // 0 means "no checksum" in UDP
  ck_store(field, c);
}

static bool transport_checksum_ok(const uint8_t *ip, uint32_t len, uint32_t l4, uint8_t proto) {
  // IPv4 UDP may carry no checksum at all; the merged packet gets one either way.
  if (proto == PROTO_UDP && (ip[0] >> 4) == 4 && ip[l4 + 6] == 0 && ip[l4 + 7] == 0) return true;
  return ck_fold(ck_add(ck_pseudo(ip, proto, len - l4), ip + l4, len - l4)) == 0xffff;
}

// --- segmentation ---------------------------------------------------------------------------------

int ofl_plan_segments(const uint8_t *pkt, uint32_t len, const ofl_vnet_hdr_t *h, ofl_plan_t *plan) {
  const uint8_t type = h->gso_type & (uint8_t)~OFL_GSO_ECN;
  if (len < 28 || len > OFL_MAX_SUPER || h->gso_size == 0) return OFL_EINVAL;
  const uint8_t version = pkt[0] >> 4;
  uint8_t proto;
  if (type == OFL_GSO_TCPV4 && version == 4) proto = PROTO_TCP;
  else if (type == OFL_GSO_TCPV6 && version == 6) proto = PROTO_TCP;
  else if (type == OFL_GSO_UDP_L4 && (version == 4 || version == 6)) proto = PROTO_UDP;
  else return OFL_EINVAL;

  const uint32_t l4 = h->csum_start;
  if (version == 4) {
    // No fragments, no mismatch between the header and where the kernel says the transport starts.
    if ((uint32_t)(pkt[0] & 0x0f) * 4 != l4 || l4 < 20 || pkt[9] != proto) return OFL_EINVAL;
    if ((pkt[6] & 0x3f) != 0 || pkt[7] != 0) return OFL_EINVAL;
  } else if (l4 != 40 || len < 48 || pkt[6] != proto) {
    return OFL_EINVAL; // extension headers: the local stack never uses them with TSO/USO
  }
  uint32_t l4_len = 8;
  if (proto == PROTO_TCP) {
    if (l4 + 20 > len) return OFL_EINVAL;
    l4_len = (uint32_t)(pkt[l4 + 12] >> 4) * 4;
    if (l4_len < 20) return OFL_EINVAL;
  }
  if (l4 + l4_len > len) return OFL_EINVAL;
  const uint32_t payload = len - l4 - l4_len;
  plan->hdr_len = l4 + l4_len;
  plan->l4_start = l4;
  plan->gso_size = h->gso_size;
  plan->proto = proto;
  plan->segments = payload == 0 ? 1 : (payload + h->gso_size - 1) / h->gso_size;
  return 0;
}

int ofl_segment(const uint8_t *pkt, uint32_t len, const ofl_plan_t *plan, uint32_t first, uint8_t *out,
                size_t stride, size_t room, uint32_t *lengths, uint32_t max) {
  const uint32_t hdr = plan->hdr_len;
  const uint32_t l4 = plan->l4_start;
  const uint32_t payload = len - hdr;
  const bool v4 = (pkt[0] >> 4) == 4;
  uint32_t n = 0;
  for (uint32_t k = first; k < plan->segments && n < max; k++, n++) {
    const uint32_t off = k * plan->gso_size;
    const uint32_t chunk = payload - off < plan->gso_size ? payload - off : plan->gso_size;
    const uint32_t seg_len = hdr + chunk;
    if (seg_len > room) return OFL_ENOSPC;
    uint8_t *d = out + (size_t)n * stride;
    memcpy(d, pkt, hdr);
    memcpy(d + hdr, pkt + hdr + off, chunk);
    if (v4) {
      put16(d + 2, seg_len);
      put16(d + 4, get16(pkt + 4) + k); // the kernel's own TSO numbers segments the same way
      ipv4_header_checksum(d, l4);
    } else {
      put16(d + 4, seg_len - 40);
    }
    if (plan->proto == PROTO_TCP) {
      put32(d + l4 + 4, get32(pkt + l4 + 4) + off);
      uint8_t flags = d[l4 + 13];
      if (k + 1 < plan->segments) flags &= (uint8_t)~(TCP_FIN | TCP_PSH);
      if (k > 0) flags &= (uint8_t)~TCP_CWR;
      d[l4 + 13] = flags;
    } else {
      put16(d + l4 + 4, seg_len - l4);
    }
    transport_checksum(d, seg_len, l4, plan->proto);
    lengths[n] = seg_len;
  }
  return (int)n;
}

int ofl_finish_csum(uint8_t *pkt, uint32_t len, const ofl_vnet_hdr_t *h) {
  const uint32_t start = h->csum_start;
  const uint32_t field = start + h->csum_offset;
  // The sum runs from csum_start; an odd start would need byte-swapped sums (the stack never does that).
  if ((start & 1) != 0 || start >= len || field + 2 > len || (h->csum_offset & 1) != 0) return OFL_EINVAL;
  // The field holds the pseudo-header sum already (CHECKSUM_PARTIAL): summing over it completes it.
  uint16_t c = (uint16_t)~ck_fold(ck_add(0, pkt + start, len - start));
  if (c == 0 && h->csum_offset == 6) c = 0xffff; // UDP
  ck_store(pkt + field, c);
  return 0;
}

// --- coalescing -----------------------------------------------------------------------------------

void ofl_gro_reset(ofl_gro_t *g, bool udp) {
  g->count = 0;
  g->n_items = 0;
  g->udp = udp;
}

// What coalescing needs to know about one packet; proto 0 means "not a candidate".
typedef struct {
  uint8_t proto;
  uint8_t version;
  uint16_t l4;
  uint16_t l4_len;
  uint32_t payload;
  uint32_t seq;
  bool psh;
} gro_info_t;

static gro_info_t gro_classify(const ofl_pkt_t *p, bool udp) {
  gro_info_t info = {0};
  const uint8_t *d = p->data;
  const uint32_t len = p->len;
  if (len < 28) return info;
  const uint8_t version = d[0] >> 4;
  uint8_t proto;
  uint32_t l4;
  if (version == 4) {
    // No options, no fragments, the header's length is the packet's.
    if ((d[0] & 0x0f) != 5 || (d[6] & 0x3f) != 0 || d[7] != 0 || get16(d + 2) != len) return info;
    proto = d[9];
    l4 = 20;
  } else if (version == 6) {
    if (len < 48 || get16(d + 4) + 40u != len) return info;
    proto = d[6];
    l4 = 40;
  } else {
    return info;
  }
  uint32_t l4_len;
  if (proto == PROTO_TCP) {
    if (l4 + 20 > len) return info;
    l4_len = (uint32_t)(d[l4 + 12] >> 4) * 4;
    // Only plain data segments: ACK, optionally PSH (which ends a merged packet).
    const uint8_t flags = d[l4 + 13];
    if (l4_len < 20 || (flags != TCP_ACK && flags != (TCP_ACK | TCP_PSH))) return info;
    info.psh = flags & TCP_PSH;
    info.seq = get32(d + l4 + 4);
  } else if (proto == PROTO_UDP && udp) {
    l4_len = 8;
    if (l4 + 8 > len || get16(d + l4 + 4) != len - l4) return info;
  } else {
    return info;
  }
  if (l4 + l4_len >= len) return info; // no payload: a pure ACK stays alone
  info.proto = proto;
  info.version = version;
  info.l4 = (uint16_t)l4;
  info.l4_len = (uint16_t)l4_len;
  info.payload = len - l4 - l4_len;
  return info;
}

// Same addresses, ports and protocol: the packet belongs to the item's flow.
static bool same_flow(const ofl_item_t *it, const uint8_t *head, const gro_info_t *info, const uint8_t *d) {
  if (it->proto != info->proto || (head[0] >> 4) != info->version) return false;
  const bool v4 = info->version == 4;
  if (memcmp(head + (v4 ? 12 : 8), d + (v4 ? 12 : 8), v4 ? 8 : 32) != 0) return false;
  return memcmp(head + it->l4, d + info->l4, 4) == 0;
}

// IP fields that must match for the merged packet to stand for all of them.
static bool ip_fields_match(const uint8_t *a, const uint8_t *b) {
  if ((a[0] >> 4) == 4) return a[1] == b[1] && (a[6] >> 5) == (b[6] >> 5) && a[8] == b[8];
  return memcmp(a, b, 4) == 0 && a[7] == b[7]; // traffic class, flow label, hop limit
}

static bool can_append(ofl_item_t *it, const uint8_t *head, const gro_info_t *info, const uint8_t *d) {
  if (it->closed || it->merged >= OFL_MAX_MERGE || info->payload > it->gso_size) return false;
  if (it->total + info->payload > OFL_MAX_SUPER || !ip_fields_match(head, d)) return false;
  if (info->proto == PROTO_TCP) {
    if (info->l4_len != it->l4_len || info->seq != it->next_seq) return false;
    // Same ack and the same options (timestamps included), as the kernel's GRO requires.
    if (memcmp(head + it->l4 + 8, d + info->l4 + 8, 4) != 0) return false;
    if (memcmp(head + it->l4 + 20, d + info->l4 + 20, info->l4_len - 20) != 0) return false;
  }
  return true;
}

static void start_item(ofl_gro_t *g, uint32_t i, const gro_info_t *info) {
  ofl_item_t *it = &g->items[g->n_items++];
  memset(it, 0, sizeof(*it));
  it->head = it->tail = i;
  it->merged = 1;
  it->proto = info->proto;
  if (info->proto == 0) {
    it->closed = true;
    return;
  }
  it->l4 = info->l4;
  it->l4_len = info->l4_len;
  it->gso_size = info->payload;
  it->total = info->l4 + info->l4_len + info->payload;
  it->next_seq = info->seq + info->payload;
  it->psh = info->psh;
  it->closed = info->psh;
}

void ofl_gro_add(ofl_gro_t *g, const ofl_pkt_t *pkts, uint32_t i) {
  if (i >= g->capacity) return;
  g->next[i] = -1;
  g->count = i + 1;
  const ofl_pkt_t *p = &pkts[i];
  gro_info_t info = gro_classify(p, g->udp);
  if (info.proto != 0) {
    const uint32_t stop = g->n_items > FLOW_SEARCH ? g->n_items - FLOW_SEARCH : 0;
    for (uint32_t k = g->n_items; k-- > stop;) {
      ofl_item_t *it = &g->items[k];
      const uint8_t *head = pkts[it->head].data;
      if (!same_flow(it, head, &info, p->data)) continue;
      // The flow's last item: append here or nowhere (appending to an older one would reorder).
      if (!can_append(it, head, &info, p->data)) break;
      if (!it->head_checked) {
        if (!transport_checksum_ok(head, pkts[it->head].len, it->l4, it->proto)) {
          it->closed = true;
          break;
        }
        it->head_checked = true;
      }
      if (!transport_checksum_ok(p->data, p->len, info.l4, info.proto)) {
        info.proto = 0; // written alone, as received: the receiving stack drops it
        break;
      }
      g->next[it->tail] = (int32_t)i;
      it->tail = i;
      it->merged++;
      it->total += info.payload;
      it->next_seq += info.payload;
      // A short segment or PSH ends the merged packet: only the last segment may be shorter or push.
      if (info.psh || info.payload < it->gso_size) {
        it->closed = true;
        it->psh = info.psh;
      }
      return;
    }
  }
  start_item(g, i, &info);
}

int ofl_gro_item_iov(ofl_gro_t *g, const ofl_pkt_t *pkts, uint32_t k, uint8_t *hdr, struct iovec *iov) {
  const ofl_item_t *it = &g->items[k];
  const ofl_pkt_t *head = &pkts[it->head];
  ofl_vnet_hdr_t h = {0};
  iov[0].iov_base = hdr;
  iov[0].iov_len = OFL_VNET_HDR_LEN;
  iov[1].iov_base = head->data;
  iov[1].iov_len = head->len;
  if (it->merged == 1) {
    ofl_hdr_write(hdr, &h);
    return 2;
  }
  uint8_t *d = head->data;
  const uint32_t l4 = it->l4;
  const bool v4 = (d[0] >> 4) == 4;
  if (v4) {
    put16(d + 2, it->total);
    ipv4_header_checksum(d, l4);
  } else {
    put16(d + 4, it->total - 40);
  }
  if (it->proto == PROTO_TCP) {
    if (it->psh) d[l4 + 13] |= TCP_PSH;
    h.gso_type = v4 ? OFL_GSO_TCPV4 : OFL_GSO_TCPV6;
    h.csum_offset = 16;
  } else {
    put16(d + l4 + 4, it->total - l4);
    h.gso_type = OFL_GSO_UDP_L4;
    h.csum_offset = 6;
  }
  // CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum, the kernel adds the rest.
  ck_store(d + l4 + h.csum_offset, ck_fold(ck_pseudo(d, it->proto, it->total - l4)));
  h.flags = OFL_F_NEEDS_CSUM;
  h.hdr_len = (uint16_t)(l4 + it->l4_len);
  h.gso_size = (uint16_t)it->gso_size;
  h.csum_start = (uint16_t)l4;
  ofl_hdr_write(hdr, &h);
  int n = 2;
  const uint32_t skip = l4 + it->l4_len;
  for (int32_t p = g->next[it->head]; p >= 0; p = g->next[p]) {
    iov[n].iov_base = pkts[p].data + skip;
    iov[n].iov_len = pkts[p].len - skip;
    n++;
  }
  return n;
}
