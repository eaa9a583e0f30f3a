// The least a user-space VPN can do per packet: a TUN <-> UDP forwarder with no crypto, no header, no
// routing and no runtime — one thread in epoll_wait, read(TUN) -> sendto(peer), recv(UDP) -> write(TUN).
// benchmarks/idle-rtt.ts runs it between two lab sites as a floor: the round trip any user-space
// tunnel pays on this machine for its two extra kernel traversals per side and its wake-ups, before it
// does any work of its own.
//
//   tun-udp-floor IFNAME LOCAL_IPV4 PORT PEER_IPV4 MAX_SECONDS
//
// It exits after MAX_SECONDS (SIGALRM) so a lost benchmark never leaves it running.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static void die(const char *what) {
  perror(what);
  exit(1);
}

static void ipv4(const char *text, uint16_t port, struct sockaddr_in *out) {
  memset(out, 0, sizeof *out);
  out->sin_family = AF_INET;
  out->sin_port = htons(port);
  if (inet_pton(AF_INET, text, &out->sin_addr) != 1) {
    fprintf(stderr, "not an IPv4 address: %s\n", text);
    exit(2);
  }
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: tun-udp-floor IFNAME LOCAL_IPV4 PORT PEER_IPV4 MAX_SECONDS\n");
    return 2;
  }
  alarm((unsigned)atoi(argv[5]));

  int tun = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (tun < 0) die("/dev/net/tun");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  strncpy(ifr.ifr_name, argv[1], IFNAMSIZ - 1);
  if (ioctl(tun, TUNSETIFF, &ifr) < 0) die("TUNSETIFF");

  const uint16_t port = (uint16_t)atoi(argv[3]);
  struct sockaddr_in local, peer;
  ipv4(argv[2], port, &local);
  ipv4(argv[4], port, &peer);
  int udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (udp < 0) die("socket");
  if (bind(udp, (struct sockaddr *)&local, sizeof local) < 0) die("bind");

  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = tun};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, tun, &ev) < 0) die("epoll_ctl tun");
  ev.data.fd = udp;
  if (epoll_ctl(ep, EPOLL_CTL_ADD, udp, &ev) < 0) die("epoll_ctl udp");
  printf("ready\n");
  fflush(stdout);

  static uint8_t buf[65536];
  for (;;) {
    struct epoll_event ready[2];
    int n = epoll_wait(ep, ready, 2, -1);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int i = 0; i < n; i++) {
      ssize_t r;
      if (ready[i].data.fd == tun) {
        while ((r = read(tun, buf, sizeof buf)) > 0) sendto(udp, buf, (size_t)r, 0, (struct sockaddr *)&peer, sizeof peer);
      } else {
        while ((r = recv(udp, buf, sizeof buf, 0)) > 0) {
          if (write(tun, buf, (size_t)r) < 0 && errno != EAGAIN) die("write tun");
        }
      }
    }
  }
}
