// Builds small IPv4/UDP packets for in-process tests (what an application would hand the TUN).

export function ipv4Udp(src: string, dst: string, payload: Uint8Array, sport = 40000, dport = 9): Buffer {
  const total = 20 + 8 + payload.length;
  const p = Buffer.alloc(total);
  p[0] = 0x45;
  p.writeUInt16BE(total, 2);
  p[8] = 64; // ttl
  p[9] = 17; // udp
  writeAddr(p, 12, src);
  writeAddr(p, 16, dst);
  p.writeUInt16BE(checksum(p.subarray(0, 20)), 10);
  p.writeUInt16BE(sport, 20);
  p.writeUInt16BE(dport, 22);
  p.writeUInt16BE(8 + payload.length, 24);
  p.set(payload, 28);
  return p;
}

/** An IPv6/UDP packet (no checksum: the overlay does not check it, the TUN's kernel would). */
export function ipv6Udp(src: Buffer, dst: Buffer, payload: Uint8Array, sport = 40000, dport = 9): Buffer {
  const p = Buffer.alloc(40 + 8 + payload.length);
  p[0] = 0x60;
  p.writeUInt16BE(8 + payload.length, 4);
  p[6] = 17; // udp
  p[7] = 64; // hop limit
  src.copy(p, 8);
  dst.copy(p, 24);
  p.writeUInt16BE(sport, 40);
  p.writeUInt16BE(dport, 42);
  p.writeUInt16BE(8 + payload.length, 44);
  p.set(payload, 48);
  return p;
}

/** The UDP payload of a packet built by ipv4Udp. */
export function udpPayload(packet: Buffer): Buffer {
  return packet.subarray(28);
}

function writeAddr(p: Buffer, off: number, addr: string): void {
  addr.split('.').forEach((part, i) => (p[off + i] = Number(part)));
}

function checksum(b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < b.length; i += 2) sum += (b[i] << 8) | (b[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
