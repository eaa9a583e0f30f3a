// peers.yaml `subnets:` (the LANs behind members): each rejection with its exact message and line, and
// what a valid list becomes. Two members listing the same prefix are redundant gateways, not an overlap.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/parse.js';
import { assertProblems, KEY1, KEY2, KEY3 } from './config-fixtures.js';

/** Network block on lines 1-4; member i (0-based) starts at line 5 + 4·i, its `subnets` on line 8 + 4·i. */
function withSubnets(...subnets: string[]): string {
  const keys = [KEY1, KEY2, KEY3];
  return [
    'network:',
    '  prefix: 10.77.0.0/24',
    '  prefix6: fd77::/64',
    'peers:',
    ...subnets.flatMap((s, i) => [
      `  - name: m${i + 1}`,
      `    publicKey: ${keys[i]}`,
      `    address: 10.77.0.${i + 1}`,
      `    subnets: ${s}`,
    ]),
    '',
  ].join('\n');
}

describe('peers.yaml subnets', () => {
  it('accepts prefixes of both families and the mapping form with masquerade', () => {
    const config = parseConfig(
      withSubnets('[192.168.50.0/24, fd50::/64]', '[{ prefix: 10.9.0.0/16, masquerade: true }]'),
      'peers.yaml',
    );
    assert.deepEqual(
      config.peers.map((p) => p.subnets),
      [
        [
          { prefix: { address: '192.168.50.0', prefixLength: 24, family: 4 }, masquerade: false, line: 8 },
          { prefix: { address: 'fd50::', prefixLength: 64, family: 6 }, masquerade: false, line: 8 },
        ],
        [{ prefix: { address: '10.9.0.0', prefixLength: 16, family: 4 }, masquerade: true, line: 12 }],
      ],
    );
  });

  it('accepts two members listing exactly the same subnet (redundant gateways)', () => {
    const config = parseConfig(withSubnets('[192.168.50.0/24]', '[192.168.50.0/24]'), 'peers.yaml');
    assert.equal(config.peers[0].subnets[0].prefix.address, '192.168.50.0');
    assert.equal(config.peers[1].subnets[0].prefix.address, '192.168.50.0');
  });

  it('rejects overlap with the overlay prefixes', () => {
    assertProblems(withSubnets('[10.77.0.0/25]', '[fd77::/48]'), [
      'peers.yaml:8: peers[0].subnets[0]: 10.77.0.0/25 overlaps network.prefix 10.77.0.0/24: overlay addresses cannot also be a LAN behind a member',
      'peers.yaml:12: peers[1].subnets[0]: fd77::/48 overlaps network.prefix6 fd77::/64: overlay addresses cannot also be a LAN behind a member',
    ]);
  });

  it("rejects overlap with another member's subnet, naming it and its line", () => {
    assertProblems(withSubnets('[10.9.0.0/16]', '[192.168.50.0/24, 10.9.1.0/24]'), [
      "peers.yaml:12: peers[1].subnets[1]: 10.9.1.0/24 overlaps 10.9.0.0/16 of peers[0] 'm1' (line 8); members may list exactly the same subnet (redundant gateways), not overlapping ones",
    ]);
  });

  it('rejects overlaps and duplicates within one member (one pass over the sorted prefixes)', () => {
    assertProblems(withSubnets('[172.16.0.0/12, 172.16.5.0/24, 10.1.0.0/16, 10.1.0.0/16]'), [
      'peers.yaml:8: peers[0].subnets[3]: duplicate subnet 10.1.0.0/16 (already listed at line 8)',
      'peers.yaml:8: peers[0].subnets[1]: 172.16.5.0/24 overlaps 172.16.0.0/12 of the same member (line 8)',
    ]);
  });

  it("rejects a subnet holding a member's underlay endpoint", () => {
    const text = withSubnets('[192.168.50.0/24]').replace(
      '    subnets:',
      '    endpoints: [192.168.50.9:51820]\n    subnets:',
    );
    assertProblems(text, [
      "peers.yaml:9: peers[0].subnets[0]: 192.168.50.0/24 contains 192.168.50.9, an endpoint of peers[0] 'm1' (line 8): every other member would send m1's underlay packets into the overlay",
    ]);
  });

  it('rejects bad syntax, host bits, a default route and ranges never routed', () => {
    assertProblems(withSubnets('[foo, 10.1.2.3/24, 0.0.0.0/0, 127.0.0.0/8, 10.0.0.0/33, fe80::/64]'), [
      'peers.yaml:8: peers[0].subnets[0]: "foo" is not a prefix (expected address/length, e.g. 192.168.50.0/24 or fd50::/64)',
      'peers.yaml:8: peers[0].subnets[1]: 10.1.2.3/24 has host bits set; did you mean 10.1.2.0/24?',
      'peers.yaml:8: peers[0].subnets[2]: 0.0.0.0/0 is a default route: sending all traffic through one member (an exit node) is not supported',
      'peers.yaml:8: peers[0].subnets[3]: 127.0.0.0/8 overlaps 127.0.0.0/8 (loopback), which is never routed to a member',
      'peers.yaml:8: peers[0].subnets[4]: prefix length /33 is out of range 0..32',
      'peers.yaml:8: peers[0].subnets[5]: fe80::/64 overlaps fe80::/10 (link-local), which is never routed to a member',
    ]);
  });

  it('checks the fields of the mapping form', () => {
    assertProblems(
      withSubnets(
        '[{ prefix: 10.9.0.0/16, masquerade: yes }, { masquerade: true }, { prefix: 10.8.0.0/16, nat: 1 }]',
      ),
      [
        'peers.yaml:8: peers[0].subnets[0].masquerade: must be true or false, got the string "yes"',
        'peers.yaml:8: peers[0].subnets[1].prefix: required field is missing',
        "peers.yaml:8: peers[0].subnets[2].nat: unknown field 'nat' (allowed: prefix, masquerade)",
      ],
    );
  });

  it('rejects subnets that is not a list', () => {
    assertProblems(withSubnets('192.168.50.0/24'), [
      'peers.yaml:8: peers[0].subnets: expected a list, got the string "192.168.50.0/24" (e.g. 192.168.50.0/24 or fd50::/64)',
    ]);
  });

  it('rejects an eighth subnet of one family for one member (the native checks hold 7 + the own address)', () => {
    const v4 = Array.from({ length: 8 }, (_, i) => `192.168.${i}.0/24`);
    const v6 = Array.from({ length: 7 }, (_, i) => `fd5${i}::/64`);
    assertProblems(withSubnets(`[${[...v4, ...v6].join(', ')}]`), [
      'peers.yaml:8: peers[0].subnets[7]: more than 7 IPv4 subnets for one member (join adjacent LANs into one wider prefix)',
    ]);
  });
});
