// Batch seal and open (native/packet.c over native/aead.c, OpenSSL) against libsodium through
// sodium-native as the independent reference, both ways: the wire format is ChaCha20-Poly1305 IETF with
// nonce = u32 BE pathFlags || u64 BE counter (1 = sealed direct, 0 = sealed with a relay route) and
// AD = [A, A+20). Then tampering, replays and the inner checks of the batch open.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sodium from 'sodium-native';
import {
  OpenCode,
  OPEN_ADDRS_BYTES,
  OPEN_ADDRS_SRC_V4,
  OPEN_ADDRS_SRC_V6,
  OPEN_ADDRS_V4,
  OPEN_ADDRS_V6,
  OPEN_HAS_PEER6,
  packetBinding,
} from '../../src/native/packet-binding.js';
import { DataKeypair, OpenError } from '../../src/session/keypair.js';
import { InnerKind, PacketType, PathFlags } from '../../src/wire/constants.js';
import { writeRoutedHeader } from '../../src/wire/routed-header.js';
import { packed, packet, payloadBytes, UDP } from './ip-packets.js';

const b = packetBinding();
const SRC = 0x0a000001;
const DST = 0x0a000002;
const SLOT = 2048;
const KEY_AB = Buffer.alloc(32, 7);
const KEY_BA = Buffer.alloc(32, 9);

function keypair(send: Buffer, receive: Buffer, remoteIndex: number): DataKeypair {
  return new DataKeypair({
    sendKey: Buffer.from(send),
    receiveKey: Buffer.from(receive),
    localIndex: 1,
    remoteIndex,
    createdAt: 0,
    isInitiator: true,
    rejectAfterMs: 1e9,
    rejectAfterMessages: 2 ** 40,
    replayWindowBits: 2048,
  });
}

function header(relays: number[]): { bytes: Buffer; length: number } {
  const bytes = Buffer.alloc(40);
  return { bytes, length: writeRoutedHeader(bytes, PacketType.Data, 16, relays, SRC, DST) };
}

/** A TUN-like batch: packet i at i*stride + headroom. */
function tunBatch(packets: Buffer[]): {
  buf: Buffer;
  stride: number;
  headroom: number;
  lengths: Uint32Array;
} {
  const stride = 1600;
  const headroom = 64;
  const buf = Buffer.alloc(stride * packets.length);
  const lengths = new Uint32Array(packets.length);
  packets.forEach((p, i) => {
    p.copy(buf, i * stride + headroom);
    lengths[i] = p.length;
  });
  return { buf, stride, headroom, lengths };
}

/** Seals `packets` natively as one run: how many the keypair sealed, and the datagrams. */
function sealRun(kp: DataKeypair, relays: number[], packets: Buffer[]): { n: number; dgrams: Buffer[] } {
  const { bytes, length } = header(relays);
  const t = tunBatch(packets);
  const out = Buffer.alloc(SLOT * packets.length);
  const outLengths = new Uint32Array(packets.length);
  const n = b.pkt_seal_batch(
    kp.state,
    bytes,
    length,
    t.buf,
    t.stride,
    t.headroom,
    t.lengths,
    0,
    packets.length,
    InnerKind.IPPacket,
    out,
    SLOT,
    0,
    outLengths,
  );
  return {
    n,
    dgrams: Array.from({ length: n }, (_, i) =>
      Buffer.from(out.subarray(i * SLOT, i * SLOT + outLengths[i]!)),
    ),
  };
}

/** Seals `packets` natively as one run; all must seal. */
function sealBatch(kp: DataKeypair, relays: number[], packets: Buffer[]): Buffer[] {
  const { n, dgrams } = sealRun(kp, relays, packets);
  assert.equal(n, packets.length);
  return dgrams;
}

function nonce(pathFlags: number, counterBytes: Uint8Array): Buffer {
  const n = Buffer.alloc(12);
  n.writeUInt32BE(pathFlags, 0);
  Buffer.from(counterBytes).copy(n, 4);
  return n;
}

/** The reference open: libsodium on the same layout. Returns the plaintext or null. */
function sodiumOpen(dgram: Buffer, key: Buffer): Buffer | null {
  const a = 4 + 4 * dgram[2]!;
  const ct = dgram.subarray(a + 20);
  const plain = Buffer.alloc(ct.length - 16);
  try {
    sodium.crypto_aead_chacha20poly1305_ietf_decrypt(
      plain,
      null,
      ct,
      dgram.subarray(a, a + 20),
      nonce(dgram[2] === 0 ? 1 : 0, dgram.subarray(a + 12, a + 20)),
      key,
    );
    return plain;
  } catch {
    return null;
  }
}

