// Coalescing (GRO) of received packets into TUN super-packets, the native code the TUN writer runs
// (native/offload.c through the packet addon): what merges, what never does, and that a merged packet
// is exactly what the kernel expects (virtio header, lengths, pseudo-header checksum) by segmenting it
// back with the segmenter and comparing with the originals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { packetBinding } from '../../src/native/packet-binding.js';
import {
  checksumsValid,
  decodeVnet,
  GSO_NONE,
  GSO_TCPV4,
  GSO_TCPV6,
  GSO_UDP_L4,
  l4Offset,
  NEEDS_CSUM,
  packet,
  packed,
  payloadBytes,
  payloadOf,
  pseudoHeader,
  refSum,
  TCP,
  TCP_ACK,
  TCP_PSH,
  timestamps,
  UDP,
  type PacketSpec,
} from './ip-packets.js';

const b = packetBinding();

interface Write {
  vnet: ReturnType<typeof decodeVnet>;
  ip: Buffer;
}

/** Coalesces the packets as the TUN writer would; returns each write (virtio header + IP packet). */
function coalesce(packets: Buffer[], udp = false): Write[] {
  const { buffer: buf, offsets, lengths } = packed(packets);
  const out = Buffer.alloc(buf.length + 10 * packets.length);
  const outLengths = new Uint32Array(packets.length);
  const n = b.ofl_coalesce(buf, offsets, lengths, packets.length, udp, out, outLengths);
  const writes: Write[] = [];
  let o = 0;
  for (let i = 0; i < n; i++) {
    const w = out.subarray(o, o + outLengths[i]!);
    writes.push({ vnet: decodeVnet(w), ip: Buffer.from(w.subarray(10)) });
    o += outLengths[i]!;
  }
  return writes;
}

/** Splits a merged write back into segments with the TUN reader's segmenter. */
function resegment(w: Write): Buffer[] {
  const vnet = Buffer.alloc(10);
  vnet[0] = w.vnet.flags;
  vnet[1] = w.vnet.gsoType;
  vnet.writeUInt16LE(w.vnet.hdrLen, 2);
  vnet.writeUInt16LE(w.vnet.gsoSize, 4);
  vnet.writeUInt16LE(w.vnet.csumStart, 6);
  vnet.writeUInt16LE(w.vnet.csumOffset, 8);
  const out = Buffer.alloc(2048 * 64);
  const lengths = new Uint32Array(64);
  const n = b.ofl_segment(Buffer.from(w.ip), vnet, out, 2048, lengths);
  assert.ok(n > 0, `resegment refused: ${n}`);
  return Array.from({ length: n }, (_, i) => Buffer.from(out.subarray(i * 2048, i * 2048 + lengths[i]!)));
}

/** Segments of one TCP flow: sizes given, consecutive sequence numbers from `seq`. */
function flow(v: 4 | 6, sizes: number[], extra: Partial<PacketSpec> = {}, seq = 5000): Buffer[] {
  const out: Buffer[] = [];
  for (const [i, size] of sizes.entries()) {
    out.push(
      packet({
        src: v === 4 ? '10.77.0.2' : 'fd77::2',
        dst: v === 4 ? '10.77.0.1' : 'fd77::1',
        proto: TCP,
        payload: payloadBytes(size, i + 1),
        seq,
        ack: 77,
        options: timestamps(500, 600),
        id: 0x100 + i,
        ...extra,
      }),
    );
    seq += size;
  }
  return out;
}

for (const v of [4, 6] as const) {
  test(`TCP/IPv${v}: in-order segments of one flow become one write the kernel can take`, () => {
    const segs = flow(v, [1300, 1300, 1300, 700]);
    const writes = coalesce(segs.map((s) => Buffer.from(s)));
    assert.equal(writes.length, 1);
    const [w] = writes as [Write];
    const l4 = l4Offset(w.ip);
    assert.deepEqual(w.vnet, {
      flags: NEEDS_CSUM,
      gsoType: v === 4 ? GSO_TCPV4 : GSO_TCPV6,
      hdrLen: l4 + 32,
      gsoSize: 1300,
      csumStart: l4,
      csumOffset: 16,
    });
    assert.equal(w.ip.length, l4 + 32 + 4600);
    if (v === 4) {
      assert.equal(w.ip.readUInt16BE(2), w.ip.length, 'total length');
      assert.equal(refSum(w.ip.subarray(0, 20)), 0xffff, 'IPv4 header checksum');
    } else {
      assert.equal(w.ip.readUInt16BE(4), w.ip.length - 40, 'payload length');
    }
    // CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum of the merged length.
    assert.equal(w.ip.readUInt16BE(l4 + 16), refSum(pseudoHeader(w.ip, TCP, w.ip.length - l4)));
    assert.deepEqual(payloadOf(w.ip), Buffer.concat(segs.map(payloadOf)));
    // The kernel splits it back into exactly what arrived.
    const again = resegment(w);
    assert.equal(again.length, 4);
    again.forEach((s, i) => {
      assert.ok(checksumsValid(s), `resegmented ${i} checksums`);
      assert.deepEqual(payloadOf(s), payloadOf(segs[i]!));
      assert.equal(s.readUInt32BE(l4 + 4), segs[i]!.readUInt32BE(l4 + 4), 'sequence number');
    });
  });
}

