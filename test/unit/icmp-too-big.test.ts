// ICMP "fragmentation needed" / ICMPv6 "packet too big" (forward/icmp-too-big.ts) and IPv4
// fragmentation (forward/ipv4-fragment.ts), checked against the plain RFC 1071 reference sums of
// ip-packets.ts (an independent computation: word by word, no shortcuts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ICMP4_MAX_BYTES,
  ICMP6_MAX_BYTES,
  writeFragNeeded,
  writePacketTooBig,
} from '../../src/forward/icmp-too-big.js';
import { fragmentIpv4 } from '../../src/forward/ipv4-fragment.js';
import { ipv6ToBytes } from '../../src/forward/ip-packet.js';
import { packet, payloadBytes, pseudoHeader, refSum, TCP, UDP } from './ip-packets.js';

const SRC4 = Uint8Array.from([10, 77, 0, 2]);
const SRC6 = ipv6ToBytes('fd77::2');

function tcp4(bytes: number): Buffer {
  return packet({
    src: '10.77.0.1',
    dst: '10.77.0.2',
    proto: TCP,
    payload: payloadBytes(bytes - 40),
    seq: 0x11223344,
  });
}

describe('ICMP fragmentation needed (IPv4)', () => {
  it('has valid IP and ICMP checksums, type 3 code 4, the MTU, and quotes the packet', () => {
    const orig = tcp4(1400);
    const pad = 3; // the packet need not start at 0
    const buf = Buffer.concat([Buffer.alloc(pad), orig]);
    const out = Buffer.alloc(1500);
    const n = writeFragNeeded(out, buf, pad, orig.length, SRC4, 1231);
    assert.equal(n, ICMP4_MAX_BYTES);
    const icmp = out.subarray(0, n);
    assert.equal(icmp[0], 0x45);
    assert.equal(icmp.readUInt16BE(2), n);
    assert.equal(icmp[9], 1);
    assert.equal(refSum(icmp.subarray(0, 20)), 0xffff, 'IP header checksum');
    assert.deepEqual([...icmp.subarray(12, 16)], [...SRC4]);
    assert.deepEqual([...icmp.subarray(16, 20)], [...orig.subarray(12, 16)], 'to the sender');
    assert.equal(icmp[20], 3);
    assert.equal(icmp[21], 4);
    assert.equal(icmp.readUInt16BE(24), 0, 'unused');
    assert.equal(icmp.readUInt16BE(26), 1231, 'next-hop MTU');
    assert.equal(refSum(icmp.subarray(20)), 0xffff, 'ICMP checksum');
    // The original header and the first bytes of TCP (ports, sequence number: what the sender's
    // stack matches the error to its connection by), as much as fits 576 bytes.
    assert.deepEqual(icmp.subarray(28), orig.subarray(0, n - 28));
    assert.equal(icmp.subarray(28).readUInt32BE(24), 0x11223344);
  });

  it('quotes a short packet whole (odd length too)', () => {
    const orig = packet({ src: '10.77.0.1', dst: '10.77.0.2', proto: UDP, payload: payloadBytes(33) });
    const out = Buffer.alloc(1500);
    const n = writeFragNeeded(out, orig, 0, orig.length, SRC4, 1280);
    assert.equal(n, 28 + orig.length);
    assert.equal(refSum(out.subarray(20, n)), 0xffff);
    assert.deepEqual(out.subarray(28, n), orig);
  });

  it('is never sent about an ICMP error or a fragment that is not the first', () => {
    const out = Buffer.alloc(1500);
    const err = Buffer.alloc(ICMP4_MAX_BYTES);
    writeFragNeeded(err, tcp4(1400), 0, 1400, SRC4, 1000); // an ICMP error packet
    assert.equal(writeFragNeeded(out, err, 0, 576, SRC4, 1000), 0);
    const frag = tcp4(1400);
    frag.writeUInt16BE(0x0010, 6); // offset 16 × 8
    assert.equal(writeFragNeeded(out, frag, 0, frag.length, SRC4, 1000), 0);
    // An echo request (type 8) is answered.
    const echo = Buffer.from(err.subarray(0, 60));
    echo[20] = 8;
    assert.ok(writeFragNeeded(out, echo, 0, 60, SRC4, 1000) > 0);
  });
});

