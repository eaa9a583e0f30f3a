// spoof-flood: sends overlayd HandshakeInit datagrams from spoofed IPv4 source addresses at a fixed
// rate, for benchmarks/handshake-flood.ts. Compiled by the benchmark at run time (cc -O2 ... -lsodium)
// and run inside a lab namespace, whose only link is the lab's wan: a raw socket (IPPROTO_RAW) writes
// each IPv4 + UDP header itself, with a random source in the spoofed /N and a random source port.
//
// Three kinds of payload, mixed by weight (a stranger on the underlay can make all three):
//   replay   the bytes of a captured initiation datagram, unchanged
//   garbage  the routed header of an initiation, then a random body (mac1 wrong)
//   forged   the same with a valid mac1 (the attacker knows the victim's public key)
//
// usage: spoof-flood DST_IP DST_PORT SPOOF_NET SPOOF_BITS RATE SECONDS REPLAY_FILE HEADER_HEX MAC1_KEY_HEX
//                    W_REPLAY W_GARBAGE W_FORGED
//   RATE 0 = as fast as possible. Stops after SECONDS (at most 600) or at SIGTERM/SIGINT, then prints one
//   JSON line: {"sent":..,"replay":..,"garbage":..,"forged":..,"bytes":..,"seconds":..,"sendErrors":..}
// Refuses destinations outside 10.200.0.0/16 (the lab's sites) and sources outside 10.0.0.0/8.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <signal.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MAX_PAYLOAD 1400
#define BODY_BYTES 144 // INIT_BODY_BYTES
#define MAC1_OFFSET 112 // INIT_MAC1_OFFSET
#define MAX_SECONDS 600

static volatile sig_atomic_t stopping = 0;
static void on_signal(int sig) { (void)sig; stopping = 1; }

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t next_random(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}
static void fill_random(uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i += 8) {
    uint64_t r = next_random();
    memcpy(p + i, &r, n - i < 8 ? n - i : 8);
  }
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t from_hex(const char *hex, uint8_t *out, size_t max) {
  size_t n = strlen(hex) / 2;
  if (n > max) return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    if (sscanf(hex + 2 * i, "%2x", &v) != 1) return 0;
    out[i] = (uint8_t)v;
  }
  return n;
}

static void usage_exit(const char *why) {
  fprintf(stderr, "spoof-flood: %s\n", why);
  exit(2);
}