test('a short segment ends the merged packet; PSH is kept on the merged packet and ends it too', () => {
  const segs = flow(4, [1000, 1000, 400, 1000]);
  const w1 = coalesce(segs);
  assert.deepEqual(
    w1.map((w) => w.ip.length - 52),
    [2400, 1000],
    'nothing follows a short segment',
  );
  const pushed = flow(4, [1000, 1000, 1000, 1000]);
  const withPsh = pushed.map((s, i) =>
    i === 1 ? packet({ ...specOf(s, i, 1000), flags: TCP_ACK | TCP_PSH }) : s,
  );
  const w2 = coalesce(withPsh);
  assert.deepEqual(
    w2.map((w) => w.ip.length - 52),
    [2000, 2000],
  );
  assert.equal(w2[0]!.ip[33]! & TCP_PSH, TCP_PSH, 'the merged packet pushes');
  assert.equal(w2[1]!.ip[33]! & TCP_PSH, 0);
});

/** The spec of segment i built by flow(4, ...) with equal sizes. */
function specOf(s: Buffer, i: number, size: number): PacketSpec {
  return {
    src: '10.77.0.2',
    dst: '10.77.0.1',
    proto: TCP,
    payload: payloadOf(s),
    seq: 5000 + i * size,
    ack: 77,
    options: timestamps(500, 600),
    id: 0x100 + i,
  };
}

test('out-of-order segments are never merged, and every packet keeps its place in its flow', () => {
  const [s1, s2, s3] = flow(4, [1000, 1000, 1000]);
  const writes = coalesce([s2!, s1!, s3!]);
  // s3 continues s2, but s1 came in between and is now the flow's last item: merging s3 into s2 would
  // move it ahead of s1. So nothing merges, and the writes keep the order of arrival.
  assert.deepEqual(
    writes.map((w) => [w.ip.readUInt32BE(24), w.ip.length - 52]),
    [
      [6000, 1000],
      [5000, 1000],
      [7000, 1000],
    ],
  );
  assert.ok(writes.every((w) => w.vnet.gsoType === GSO_NONE));
});

test('interleaved flows are each merged in order, never with each other', () => {
  const a = flow(4, [1000, 1000, 1000], { sport: 1111 });
  const c = flow(4, [1000, 1000, 1000], { sport: 2222 }, 90_000);
  const writes = coalesce([a[0]!, c[0]!, a[1]!, c[1]!, a[2]!, c[2]!]);
  assert.equal(writes.length, 2);
  assert.deepEqual(
    writes.map((w) => [w.ip.readUInt16BE(20), w.ip.length - 52]),
    [
      [1111, 3000],
      [2222, 3000],
    ],
  );
  assert.deepEqual(payloadOf(writes[0]!.ip), Buffer.concat(a.map(payloadOf)));
  assert.deepEqual(payloadOf(writes[1]!.ip), Buffer.concat(c.map(payloadOf)));
});

test('segments that differ in ack, options, TTL or addresses, or carry a bad checksum, stay apart', () => {
  const base = flow(4, [1000, 1000]);
  const variants: Array<[string, Buffer]> = [
    ['ack', packet({ ...specOf(base[1]!, 1, 1000), ack: 78 })],
    ['timestamps', packet({ ...specOf(base[1]!, 1, 1000), options: timestamps(501, 600) })],
    ['ttl', packet({ ...specOf(base[1]!, 1, 1000), ttl: 63 })],
    ['tos', packet({ ...specOf(base[1]!, 1, 1000), tos: 4 })],
    ['destination', packet({ ...specOf(base[1]!, 1, 1000), dst: '10.77.0.9' })],
  ];
  for (const [what, second] of variants) {
    assert.equal(coalesce([Buffer.from(base[0]!), second]).length, 2, what);
  }
  const corrupt = Buffer.from(base[1]!);
  corrupt[corrupt.length - 1] ^= 0xff;
  const writes = coalesce([Buffer.from(base[0]!), corrupt]);
  assert.equal(writes.length, 2, 'a segment whose checksum fails is written alone');
  assert.equal(checksumsValid(writes[1]!.ip), false, 'as it came: the receiving stack drops it');
});

test('pure ACKs, SYNs and other protocols are written alone with an empty virtio header', () => {
  const ack = packet({ src: '10.77.0.2', dst: '10.77.0.1', proto: TCP, payload: new Uint8Array(0) });
  const syn = packet({ ...specOf(flow(4, [10])[0]!, 0, 10), flags: 0x02 });
  const icmp = Buffer.from(ack);
  icmp[9] = 1;
  const writes = coalesce([ack, Buffer.from(ack), syn, icmp]);
  assert.equal(writes.length, 4);
  for (const w of writes) assert.equal(w.vnet.gsoType, GSO_NONE);
  assert.deepEqual(writes[0]!.vnet, {
    flags: 0,
    gsoType: GSO_NONE,
    hdrLen: 0,
    gsoSize: 0,
    csumStart: 0,
    csumOffset: 0,
  });
});

test('UDP datagrams of one flow merge only when the TUN takes USO, the last may be shorter', () => {
  const dgrams = [300, 300, 120].map((n, i) =>
    packet({ src: 'fd77::2', dst: 'fd77::1', proto: UDP, payload: payloadBytes(n, i + 9) }),
  );
  assert.equal(
    coalesce(
      dgrams.map((d) => Buffer.from(d)),
      false,
    ).length,
    3,
    'without USO',
  );
  const writes = coalesce(
    dgrams.map((d) => Buffer.from(d)),
    true,
  );
  assert.equal(writes.length, 1);
  const w = writes[0]!;
  assert.equal(w.vnet.gsoType, GSO_UDP_L4);
  assert.equal(w.vnet.gsoSize, 300);
  assert.equal(w.ip.readUInt16BE(44), w.ip.length - 40, 'UDP length');
  const again = resegment(w);
  assert.deepEqual(again.map(payloadOf), dgrams.map(payloadOf));
  assert.ok(again.every(checksumsValid));
});