describe('ICMPv6 packet too big', () => {
  it('has a valid checksum over the pseudo-header, type 2, the MTU, and quotes up to 1280 bytes', () => {
    const orig = packet({ src: 'fd77::1', dst: 'fd77::2', proto: TCP, payload: payloadBytes(1400) });
    const out = Buffer.alloc(1500);
    const n = writePacketTooBig(out, orig, 0, orig.length, SRC6, 1280);
    assert.equal(n, ICMP6_MAX_BYTES);
    const p = out.subarray(0, n);
    assert.equal(p[0] >> 4, 6);
    assert.equal(p.readUInt16BE(4), n - 40);
    assert.equal(p[6], 58);
    assert.deepEqual(p.subarray(8, 24), SRC6);
    assert.deepEqual(p.subarray(24, 40), orig.subarray(8, 24), 'to the sender');
    assert.equal(p[40], 2);
    assert.equal(p[41], 0);
    assert.equal(p.readUInt32BE(44), 1280);
    assert.equal(refSum(pseudoHeader(p, 58, n - 40), p.subarray(40)), 0xffff, 'ICMPv6 checksum');
    assert.deepEqual(p.subarray(48), orig.subarray(0, n - 48));
  });

  it('is never sent about an ICMPv6 error, but is about an echo request', () => {
    const out = Buffer.alloc(1500);
    const err = Buffer.alloc(1500);
    const orig = packet({ src: 'fd77::1', dst: 'fd77::2', proto: TCP, payload: payloadBytes(1400) });
    const n = writePacketTooBig(err, orig, 0, orig.length, SRC6, 1280);
    assert.equal(writePacketTooBig(out, err, 0, n, SRC6, 1280), 0);
    err[40] = 128; // echo request
    assert.ok(writePacketTooBig(out, err, 0, n, SRC6, 1280) > 0);
  });
});

describe('IPv4 fragmentation (DF clear)', () => {
  it('cuts a packet into fragments of at most the MTU that reassemble to it, headers valid', () => {
    const orig = packet({ src: '10.77.0.1', dst: '10.77.0.2', proto: UDP, payload: payloadBytes(3000) });
    orig[6] = 0; // DF clear
    orig.writeUInt16BE(0, 10);
    orig.writeUInt16BE(~refSum(orig.subarray(0, 20)) & 0xffff, 10);
    const out = Buffer.alloc(4000);
    const f = fragmentIpv4(out, orig, 0, orig.length, 1231)!;
    assert.ok(f);
    assert.equal(f.offsets.length, 3);
    const data: Buffer[] = [];
    f.offsets.forEach((at, k) => {
      const frag = out.subarray(at, at + f.lengths[k]!);
      assert.ok(frag.length <= 1231);
      assert.equal(frag.readUInt16BE(2), frag.length);
      assert.equal(refSum(frag.subarray(0, 20)), 0xffff, 'header checksum');
      const flags = frag.readUInt16BE(6);
      const last = k === f.offsets.length - 1;
      assert.equal((flags & 0x2000) !== 0, !last, 'MF on all but the last');
      assert.equal(
        (flags & 0x1fff) * 8,
        data.reduce((s, d) => s + d.length, 0),
        'offset',
      );
      if (!last) assert.equal((frag.length - 20) % 8, 0);
      assert.equal(frag.readUInt16BE(4), orig.readUInt16BE(4), 'same id');
      data.push(Buffer.from(frag.subarray(20)));
    });
    assert.deepEqual(Buffer.concat(data), orig.subarray(20));
  });

  it('refuses a packet with DF set or with options', () => {
    const out = Buffer.alloc(4000);
    const df = tcp4(1400);
    assert.equal(fragmentIpv4(out, df, 0, df.length, 1231), undefined);
    const opts = Buffer.concat([tcp4(1400)]);
    opts[0] = 0x46;
    opts[6] = 0;
    assert.equal(fragmentIpv4(out, opts, 0, opts.length, 1231), undefined);
  });
});
