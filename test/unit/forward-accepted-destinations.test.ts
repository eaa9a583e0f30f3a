import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AcceptedDestinations } from '../../src/forward/accepted-destinations.js';
import { ipv4ToNumber, ipv6ToKey } from '../../src/forward/ip-packet.js';

test('by default only the node’s own overlay addresses are accepted', () => {
  const d = AcceptedDestinations.ownAddresses({
    addr4: ipv4ToNumber('10.77.0.3'),
    addr6Key: ipv6ToKey('fd77::3'),
  });
  assert.equal(d.acceptsIpv4(ipv4ToNumber('10.77.0.3')), true);
  for (const other of ['10.77.0.4', '10.77.0.255', '192.168.1.1', '127.0.0.1', '224.0.0.1'])
    assert.equal(d.acceptsIpv4(ipv4ToNumber(other)), false, other);
  assert.equal(d.acceptsIpv6(ipv6ToKey('fd77::3')), true);
  for (const other of ['fd77::4', 'fe80::1', 'ff02::1', '::1'])
    assert.equal(d.acceptsIpv6(ipv6ToKey(other)), false, other);
});

test('prefixes can be added (declared subnets, later)', () => {
  const d = new AcceptedDestinations();
  d.addIpv4(ipv4ToNumber('192.168.8.0'), 22);
  assert.equal(d.acceptsIpv4(ipv4ToNumber('192.168.11.200')), true);
  assert.equal(d.acceptsIpv4(ipv4ToNumber('192.168.12.1')), false);
  d.addIpv6(ipv6ToKey('2001:db8:ab00::'), 40);
  assert.equal(d.acceptsIpv6(ipv6ToKey('2001:db8:abff::1')), true);
  assert.equal(d.acceptsIpv6(ipv6ToKey('2001:db8:ac00::1')), false);
});
