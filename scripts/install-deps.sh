#!/usr/bin/env bash
# Installs the Debian packages overlayd's lab, tests and benchmarks use. Run as root.
#   iproute2, nftables, iputils-ping: the namespace lab (ip netns, veth, cuts, loss)
#   openssh-server/-client: the ssh-over-overlay test;  prometheus: the dashboard test
#   systemd: systemd-analyze verify of the unit;  iperf3, wireguard-go, wireguard-tools, tinc: benchmarks
#   build-essential, python3: node-gyp builds the TUN addon;  openssl: the ws TLS test makes a certificate
#   libsodium-dev: benchmarks/handshake-flood.ts compiles its spoofing flooder (spoof-flood.c) against it
#   fping, strace: benchmarks/lab-scale.ts pings every pair and counts the daemons' timer wake-ups
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (it uses apt-get)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  iproute2 nftables iputils-ping procps psmisc util-linux ca-certificates \
  openssh-server openssh-client prometheus systemd \
  iperf3 wireguard-go wireguard-tools tinc jq openssl \
  build-essential python3 libsodium-dev fping strace >/dev/null
echo "install-deps.sh: done"
