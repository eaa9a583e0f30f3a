// The `peers:` list of peers.yaml: each rejection with its exact message and line.
import { describe, it } from 'node:test';
import { assertProblems, KEY1, KEY2, KEY3 } from './config-fixtures.js';

/** Network block on lines 1-4 (with prefix6); `peers` lines start at line 5. */
function withPeers(...lines: string[]): string {
  return ['network:', '  prefix: 10.77.0.0/24', '  prefix6: fd77::/64', 'peers:', ...lines, ''].join('\n');
}

/** A valid member entry (3 lines) followed by `extra` field lines. */
function member(name: string, key: string, address: string, ...extra: string[]): string[] {
  return [
    `  - name: ${name}`,
    `    publicKey: ${key}`,
    `    address: ${address}`,
    ...extra.map((l) => `    ${l}`),
  ];
}

describe('peers list', () => {
  it('rejects an empty list', () => {
    assertProblems(withPeers().replace('peers:', 'peers: []'), [
      'peers.yaml:4: peers: must list at least one member',
    ]);
  });

  it('rejects peers that is not a list', () => {
    assertProblems(withPeers('  belmont:', `    publicKey: ${KEY1}`), [
      "peers.yaml:4: peers: expected a list, got a mapping; write each member as an item starting with '- name: '",
    ]);
  });

  it('rejects an entry that is not a mapping', () => {
    assertProblems(withPeers(...member('a', KEY1, '10.77.0.1'), '  - belmont'), [
      'peers.yaml:8: peers[1]: expected a mapping with name, publicKey, address, got the string "belmont"',
    ]);
  });

  it('reports required fields missing at the line of the entry', () => {
    assertProblems(withPeers('  - endpoints: []'), [
      'peers.yaml:5: peers[0].name: required field is missing',
      'peers.yaml:5: peers[0].publicKey: required field is missing',
      'peers.yaml:5: peers[0].address: required field is missing',
    ]);
  });

  it('names the allowed fields for an unknown member field', () => {
    assertProblems(withPeers(...member('a', KEY1, '10.77.0.1', 'endpoint: 198.51.100.7')), [
      "peers.yaml:8: peers[0].endpoint: unknown field 'endpoint' (allowed: name, publicKey, address, address6, endpoints)",
    ]);
  });
});

describe('member name', () => {
  const rule = "(use 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit)";

  it('rejects names outside [a-z0-9][a-z0-9._-]{0,62}, saying what is allowed', () => {
    assertProblems(
      withPeers(
        ...member('"site a"', KEY1, '10.77.0.1'),
        ...member('-b', KEY2, '10.77.0.2'),
        ...member('c'.repeat(64), KEY3, '10.77.0.3'),
      ),
      [
        `peers.yaml:5: peers[0].name: "site a" is not a valid name ${rule}`,
        `peers.yaml:8: peers[1].name: "-b" is not a valid name ${rule}`,
        `peers.yaml:11: peers[2].name: "${'c'.repeat(64)}" is not a valid name ${rule}`,
      ],
    );
  });

  it('rejects a name that YAML reads as a number', () => {
    assertProblems(withPeers(...member('007', KEY1, '10.77.0.1')), [
      'peers.yaml:5: peers[0].name: expected a string, got 7 (quote it if it is meant as text)',
    ]);
  });

  it('rejects a duplicate name, ignoring case, naming the line of the first', () => {
    assertProblems(
      withPeers(
        ...member('belmont', KEY1, '10.77.0.1'),
        ...member('belmont', KEY2, '10.77.0.2'),
        ...member('Belmont', KEY3, '10.77.0.3'),
      ),
      [
        "peers.yaml:8: peers[1].name: duplicate name 'belmont' (already used by peers[0] at line 5)",
        "peers.yaml:11: peers[2].name: duplicate name 'Belmont' (already used by peers[0] at line 5 as 'belmont'; names are compared ignoring case)",
      ],
    );
  });
});

