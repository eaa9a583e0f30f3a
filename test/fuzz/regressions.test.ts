// What the fuzzer found, replayed as plain tests against the real code.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ipv6ToBytes } from '../../src/forward/ip-packet.js';
import { InnerKind } from '../../src/wire/constants.js';
import { ipv4Udp, ipv6Udp } from '../e2e/ip-builder.js';
import { LoneNode } from './fixtures/lone-node.js';

describe('inner destination (fuzz target inner, seed 7, input 15)', () => {
  // A member's packet was written to the TUN whatever its inner destination: member a could reach
  // anything b's kernel routes (issue 10, item 7). Only b's own addresses may be reached.
  const node = new LoneNode(1);
  const [a, b, c] = node.members;
  const send = (ip: Buffer): number => {
    const before = node.tun.written.length;
    node.receive(node.sealFrom(a, Buffer.concat([Buffer.from([InnerKind.IPPacket]), ip])), a.endpoint);
    return node.tun.written.splice(before).length;
  };
  const dropped = (): number => node.counters.drops.get('not-local-destination') ?? 0;

  it('a member’s IPv4 packet for another address is dropped, not written to the TUN', () => {
    for (const dst of [c.address, '10.77.0.200', '192.168.1.1', '224.0.0.1']) {
      const before = dropped();
      assert.equal(send(ipv4Udp(a.address, dst, Buffer.from('behind b?'))), 0, dst);
      assert.equal(dropped(), before + 1, dst);
    }
    assert.equal(send(ipv4Udp(a.address, b.address, Buffer.from('for b'))), 1);
  });

  it('the same for IPv6', () => {
    const v6 = (addr: string): Buffer =>
      ipv6Udp(ipv6ToBytes(a.address6), ipv6ToBytes(addr), Buffer.from('x'));
    for (const dst of [c.address6, 'fd77::200', '2001:db8::1', 'ff02::1']) {
      const before = dropped();
      assert.equal(send(v6(dst)), 0, dst);
      assert.equal(dropped(), before + 1, dst);
    }
    assert.equal(send(v6(b.address6)), 1);
  });
});
