// TUN offloads in user space: the virtio-net header a TUN opened with IFF_VNET_HDR puts before every
// packet, segmentation of the TCP/UDP super-packets the kernel hands over (TSO/USO, up to 64 kB) into
// path-MTU packets, and the reverse on receive: coalescing in-order segments of one flow into one
// super-packet (GRO) so the TUN takes them in one write.
//
// Pure functions over caller-owned memory: no allocation, no system calls. Packets come from the local
// kernel (read) or from authenticated members (write), but every length and offset is checked anyway:
// a malformed packet is refused with a code, never read past.
#ifndef OVERLAYD_OFFLOAD_H
#define OVERLAYD_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

// include/uapi/linux/virtio_net.h; Debian 12's headers predate GSO_UDP_L4 and the USO TUN flags.
#define OFL_VNET_HDR_LEN 10
#define OFL_F_NEEDS_CSUM 1
#define OFL_GSO_NONE 0
#define OFL_GSO_TCPV4 1
#define OFL_GSO_TCPV6 4
#define OFL_GSO_UDP_L4 5
#define OFL_GSO_ECN 0x80

// Largest IP packet a TUN read can return with TSO/USO (the IPv4 total length is 16 bits).
#define OFL_MAX_SUPER 65535
// Segments merged into one coalesced packet at most (the kernel's own GRO stops at 64 too).
#define OFL_MAX_MERGE 64

// The legacy virtio-net header, in host byte order (a TUN without TUNSETVNETLE uses the host's order).
typedef struct {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;
  uint16_t gso_size;
  uint16_t csum_start;
  uint16_t csum_offset;
} ofl_vnet_hdr_t;

void ofl_hdr_read(ofl_vnet_hdr_t *h, const uint8_t *p);
void ofl_hdr_write(uint8_t *p, const ofl_vnet_hdr_t *h);

// Refusals (negative) of ofl_plan_segments / ofl_segment / ofl_finish_csum.
enum {
  OFL_EINVAL = -1, // header and packet disagree (offsets outside the packet, unknown GSO type...)
  OFL_ENOSPC = -2, // a segment does not fit the output room
};

// What a super-packet will be split into: the header bytes copied into every segment, the payload per
// segment, and the number of segments.
typedef struct {
  uint32_t hdr_len;  // network + transport header
  uint32_t l4_start; // transport header offset (csum_start)
  uint32_t gso_size;
  uint32_t segments;
  uint8_t proto; // 6 TCP, 17 UDP
} ofl_plan_t;

// Checks a GSO super-packet of `len` bytes against its header and fills `plan`. Returns 0 or OFL_EINVAL.
int ofl_plan_segments(const uint8_t *pkt, uint32_t len, const ofl_vnet_hdr_t *h, ofl_plan_t *plan);

// Writes segments [first, first+max) of the planned super-packet, segment k at out + k*stride (room bytes
// each), with lengths[k]; every segment gets correct IP lengths, IPv4 id and header checksum, TCP
// sequence number and flags (FIN/PSH only on the last, CWR only on the first) and a full TCP/UDP
// checksum. Returns how many were written (stops early at the last segment), or OFL_ENOSPC.
int ofl_segment(const uint8_t *pkt, uint32_t len, const ofl_plan_t *plan, uint32_t first, uint8_t *out,
                size_t stride, size_t room, uint32_t *lengths, uint32_t max);

// A single packet with NEEDS_CSUM (the kernel left the transport checksum to us): completes it in place.
// Returns 0 or OFL_EINVAL.
int ofl_finish_csum(uint8_t *pkt, uint32_t len, const ofl_vnet_hdr_t *h);

// --- coalescing -----------------------------------------------------------------------------------

// One packet to write; `data` is writable (the head of a merged packet gets new lengths and checksums).
typedef struct {
  uint8_t *data;
  uint32_t len;
} ofl_pkt_t;

// Coalescing state for one batch, sized by the caller: `next` and `items` hold `capacity` entries.
typedef struct {
  uint32_t capacity;
  uint32_t count;     // packets added
  uint32_t n_items;   // packets to write (merged or alone), in order
  int32_t *next;      // next[i]: packet appended after i in its item, or -1
  struct ofl_item *items;
  bool udp;           // merge UDP too (only when the TUN accepted USO, or the kernel could not split it)
} ofl_gro_t;

typedef struct ofl_item {
  uint32_t head;       // packet index
  uint32_t tail;       // last packet appended
  uint32_t merged;     // packets in this item
  uint32_t total;      // IP length of the merged packet
  uint32_t gso_size;   // payload of the head segment
  uint32_t next_seq;   // TCP: sequence number the next segment must carry
  uint16_t l4;         // transport header offset
  uint16_t l4_len;     // transport header length
  uint8_t proto;       // 0: not a candidate (written alone)
  bool closed;         // nothing more may be appended (PSH, a short segment, or full)
  bool psh;            // the last segment appended carried PSH: the merged packet does too
  bool head_checked;   // the head's checksum was verified (done once, when the first segment joins)
} ofl_item_t;

void ofl_gro_reset(ofl_gro_t *g, bool udp);

// Adds packet `i` (ofl_gro_add must see packets in order, i = 0, 1, ...): it joins the last item of its
// flow if it continues it exactly, otherwise it starts an item of its own. Never reorders packets of a
// flow and never merges across flows.
void ofl_gro_add(ofl_gro_t *g, const ofl_pkt_t *pkts, uint32_t i);

// Finishes item k for writing: rewrites the head's lengths, and for a merged item fills `hdr` with the GSO
// header and puts the pseudo-header sum in the transport checksum (the kernel completes it). Then fills
// `iov` (at most OFL_MAX_MERGE + 2 entries: header, head packet, then each appended payload) and returns
// how many entries it used.
int ofl_gro_item_iov(ofl_gro_t *g, const ofl_pkt_t *pkts, uint32_t k, uint8_t *hdr, struct iovec *iov);

#endif