/** The reference seal: libsodium writes a Data datagram the way a peer would. */
function sodiumSeal(
  relays: number[],
  counter: number,
  plaintext: Buffer,
  key: Buffer,
  index: number,
): Buffer {
  const { bytes, length } = header(relays);
  const a = length - 8;
  const d = Buffer.alloc(a + 20 + plaintext.length + 16);
  bytes.copy(d, 0, 0, length);
  d.writeUInt32BE(index, a + 8);
  d.writeBigUInt64BE(BigInt(counter), a + 12);
  sodium.crypto_aead_chacha20poly1305_ietf_encrypt(
    d.subarray(a + 20),
    plaintext,
    d.subarray(a, a + 20),
    null,
    nonce(relays.length === 0 ? 1 : 0, d.subarray(a + 12, a + 20)),
    key,
  );
  return d;
}

interface Opened {
  results: number[];
  delivered: Buffer[];
}

/** Opens datagrams natively as one run (member 10.0.0.1 → us 10.0.0.2, as the inner checks expect). */
function openBatch(kp: DataKeypair, dgrams: Buffer[], addrs = addressBlock()): Opened {
  const { buffer: buf, offsets, lengths } = packed(dgrams);
  const list = Uint32Array.from(dgrams.keys());
  const results = new Int32Array(dgrams.length);
  const tunOffsets = new Uint32Array(dgrams.length);
  const tunLengths = new Uint32Array(dgrams.length);
  const n = b.pkt_open_batch(
    kp.state,
    buf,
    offsets,
    lengths,
    list,
    list.length,
    addrs.bytes,
    addrs.flags,
    results,
    tunOffsets,
    tunLengths,
    0,
  );
  return {
    results: [...results],
    delivered: Array.from({ length: n }, (_, i) =>
      Buffer.from(buf.subarray(tunOffsets[i], tunOffsets[i]! + tunLengths[i]!)),
    ),
  };
}

/** The member is 10.0.0.1 / fd00::1; we accept 10.0.0.2/32 and fd00::2/128. */
function addressBlock(): { bytes: Uint8Array; flags: number } {
  const bytes = new Uint8Array(OPEN_ADDRS_BYTES);
  bytes.set([10, 0, 0, 1], 0);
  bytes.set(Buffer.from('fd000000000000000000000000000001', 'hex'), 4);
  bytes[20] = 1;
  bytes[21] = 1;
  bytes.set([10, 0, 0, 2, 255, 255, 255, 255], OPEN_ADDRS_V4);
  bytes.set(Buffer.from('fd000000000000000000000000000002', 'hex'), OPEN_ADDRS_V6);
  bytes[OPEN_ADDRS_V6 + 16] = 128;
  return { bytes, flags: OPEN_HAS_PEER6 };
}

const ip = (n: number, src = '10.0.0.1', dst = '10.0.0.2'): Buffer =>
  packet({ src, dst, proto: UDP, payload: payloadBytes(100 + n, n) });

for (const relays of [[], [0x0a000009, 0x0a000008]]) {
  const kind = relays.length === 0 ? 'direct' : 'relayed';
  test(`${kind}: batch-sealed datagrams open with libsodium (pathFlags ${relays.length === 0 ? 1 : 0}), counters 0, 1, 2…`, () => {
    const kp = keypair(KEY_AB, KEY_BA, 0x1234);
    const packets = [ip(1), ip(2), ip(3)];
    const dgrams = sealBatch(kp, relays, packets);
    dgrams.forEach((d, i) => {
      const a = 4 + 4 * relays.length;
      assert.equal(d.readUInt32BE(a + 8), 0x1234, 'receiverIndex');
      assert.equal(d.readBigUInt64BE(a + 12), BigInt(i), 'counter');
      const plain = sodiumOpen(d, KEY_AB);
      assert.ok(plain, 'libsodium authenticates it');
      assert.equal(plain[0], InnerKind.IPPacket);
      assert.deepEqual(plain.subarray(1), packets[i]);
    });
    assert.equal(kp.sendCounter, 3);
  });

  test(`${kind}: libsodium-sealed datagrams open in a batch, IP packets delivered`, () => {
    const kp = keypair(KEY_BA, KEY_AB, 1);
    const dgrams = [1, 2, 3].map((n) =>
      sodiumSeal(relays, n, Buffer.concat([Buffer.from([InnerKind.IPPacket]), ip(n)]), KEY_AB, 1),
    );
    const r = openBatch(kp, dgrams);
    assert.deepEqual(r.results, [OpenCode.Delivered, OpenCode.Delivered, OpenCode.Delivered]);
    assert.deepEqual(r.delivered, [ip(1), ip(2), ip(3)]);
  });
}

