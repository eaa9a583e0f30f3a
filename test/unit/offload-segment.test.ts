// Segmentation of TUN super-packets (TSO/USO) into path-MTU packets, the native code the TUN reader runs
// (native/offload.c through the packet addon). Every checksum is checked against the plain reference
// sum in ip-packets.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OffloadError, packetBinding } from '../../src/native/packet-binding.js';
import {
  checksumsValid,
  encodeVnet,
  GSO_NONE,
  GSO_TCPV4,
  l4Offset,
  NEEDS_CSUM,
  packet,
  payloadBytes,
  payloadOf,
  pseudoHeader,
  refSum,
  superPacket,
  TCP,
  TCP_ACK,
  TCP_CWR,
  TCP_FIN,
  TCP_PSH,
  timestamps,
  UDP,
  type PacketSpec,
} from './ip-packets.js';

const b = packetBinding();
const STRIDE = 2048;

function segment(pkt: Buffer, vnet: Buffer, slots = 64): Buffer[] {
  const out = Buffer.alloc(STRIDE * slots);
  const lengths = new Uint32Array(slots);
  const n = b.ofl_segment(pkt, vnet, out, STRIDE, lengths);
  assert.ok(n >= 0, `segmentation refused: ${n}`);
  return Array.from({ length: n }, (_, i) => Buffer.from(out.subarray(i * STRIDE, i * STRIDE + lengths[i]!)));
}

function tcpSpec(v: 4 | 6, payload: Buffer, extra: Partial<PacketSpec> = {}): PacketSpec {
  return {
    src: v === 4 ? '10.77.0.1' : 'fd77::1',
    dst: v === 4 ? '10.77.0.2' : 'fd77::2',
    proto: TCP,
    payload,
    seq: 0xfffff000, // wraps during the super-packet
    ack: 99,
    flags: TCP_ACK | TCP_PSH | TCP_CWR,
    options: timestamps(1000, 2000),
    ...extra,
  };
}

for (const v of [4, 6] as const) {
  test(`TCP/IPv${v} with options: segments of gso_size, a short last one, headers and checksums fixed up`, () => {
    const data = payloadBytes(10_000);
    const gso = 1328;
    const { packet: sp, vnet } = superPacket(tcpSpec(v, data), gso);
    const segs = segment(sp, vnet);
    assert.equal(segs.length, Math.ceil(10_000 / gso));
    const l4 = l4Offset(sp);
    segs.forEach((s, i) => {
      const last = i === segs.length - 1;
      const size = last ? 10_000 - gso * (segs.length - 1) : gso;
      assert.equal(s.length, l4 + 32 + size, `segment ${i} length`);
      if (v === 4) {
        assert.equal(s.readUInt16BE(2), s.length, 'IPv4 total length');
        assert.equal(s.readUInt16BE(4), 0x1234 + i, 'IPv4 id counts up from the super-packet id');
      } else {
        assert.equal(s.readUInt16BE(4), s.length - 40, 'IPv6 payload length');
      }
      assert.equal(s.readUInt32BE(l4 + 4), (0xfffff000 + i * gso) >>> 0, 'sequence number (wrapping)');
      assert.equal(s.readUInt32BE(l4 + 8), 99, 'ack');
      assert.deepEqual(s.subarray(l4 + 20, l4 + 32), timestamps(1000, 2000), 'options copied');
      const flags = s[l4 + 13]!;
      assert.equal(flags & TCP_PSH, last ? TCP_PSH : 0, 'PSH only on the last segment');
      assert.equal(flags & TCP_CWR, i === 0 ? TCP_CWR : 0, 'CWR only on the first segment');
      assert.ok(checksumsValid(s), `segment ${i} checksums`);
    });
    assert.deepEqual(Buffer.concat(segs.map(payloadOf)), data, 'payload reassembles');
  });

  test(`UDP/IPv${v} (USO): UDP length and checksum per datagram`, () => {
    const data = payloadBytes(5000, 3);
    const spec: PacketSpec = {
      src: v === 4 ? '10.77.0.1' : 'fd77::1',
      dst: v === 4 ? '10.77.0.2' : 'fd77::2',
      proto: UDP,
      payload: data,
    };
    const { packet: sp, vnet } = superPacket(spec, 1200);
    const segs = segment(sp, vnet);
    assert.equal(segs.length, 5);
    const l4 = l4Offset(sp);
    for (const s of segs) {
      assert.equal(s.readUInt16BE(l4 + 4), s.length - l4, 'UDP length');
      assert.ok(checksumsValid(s));
    }
    assert.equal(segs[4]!.length - l4 - 8, 200, 'short last datagram');
    assert.deepEqual(Buffer.concat(segs.map(payloadOf)), data);
  });
}

