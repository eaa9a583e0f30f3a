{
  "targets": [
    {
      "target_name": "overlayd_tun",
      "sources": ["native/tun.c", "native/offload.c", "native/fast-lane.c", "native/aead.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "cflags_c": ["-std=gnu11"]
    },
    {
      "target_name": "overlayd_udp",
      "sources": ["native/udp.c", "native/handshake-load.c", "native/rx-lane.c", "native/aead.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "cflags_c": ["-std=gnu11"]
    },
    {
      "target_name": "overlayd_packet",
      "sources": ["native/packet.c", "native/aead.c", "native/offload.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "cflags_c": ["-std=gnu11"]
    }
  ]
}