describe('member public key', () => {
  it('rejects a key that is not base64', () => {
    assertProblems(withPeers(...member('a', 'not-a-key!', '10.77.0.1')), [
      'peers.yaml:6: peers[0].publicKey: not a base64-encoded 32-byte key',
    ]);
  });

  it('rejects a key with a typo that lenient base64 decoding would hide', () => {
    // Swap one character for '.', which Buffer.from('...', 'base64') would silently skip.
    const typo = `${KEY1.slice(0, 10)}.${KEY1.slice(11)}`;
    assertProblems(withPeers(...member('a', typo, '10.77.0.1')), [
      'peers.yaml:6: peers[0].publicKey: not a base64-encoded 32-byte key',
    ]);
  });

  it('rejects a key of the wrong length', () => {
    const short = Buffer.alloc(16, 7).toString('base64');
    assertProblems(withPeers(...member('a', short, '10.77.0.1')), [
      'peers.yaml:6: peers[0].publicKey: not a base64-encoded 32-byte key: it decodes to 16 bytes',
    ]);
  });

  it('rejects a key listed twice', () => {
    assertProblems(withPeers(...member('a', KEY1, '10.77.0.1'), ...member('b', KEY1, '10.77.0.2')), [
      "peers.yaml:9: peers[1].publicKey: duplicate key (already used by peers[0] 'a' at line 6)",
    ]);
  });

  it('rejects two keys whose node ids collide', () => {
    // Real 32-bit collisions cannot be found in a unit test; a constant id function makes one.
    assertProblems(
      withPeers(...member('a', KEY1, '10.77.0.1'), ...member('b', KEY2, '10.77.0.2')),
      [
        "peers.yaml:9: peers[1].publicKey: node id 0000002a collides with peers[0] 'a' (line 6); generate a new key for one of them",
      ],
      { nodeIdOf: () => 42 },
    );
  });
});

describe('member addresses', () => {
  it('rejects an address that is not IPv4, hinting at address6 for IPv6', () => {
    assertProblems(withPeers(...member('a', KEY1, 'fd77::1'), ...member('b', KEY2, '10.77.0.300')), [
      'peers.yaml:7: peers[0].address: "fd77::1" is not an IPv4 address (an IPv6 address goes in address6)',
      'peers.yaml:10: peers[1].address: "10.77.0.300" is not an IPv4 address',
    ]);
  });

  it('rejects an address outside the prefix', () => {
    assertProblems(withPeers(...member('a', KEY1, '10.77.1.1')), [
      'peers.yaml:7: peers[0].address: 10.77.1.1 is outside network.prefix 10.77.0.0/24',
    ]);
  });

  it('rejects the network and broadcast addresses of the prefix', () => {
    assertProblems(withPeers(...member('a', KEY1, '10.77.0.0'), ...member('b', KEY2, '10.77.0.255')), [
      'peers.yaml:7: peers[0].address: 10.77.0.0 is the network address of 10.77.0.0/24',
      'peers.yaml:10: peers[1].address: 10.77.0.255 is the broadcast address of 10.77.0.0/24',
    ]);
  });

  it('rejects a duplicate address', () => {
    assertProblems(withPeers(...member('a', KEY1, '10.77.0.1'), ...member('b', KEY2, '10.77.0.1')), [
      "peers.yaml:10: peers[1].address: duplicate address 10.77.0.1 (already used by peers[0] 'a' at line 7)",
    ]);
  });

  it('rejects address6 when the network has no prefix6', () => {
    const text = withPeers(...member('a', KEY1, '10.77.0.1', 'address6: fd77::1')).replace(
      '  prefix6: fd77::/64\n',
      '',
    );
    assertProblems(text, ['peers.yaml:7: peers[0].address6: not allowed: network.prefix6 is not set']);
  });

  it('rejects address6 that is not IPv6, outside prefix6, or the anycast address', () => {
    assertProblems(
      withPeers(
        ...member('a', KEY1, '10.77.0.1', 'address6: 10.77.0.1'),
        ...member('b', KEY2, '10.77.0.2', 'address6: fd78::2'),
        ...member('c', KEY3, '10.77.0.3', 'address6: "fd77::"'),
      ),
      [
        'peers.yaml:8: peers[0].address6: "10.77.0.1" is not an IPv6 address',
        'peers.yaml:12: peers[1].address6: fd78::2 is outside network.prefix6 fd77::/64',
        'peers.yaml:16: peers[2].address6: fd77:: is the subnet-router anycast address of fd77::/64',
      ],
    );
  });

  it('finds a duplicate address6 written in a different form', () => {
    assertProblems(
      withPeers(
        ...member('a', KEY1, '10.77.0.1', 'address6: fd77::1'),
        ...member('b', KEY2, '10.77.0.2', 'address6: FD77:0:0::0001'),
      ),
      [
        "peers.yaml:12: peers[1].address6: duplicate address fd77::1 (already used by peers[0] 'a' at line 8)",
      ],
    );
  });
});

