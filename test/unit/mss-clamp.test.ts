// TCP MSS clamping (forward/mss-clamp.ts): the MSS option of a SYN lowered to the path MTU, the TCP
// checksum still right by the reference sum (ip-packets.ts), whatever the option's alignment.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clampMss } from '../../src/forward/mss-clamp.js';
import { checksumsValid, packet, TCP, TCP_ACK, UDP } from './ip-packets.js';

const SYN = 0x02;

function syn(v: 4 | 6, options: number[], flags = SYN): Buffer {
  return packet({
    src: v === 4 ? '10.77.0.1' : 'fd77::1',
    dst: v === 4 ? '10.77.0.2' : 'fd77::2',
    proto: TCP,
    payload: new Uint8Array(0),
    flags,
    options: Uint8Array.from(options),
  });
}

/** The MSS option's value, wherever it is. */
function mssOf(p: Buffer, v: 4 | 6): number {
  const l4 = v === 4 ? 20 : 40;
  for (let o = l4 + 20; o < l4 + (p[l4 + 12]! >> 4) * 4;) {
    if (p[o] === 1) o++;
    else if (p[o] === 2) return p.readUInt16BE(o + 2);
    else o += p[o + 1]!;
  }
  return -1;
}

describe('MSS clamping', () => {
  for (const v of [4, 6] as const) {
    for (const [name, opts] of [
      ['aligned', [2, 4, 0x05, 0xb4, 1, 1, 1, 0]],
      ['after one NOP (spans two checksum words)', [1, 2, 4, 0x05, 0xb4, 1, 1, 0]],
      ['after SACK-permitted and a NOP', [4, 2, 1, 2, 4, 0x05, 0xb4, 0]],
    ] as const) {
      it(`IPv${v}: lowers the MSS of a SYN to the path MTU, ${name}`, () => {
        const p = syn(v, [...opts]);
        assert.ok(checksumsValid(p));
        assert.equal(clampMss(p, 0, p.length, v, 1231), true);
        assert.equal(mssOf(p, v), 1231 - (v === 4 ? 40 : 60));
        assert.ok(checksumsValid(p), 'TCP checksum right after the change');
      });
    }
  }

  it('clamps a SYN-ACK too, and leaves a smaller MSS, a non-SYN and UDP alone', () => {
    const synAck = syn(4, [2, 4, 0x05, 0xb4], SYN | TCP_ACK);
    assert.equal(clampMss(synAck, 0, synAck.length, 4, 1300), true);
    assert.equal(mssOf(synAck, 4), 1260);
    const small = syn(4, [2, 4, 0x04, 0x00]);
    assert.equal(clampMss(small, 0, small.length, 4, 1300), false);
    const ack = syn(4, [2, 4, 0x05, 0xb4], TCP_ACK);
    assert.equal(clampMss(ack, 0, ack.length, 4, 1300), false);
    assert.equal(mssOf(ack, 4), 1460);
    const udp = packet({ src: '10.77.0.1', dst: '10.77.0.2', proto: UDP, payload: new Uint8Array(40) });
    assert.equal(clampMss(udp, 0, udp.length, 4, 1000), false);
  });

  it('stops at a malformed option list without reading past it', () => {
    const p = syn(4, [3, 0, 2, 4, 0x05, 0xb4, 0, 0]); // a zero-length option
    assert.equal(clampMss(p, 0, p.length, 4, 1200), false);
    const q = syn(4, [8, 40, 2, 4]); // an option longer than the header
    assert.equal(clampMss(q, 0, q.length, 4, 1200), false);
  });
});