test('FIN stays on the last segment only; a payload that divides evenly has no short segment', () => {
  const { packet: sp, vnet } = superPacket(
    tcpSpec(4, payloadBytes(4000), { flags: TCP_ACK | TCP_FIN, options: undefined }),
    1000,
  );
  const segs = segment(sp, vnet);
  assert.equal(segs.length, 4);
  assert.ok(segs.every((s) => s.length === 20 + 20 + 1000));
  assert.deepEqual(
    segs.map((s) => s[33]! & TCP_FIN),
    [0, 0, 0, TCP_FIN],
  );
  assert.ok(segs.every(checksumsValid));
});

test('a single packet with NEEDS_CSUM gets its partial checksum completed', () => {
  const p = packet({ src: '10.77.0.1', dst: '10.77.0.2', proto: UDP, payload: payloadBytes(301) });
  p.writeUInt16BE(refSum(pseudoHeader(p, UDP, p.length - 20)), 26); // what the kernel leaves there
  const vnet = encodeVnet({
    flags: NEEDS_CSUM,
    gsoType: GSO_NONE,
    hdrLen: 28,
    gsoSize: 0,
    csumStart: 20,
    csumOffset: 6,
  });
  const [out] = segment(p, vnet);
  assert.ok(checksumsValid(out!), 'completed checksum verifies');
});

test('a header that disagrees with its packet is refused, never read past', () => {
  const { packet: sp, vnet } = superPacket(tcpSpec(4, payloadBytes(3000)), 1000);
  const bad = (mutate: (v: Buffer, p: Buffer) => Buffer | void): number => {
    const v = Buffer.from(vnet);
    const p = Buffer.from(sp);
    const q = mutate(v, p) ?? p;
    return b.ofl_segment(q, v, Buffer.alloc(STRIDE * 8), STRIDE, new Uint32Array(8));
  };
  assert.equal(
    bad((v) => void v.writeUInt16LE(24, 6)),
    OffloadError.Invalid,
    'csum_start is not the IP header length',
  );
  assert.equal(
    bad((v) => void (v[1] = 4)),
    OffloadError.Invalid,
    'TCPv6 type on an IPv4 packet',
  );
  assert.equal(
    bad((v) => void v.writeUInt16LE(0, 4)),
    OffloadError.Invalid,
    'gso_size 0',
  );
  assert.equal(
    bad((_v, p) => p.subarray(0, 45)),
    OffloadError.Invalid,
    'cut inside the TCP options',
  );
  assert.equal(
    bad((_v, p) => void (p[9] = UDP)),
    OffloadError.Invalid,
    'protocol is not TCP',
  );
  assert.equal(
    bad((v) => void v.writeUInt16LE(100, 4)),
    OffloadError.NoSpace,
    'more segments than slots',
  );
  // A legitimate segment that would not fit its slot is refused too.
  const out = Buffer.alloc(600 * 8);
  assert.equal(b.ofl_segment(sp, vnet, out, 600, new Uint32Array(8)), OffloadError.NoSpace);
  assert.equal(GSO_TCPV4, vnet[1]);
});