test('the single-packet seal and the batch seal share one counter and one wire format', () => {
  const kp = keypair(KEY_AB, KEY_BA, 5);
  const { bytes, length } = header([]);
  const out = Buffer.alloc(200);
  bytes.copy(out, 0, 0, length);
  const end = kp.seal(out, length - 8, Buffer.from([InnerKind.Keepalive]), 0, PathFlags.Direct);
  assert.ok(end > 0);
  const [next] = sealBatch(kp, [], [ip(1)]);
  assert.equal(next!.readBigUInt64BE(4 + 12), 1n);
  assert.ok(sodiumOpen(out.subarray(0, end), KEY_AB));
});

test('a tampered byte anywhere authenticated, or the other path flag, fails; the window does not move', () => {
  const seal = (): Buffer =>
    sodiumSeal([], 10, Buffer.concat([Buffer.from([InnerKind.IPPacket]), ip(1)]), KEY_AB, 1);
  const kp = keypair(KEY_BA, KEY_AB, 1);
  for (const at of [4, 8, 12, 22, 24, 40, -1]) {
    const d = seal();
    d[at < 0 ? d.length + at : at] ^= 0x40;
    assert.deepEqual(openBatch(kp, [d]).results, [OpenError.AuthFailed], `byte ${at}`);
  }
  // A relayed packet with its route stripped: same bytes from the addresses on, other nonce.
  const relayed = sodiumSeal([0x0a000009], 11, Buffer.from([InnerKind.Keepalive]), KEY_AB, 1);
  const stripped = Buffer.concat([Buffer.from([PacketType.Data, 16, 0, 0]), relayed.subarray(8)]);
  assert.deepEqual(openBatch(kp, [stripped]).results, [OpenError.AuthFailed]);
  // None of these moved the window: the genuine packets still open.
  assert.deepEqual(openBatch(kp, [seal(), relayed]).results, [OpenCode.Delivered, OpenCode.OtherKind]);
});

test('replays are refused within a batch and across batches; reordering within the window is fine', () => {
  const kp = keypair(KEY_BA, KEY_AB, 1);
  const d = (n: number): Buffer =>
    sodiumSeal([], n, Buffer.concat([Buffer.from([InnerKind.IPPacket]), ip(n)]), KEY_AB, 1);
  assert.deepEqual(openBatch(kp, [d(5), d(3), d(5), d(4)]).results, [0, 0, OpenError.Replayed, 0]);
  assert.deepEqual(openBatch(kp, [d(3), d(6)]).results, [OpenError.Replayed, 0]);
  assert.deepEqual(openBatch(kp, [d(3000)]).results, [0]);
  assert.deepEqual(openBatch(kp, [d(100)]).results, [OpenError.Replayed], 'behind the 2016-counter window');
});