int main(int argc, char **argv) {
  if (argc != 13) usage_exit("12 arguments expected (see the header of spoof-flood.c)");
  if (sodium_init() < 0) usage_exit("libsodium init failed");
  struct in_addr dst, net;
  if (inet_pton(AF_INET, argv[1], &dst) != 1) usage_exit("bad DST_IP");
  if ((ntohl(dst.s_addr) & 0xffff0000u) != 0x0ac80000u) usage_exit("DST_IP outside 10.200.0.0/16");
  int port = atoi(argv[2]);
  if (inet_pton(AF_INET, argv[3], &net) != 1) usage_exit("bad SPOOF_NET");
  int bits = atoi(argv[4]);
  if (bits < 8 || bits > 30) usage_exit("SPOOF_BITS must be 8..30");
  uint32_t host_mask = (1u << (32 - bits)) - 1;
  uint32_t net_base = ntohl(net.s_addr) & ~host_mask;
  if ((net_base & 0xff000000u) != 0x0a000000u) usage_exit("SPOOF_NET outside 10.0.0.0/8");
  double rate = atof(argv[5]);
  double seconds = atof(argv[6]);
  if (seconds <= 0 || seconds > MAX_SECONDS) usage_exit("SECONDS must be in (0, 600]");

  static uint8_t replay[MAX_PAYLOAD];
  FILE *f = fopen(argv[7], "rb");
  if (!f) usage_exit("cannot open REPLAY_FILE");
  size_t replay_len = fread(replay, 1, sizeof replay, f);
  fclose(f);
  uint8_t header[64], key[32];
  size_t header_len = from_hex(argv[8], header, sizeof header);
  if (header_len == 0) usage_exit("bad HEADER_HEX");
  if (from_hex(argv[9], key, sizeof key) != 32) usage_exit("MAC1_KEY_HEX must be 32 bytes");
  int weights[3] = {atoi(argv[10]), atoi(argv[11]), atoi(argv[12])};
  int total_weight = weights[0] + weights[1] + weights[2];
  if (total_weight <= 0 || replay_len == 0) usage_exit("bad weights or empty replay");

  int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
  if (fd < 0) usage_exit("raw socket refused (root, in a lab namespace?)");
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  rng_state ^= (uint64_t)getpid() << 32 ^ (uint64_t)(now_seconds() * 1e9);

  static uint8_t bufs[BATCH][sizeof(struct iphdr) + sizeof(struct udphdr) + MAX_PAYLOAD];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  int kind_of[BATCH];
  size_t payload_len[BATCH];
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr = dst};
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = bufs[i];
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &to;
    msgs[i].msg_hdr.msg_namelen = sizeof to;
  }

  uint64_t sent = 0, bytes = 0, kinds[3] = {0, 0, 0}, errors = 0, counter = 0;
  double start = now_seconds(), elapsed = 0;
  while (!stopping && (elapsed = now_seconds() - start) < seconds) {
    int n = BATCH;
    if (rate > 0) {
      uint64_t due = (uint64_t)(elapsed * rate);
      if (due <= sent) {
        struct timespec pause = {0, 50 * 1000};
        nanosleep(&pause, NULL);
        continue;
      }
      if (due - sent < (uint64_t)n) n = (int)(due - sent);
    }
    for (int i = 0; i < n; i++) {
      uint8_t *p = bufs[i];
      struct iphdr *ip = (struct iphdr *)p;
      struct udphdr *udp = (struct udphdr *)(p + sizeof *ip);
      uint8_t *payload = p + sizeof *ip + sizeof *udp;
      int slot = (int)(counter++ % (uint64_t)total_weight);
      int kind = slot < weights[0] ? 0 : slot < weights[0] + weights[1] ? 1 : 2;
      size_t len;
      if (kind == 0) {
        memcpy(payload, replay, replay_len);
        len = replay_len;
      } else {
        memcpy(payload, header, header_len);
        uint8_t *body = payload + header_len;
        fill_random(body, BODY_BYTES);
        if (kind == 2) crypto_generichash(body + MAC1_OFFSET, 16, body, MAC1_OFFSET, key, sizeof key);
        len = header_len + BODY_BYTES;
      }
      uint32_t src = net_base | ((uint32_t)next_random() & host_mask);
      memset(ip, 0, sizeof *ip);
      ip->version = 4;
      ip->ihl = 5;
      ip->ttl = 64;
      ip->protocol = IPPROTO_UDP;
      ip->tot_len = htons((uint16_t)(sizeof *ip + sizeof *udp + len)); // the kernel fills in id and checksum
      ip->saddr = htonl(src);
      ip->daddr = dst.s_addr;
      udp->source = htons((uint16_t)(1024 + next_random() % 64000));
      udp->dest = htons((uint16_t)port);
      udp->len = htons((uint16_t)(sizeof *udp + len));
      udp->check = 0; // optional over IPv4
      iov[i].iov_len = sizeof *ip + sizeof *udp + len;
      kind_of[i] = kind;
      payload_len[i] = len;
    }
    int done = sendmmsg(fd, msgs, (unsigned)n, 0);
    if (done < 0) {
      errors++;
      // ENOBUFS and friends: the local queue is full; count and go on.
      if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR) break;
      done = 0;
    }
    sent += (uint64_t)done;
    for (int i = 0; i < done; i++) {
      kinds[kind_of[i]]++;
      bytes += payload_len[i];
    }
    counter -= (uint64_t)(n - done); // the unsent ones' kinds come round again
  }
  printf(
      "{\"sent\":%llu,\"replay\":%llu,\"garbage\":%llu,\"forged\":%llu,\"bytes\":%llu,"
      "\"seconds\":%.3f,\"sendErrors\":%llu}\n",
      (unsigned long long)sent, (unsigned long long)kinds[0], (unsigned long long)kinds[1],
      (unsigned long long)kinds[2], (unsigned long long)bytes, elapsed, (unsigned long long)errors);
  close(fd);
  return 0;
}