describe('member endpoints', () => {
  it('rejects endpoints that is not a list', () => {
    assertProblems(withPeers(...member('a', KEY1, '10.77.0.1', 'endpoints: 198.51.100.7')), [
      'peers.yaml:8: peers[0].endpoints: expected a list, got the string "198.51.100.7"',
    ]);
  });

  it('reports each malformed endpoint with its index and line', () => {
    assertProblems(
      withPeers(
        ...member('a', KEY1, '10.77.0.1', 'endpoints:'),
        '      - ""',
        '      - 198.51.100.7:0',
        '      - 198.51.100.7:99999',
        '      - "[2001:db8::7:7946"',
        '      - bad_host.example.net',
        '      - 7946',
      ),
      [
        'peers.yaml:9: peers[0].endpoints[0]: "": empty endpoint',
        'peers.yaml:10: peers[0].endpoints[1]: "198.51.100.7:0": port 0 is out of range 1..65535',
        'peers.yaml:11: peers[0].endpoints[2]: "198.51.100.7:99999": port 99999 is out of range 1..65535',
        `peers.yaml:12: peers[0].endpoints[3]: "[2001:db8::7:7946": unbalanced '['; write IPv6 endpoints as [address]:port`,
        `peers.yaml:13: peers[0].endpoints[4]: "bad_host.example.net": host name "bad_host.example.net" may only contain letters, digits, '-' and '.'`,
        'peers.yaml:14: peers[0].endpoints[5]: expected a string, got 7946 (quote it if it is meant as text)',
      ],
    );
  });

  it('rejects the same endpoint twice in one member, even when written differently', () => {
    assertProblems(
      withPeers(
        ...member(
          'a',
          KEY1,
          '10.77.0.1',
          'endpoints: [198.51.100.7, "198.51.100.7:7946", "[2001:db8::7]", "[2001:DB8::7]:7946"]',
        ),
      ),
      [
        'peers.yaml:8: peers[0].endpoints[1]: duplicate endpoint 198.51.100.7:7946 (same as peers[0].endpoints[0] at line 8)',
        'peers.yaml:8: peers[0].endpoints[3]: duplicate endpoint [2001:db8::7]:7946 (same as peers[0].endpoints[2] at line 8)',
      ],
    );
  });
});

describe('whole file', () => {
  it('reports problems from every member and the network together, sorted by line', () => {
    const text = [
      'peers:',
      ...member('a', 'xyz', '10.77.0.1'),
      ...member('a', KEY2, '10.77.9.2'),
      'network:',
      '  prefix: 10.77.0.0/24',
      '  mtu: 100',
    ].join('\n');
    assertProblems(text, [
      'peers.yaml:3: peers[0].publicKey: not a base64-encoded 32-byte key',
      "peers.yaml:5: peers[1].name: duplicate name 'a' (already used by peers[0] at line 2)",
      'peers.yaml:7: peers[1].address: 10.77.9.2 is outside network.prefix 10.77.0.0/24',
      'peers.yaml:10: network.mtu: must be an integer from 1280 to 9000, got 100',
    ]);
  });
});