test('inner checks: source, destination, version and length, each with its own code', () => {
  const kp = keypair(KEY_BA, KEY_AB, 1);
  const seal = (n: number, inner: Buffer): Buffer => sodiumSeal([], n, inner, KEY_AB, 1);
  const withKind = (p: Buffer): Buffer => Buffer.concat([Buffer.from([InnerKind.IPPacket]), p]);
  const padded = Buffer.concat([ip(1), Buffer.alloc(7)]);
  const v6 = packet({ src: 'fd00::1', dst: 'fd00::2', proto: UDP, payload: payloadBytes(30) });
  const r = openBatch(kp, [
    seal(1, withKind(ip(1, '10.0.0.3'))),
    seal(2, withKind(ip(1, '10.0.0.1', '10.0.0.4'))),
    seal(3, withKind(Buffer.from([0x50, 1, 2, 3]))),
    seal(4, withKind(ip(1).subarray(0, 40))),
    seal(5, withKind(padded)),
    seal(6, withKind(v6)),
    seal(7, Buffer.alloc(0)),
    seal(8, Buffer.from([InnerKind.Probe, 0, 0, 0, 1])),
  ]);
  assert.deepEqual(r.results, [
    OpenCode.SpoofedSource,
    OpenCode.NotLocalDestination,
    OpenCode.NotIp,
    OpenCode.BadInner,
    OpenCode.Delivered,
    OpenCode.Delivered,
    OpenCode.BadInner,
    OpenCode.OtherKind,
  ]);
  assert.deepEqual(r.delivered, [ip(1), v6], 'padding cut at the IP length');
  // A member without an IPv6 address cannot send IPv6 packets at all.
  const v4only = addressBlock();
  assert.deepEqual(openBatch(kp, [seal(9, withKind(v6))], { bytes: v4only.bytes, flags: 0 }).results, [
    OpenCode.SpoofedSource,
  ]);
  // A destination inside an accepted prefix passes: 10.0.0.0/24 instead of 10.0.0.2/32.
  const subnet = addressBlock();
  subnet.bytes.set([10, 0, 0, 0, 255, 255, 255, 0], OPEN_ADDRS_V4);
  assert.deepEqual(openBatch(kp, [seal(10, withKind(ip(1, '10.0.0.1', '10.0.0.77')))], subnet).results, [
    OpenCode.Delivered,
  ]);
});

test('inner source: a LAN the member is gateway for is allowed (both families), a LAN next to it is not', () => {
  const kp = keypair(KEY_BA, KEY_AB, 1);
  const seal = (n: number, inner: Buffer): Buffer => sodiumSeal([], n, inner, KEY_AB, 1);
  const withKind = (p: Buffer): Buffer => Buffer.concat([Buffer.from([InnerKind.IPPacket]), p]);
  const v6 = (src: string): Buffer =>
    withKind(packet({ src, dst: 'fd00::2', proto: UDP, payload: payloadBytes(8) }));
  const packets = (first: number): Buffer[] => [
    seal(first, withKind(ip(1, '192.168.50.7'))),
    seal(first + 1, withKind(ip(1, '192.168.51.7'))),
    seal(first + 2, v6('fd50::9')),
    seal(first + 3, v6('fd51::9')),
    seal(first + 4, withKind(ip(1, '10.0.0.1'))),
  ];
  // Without source prefixes only the member's own address passes.
  assert.deepEqual(openBatch(kp, packets(1)).results, [
    OpenCode.SpoofedSource,
    OpenCode.SpoofedSource,
    OpenCode.SpoofedSource,
    OpenCode.SpoofedSource,
    OpenCode.Delivered,
  ]);
  // The member is gateway for 192.168.50.0/24 and fd50::/64: those sources pass, neighbours do not.
  const gw = addressBlock();
  gw.bytes[22] = 1;
  gw.bytes[23] = 1;
  gw.bytes.set([192, 168, 50, 0, 255, 255, 255, 0], OPEN_ADDRS_SRC_V4);
  gw.bytes.set(Buffer.from('fd500000000000000000000000000000', 'hex'), OPEN_ADDRS_SRC_V6);
  gw.bytes[OPEN_ADDRS_SRC_V6 + 16] = 64;
  assert.deepEqual(openBatch(kp, packets(10), gw).results, [
    OpenCode.Delivered,
    OpenCode.SpoofedSource,
    OpenCode.Delivered,
    OpenCode.SpoofedSource,
    OpenCode.Delivered,
  ]);
  // A count beyond the block's capacity is read as the capacity, never past the block.
  gw.bytes[22] = 255;
  gw.bytes[23] = 255;
  assert.deepEqual(openBatch(kp, packets(20), gw).results[0], OpenCode.Delivered);
});

test('a destroyed keypair neither seals nor opens; its state buffer is zeroed', () => {
  const kp = keypair(KEY_AB, KEY_BA, 1);
  kp.destroy();
  assert.ok(kp.state.subarray(0, 64).every((x) => x === 0));
  assert.equal(sealRun(kp, [], [ip(1)]).n, 0);
  const d = sodiumSeal([], 1, Buffer.from([InnerKind.Keepalive]), KEY_BA, 1);
  assert.deepEqual(openBatch(kp, [d]).results, [OpenError.Expired]);
});
