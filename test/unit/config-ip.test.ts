import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cidrContains, parseCidr, reservedAddressReason, type ParsedCidr } from '../../src/config/cidr.js';
import { formatIp, parseIp, parseIPv4, parseIPv6 } from '../../src/config/ip.js';

function canonical(text: string): string | null {
  const addr = parseIp(text);
  return addr === null ? null : formatIp(addr);
}

function cidr(text: string, family: 4 | 6): ParsedCidr {
  const parsed = parseCidr(text, family);
  assert.ok(parsed.ok, `${text} should parse`);
  return parsed.cidr;
}

describe('IP literals', () => {
  it('parses dotted-quad IPv4 to its 32-bit value', () => {
    assert.equal(parseIPv4('10.77.0.1'), 0x0a4d0001n);
    assert.equal(parseIPv4('255.255.255.255'), 0xffffffffn);
    assert.equal(parseIPv4('0.0.0.0'), 0n);
  });

  it('rejects IPv4 with octets over 255, leading zeros, or the wrong number of parts', () => {
    for (const bad of ['256.0.0.1', '10.077.0.1', '10.77.0', '10.77.0.1.2', '10.77.0.x', ' 10.77.0.1', '']) {
      assert.equal(parseIPv4(bad), null, bad);
    }
  });

  it('parses IPv6 in full, compressed and mixed notation', () => {
    assert.equal(parseIPv6('::'), 0n);
    assert.equal(parseIPv6('::1'), 1n);
    assert.equal(parseIPv6('fd77::1'), (0xfd77n << 112n) | 1n);
    assert.equal(parseIPv6('fd77:0:0:0:0:0:0:1'), (0xfd77n << 112n) | 1n);
    assert.equal(parseIPv6('::ffff:1.2.3.4'), (0xffffn << 32n) | 0x01020304n);
  });

  it('rejects malformed IPv6', () => {
    const bad = [
      'fd77:::1',
      '1::2::3',
      '1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7::8',
      'fd77::12345',
      'fd77::g',
      ':1::',
      'fe80::1%eth0',
      '1.2.3.4::',
      '::1.2.3',
    ];
    for (const text of bad) assert.equal(parseIPv6(text), null, text);
  });

  it('formats IPv6 per RFC 5952: lowercase, shortest, longest zero run compressed', () => {
    assert.equal(canonical('FD77:0000:0:0::0001'), 'fd77::1');
    assert.equal(canonical('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
    assert.equal(canonical('2001:db8:0:1:0:0:0:1'), '2001:db8:0:1::1');
    assert.equal(canonical('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1');
    assert.equal(canonical('0:0:0:0:0:0:0:0'), '::');
    assert.equal(canonical('fd77:0:0:0:0:0:0:0'), 'fd77::');
    assert.equal(canonical('::ffff:c000:201'), '::ffff:192.0.2.1');
  });
});

describe('CIDR prefixes', () => {
  it('parses a prefix into network and length', () => {
    assert.deepEqual(parseCidr('10.77.0.0/24', 4), {
      ok: true,
      cidr: { family: 4, network: 0x0a4d0000n, prefixLength: 24 },
    });
    assert.deepEqual(parseCidr('FD77::/64', 6), {
      ok: true,
      cidr: { family: 6, network: 0xfd77n << 112n, prefixLength: 64 },
    });
  });

  it('explains each way a prefix can be wrong', () => {
    const cases: Array<[string, 4 | 6, string]> = [
      ['10.77.0.0', 4, '"10.77.0.0" is not an IPv4 prefix (expected address/length, e.g. 10.77.0.0/24)'],
      [
        '10.77.0.0/024',
        4,
        '"10.77.0.0/024" is not an IPv4 prefix (expected address/length, e.g. 10.77.0.0/24)',
      ],
      ['fd77::/', 6, '"fd77::/" is not an IPv6 prefix (expected address/length, e.g. fd77::/64)'],
      ['fd77::/64', 4, 'fd77::/64 is an IPv6 prefix, expected IPv4'],
      ['10.77.0.0/33', 4, 'prefix length /33 is out of range 0..32'],
      ['10.77.0.1/24', 4, '10.77.0.1/24 has host bits set; did you mean 10.77.0.0/24?'],
      ['fd77::1/64', 6, 'fd77::1/64 has host bits set; did you mean fd77::/64?'],
    ];
    for (const [text, family, error] of cases)
      assert.deepEqual(parseCidr(text, family), { ok: false, error }, text);
  });

  it('tests containment by prefix bits and family', () => {
    const v4 = cidr('10.77.0.0/24', 4);
    const ip = (t: string) => parseIp(t) ?? assert.fail(t);
    assert.equal(cidrContains(v4, ip('10.77.0.200')), true);
    assert.equal(cidrContains(v4, ip('10.77.1.1')), false);
    assert.equal(cidrContains(v4, ip('::ffff:10.77.0.1')), false);
    assert.equal(cidrContains(cidr('0.0.0.0/0', 4), ip('203.0.113.9')), true);
    assert.equal(cidrContains(cidr('fd77::/64', 6), ip('fd77::abcd')), true);
    assert.equal(cidrContains(cidr('fd77::/64', 6), ip('fd77:0:0:1::1')), false);
  });

  it('reserves the network and broadcast addresses, except in /31 and /32', () => {
    const ip = (t: string) => parseIp(t) ?? assert.fail(t);
    const v4 = cidr('10.77.0.0/24', 4);
    assert.equal(reservedAddressReason(v4, ip('10.77.0.0')), 'is the network address of 10.77.0.0/24');
    assert.equal(reservedAddressReason(v4, ip('10.77.0.255')), 'is the broadcast address of 10.77.0.0/24');
    assert.equal(reservedAddressReason(v4, ip('10.77.0.254')), null);
    assert.equal(reservedAddressReason(cidr('10.77.0.0/31', 4), ip('10.77.0.0')), null);
    assert.equal(reservedAddressReason(cidr('10.77.0.1/32', 4), ip('10.77.0.1')), null);
  });

  it('reserves the IPv6 subnet-router anycast address but not the top of the range', () => {
    const ip = (t: string) => parseIp(t) ?? assert.fail(t);
    const v6 = cidr('fd77::/64', 6);
    assert.equal(
      reservedAddressReason(v6, ip('fd77::')),
      'is the subnet-router anycast address of fd77::/64',
    );
    assert.equal(reservedAddressReason(v6, ip('fd77::ffff:ffff:ffff:ffff')), null);
  });
});
