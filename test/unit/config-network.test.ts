// The top level and the `network:` block of peers.yaml: each rejection with its exact message.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_NEIGHBOURS, probedNeighbours } from '../../src/config/neighbours.js';
import { parseConfig } from '../../src/config/parse.js';
import { assertProblems, KEY1 } from './config-fixtures.js';

/** A file whose network block holds `fields` (from line 2) and one valid member. */
function withNetwork(...fields: string[]): string {
  const network = fields.map((f) => `  ${f}\n`).join('');
  return `network:\n${network}peers:\n  - name: a\n    publicKey: ${KEY1}\n    address: 10.77.0.1\n`;
}

describe('peers.yaml top level', () => {
  it('rejects an empty file', () => {
    assertProblems('', [
      "peers.yaml:1: the file is empty; expected a mapping with 'network' and 'peers' at the top level",
    ]);
  });

  it('rejects a top level that is not a mapping', () => {
    assertProblems('# members\n- a\n- b\n', [
      "peers.yaml:2: expected a mapping with 'network' and 'peers' at the top level, got a list",
    ]);
  });

  it('reports YAML syntax errors with their line', () => {
    assertProblems('network:\n  prefix: 10.77.0.0/24\npeers: [a, b\n', [
      'peers.yaml:4: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
  });

  it('reports missing network and peers', () => {
    assertProblems('# nothing useful\nfoo: 1\n', [
      "peers.yaml:2: foo: unknown field 'foo' (allowed: network, peers)",
      'peers.yaml:2: network: required field is missing',
      'peers.yaml:2: peers: required field is missing',
    ]);
  });

  it('rejects a network that is not a mapping', () => {
    assertProblems(
      `network: 10.77.0.0/24\npeers:\n  - name: a\n    publicKey: ${KEY1}\n    address: 10.77.0.1\n`,
      ['peers.yaml:1: network: expected a mapping, got the string "10.77.0.0/24"'],
    );
  });

  it('names the allowed fields for an unknown network field', () => {
    assertProblems(withNetwork('prefix: 10.77.0.0/24', 'mtu: 1400', 'Port: 7000'), [
      "peers.yaml:4: network.Port: unknown field 'Port'; did you mean 'port'? (allowed: prefix, prefix6, port, mtu, neighbours, tcpPort, tls, natKeepalive, mssClamp)",
    ]);
  });

  it('rejects a field written twice, naming the first', () => {
    assertProblems(withNetwork('prefix: 10.77.0.0/24', 'port: 7000', 'port: 7001'), [
      "peers.yaml:4: network.port: field 'port' appears twice (first at line 3)",
    ]);
  });
});

describe('network block', () => {
  it('requires a prefix', () => {
    assertProblems(withNetwork('port: 7000'), ['peers.yaml:1: network.prefix: required field is missing']);
  });

  it('rejects a prefix that is not a CIDR', () => {
    assertProblems(withNetwork('prefix: 10.77.0.0'), [
      'peers.yaml:2: network.prefix: "10.77.0.0" is not an IPv4 prefix (expected address/length, e.g. 10.77.0.0/24)',
    ]);
  });

  it('rejects a prefix that has no value', () => {
    assertProblems(withNetwork('prefix:'), ['peers.yaml:2: network.prefix: has no value']);
  });

  it('rejects an IPv6 prefix in network.prefix and an IPv4 one in network.prefix6', () => {
    assertProblems(withNetwork('prefix: fd77::/64', 'prefix6: 10.77.0.0/24'), [
      'peers.yaml:2: network.prefix: fd77::/64 is an IPv6 prefix, expected IPv4 (an IPv6 prefix goes in network.prefix6)',
      'peers.yaml:3: network.prefix6: 10.77.0.0/24 is an IPv4 prefix, expected IPv6',
    ]);
  });

  it('rejects prefixes with host bits set, suggesting the network', () => {
    assertProblems(withNetwork('prefix: 10.77.0.1/24', 'prefix6: fd77::1/64'), [
      'peers.yaml:2: network.prefix: 10.77.0.1/24 has host bits set; did you mean 10.77.0.0/24?',
      'peers.yaml:3: network.prefix6: fd77::1/64 has host bits set; did you mean fd77::/64?',
    ]);
  });

  it('rejects a port that is not an integer in 1..65535', () => {
    assertProblems(withNetwork('prefix: 10.77.0.0/24', 'port: 0'), [
      'peers.yaml:3: network.port: must be an integer from 1 to 65535, got 0',
    ]);
    assertProblems(withNetwork('prefix: 10.77.0.0/24', 'port: 65536'), [
      'peers.yaml:3: network.port: must be an integer from 1 to 65535, got 65536',
    ]);
    assertProblems(withNetwork('prefix: 10.77.0.0/24', 'port: 7946.5'), [
      'peers.yaml:3: network.port: must be an integer from 1 to 65535, got 7946.5',
    ]);
    assertProblems(withNetwork('prefix: 10.77.0.0/24', 'port: "7946"'), [
      'peers.yaml:3: network.port: must be an integer from 1 to 65535, got the string "7946"',
    ]);
  });

  it('rejects an MTU outside 1280..9000', () => {
    assertProblems(withNetwork('prefix: 10.77.0.0/24', 'mtu: 1279'), [
      'peers.yaml:3: network.mtu: must be an integer from 1280 to 9000, got 1279',
    ]);
    assertProblems(withNetwork('prefix: 10.77.0.0/24', 'prefix6: fd77::/64', 'mtu: 9001'), [
      'peers.yaml:4: network.mtu: must be an integer from 1280 to 9000, got 9001',
    ]);
    assertProblems(withNetwork('prefix: 10.77.0.0/24', 'mtu:'), [
      'peers.yaml:3: network.mtu: must be an integer from 1280 to 9000, got no value',
    ]);
  });

  it('accepts the MTU bounds themselves', () => {
    assert.equal(parseConfig(withNetwork('prefix: 10.77.0.0/24', 'mtu: 1280'), 'p.yaml').network.mtu, 1280);
    assert.equal(parseConfig(withNetwork('prefix: 10.77.0.0/24', 'mtu: 9000'), 'p.yaml').network.mtu, 9000);
  });

  it('reads network.neighbours (0 = probe every member) and rejects values outside 0..1000', () => {
    const parsed = (v: string): number | undefined =>
      parseConfig(withNetwork('prefix: 10.77.0.0/24', `neighbours: ${v}`), 'p.yaml').network.neighbours;
    assert.equal(parsed('0'), 0);
    assert.equal(parsed('12'), 12);
    assert.equal(parseConfig(withNetwork('prefix: 10.77.0.0/24'), 'p.yaml').network.neighbours, undefined);
    assertProblems(withNetwork('prefix: 10.77.0.0/24', 'neighbours: -1'), [
      'peers.yaml:3: network.neighbours: must be an integer from 0 to 1000, got -1',
    ]);
    assertProblems(withNetwork('prefix: 10.77.0.0/24', 'neighbours: all'), [
      'peers.yaml:3: network.neighbours: must be an integer from 0 to 1000, got the string "all"',
    ]);
  });

  it('defaults to all pairs up to 2K + 1 members and to K chosen neighbours beyond', () => {
    assert.equal(probedNeighbours(undefined, 3), 0);
    assert.equal(probedNeighbours(undefined, 2 * DEFAULT_NEIGHBOURS + 1), 0);
    assert.equal(probedNeighbours(undefined, 2 * DEFAULT_NEIGHBOURS + 2), DEFAULT_NEIGHBOURS);
    assert.equal(probedNeighbours(undefined, 1000), DEFAULT_NEIGHBOURS);
    assert.equal(probedNeighbours(0, 1000), 0, 'an explicit 0 probes everyone');
    assert.equal(probedNeighbours(4, 3), 4);
  });

  it('reports every network problem at once, sorted by line', () => {
    const err = assertProblems(withNetwork('mtu: 100', 'port: -1', 'prefix: 10.77.0.0/33'), [
      'peers.yaml:2: network.mtu: must be an integer from 1280 to 9000, got 100',
      'peers.yaml:3: network.port: must be an integer from 1 to 65535, got -1',
      'peers.yaml:4: network.prefix: prefix length /33 is out of range 0..32',
    ]);
    assert.deepEqual(err.problems[1], {
      line: 3,
      field: 'network.port',
      message: 'must be an integer from 1 to 65535, got -1',
    });
  });
});

describe('network.tcpPort and network.tls (WebSocket transport)', () => {
  it('takes tcpPort 0..65535 and a tls block with cert and key', () => {
    const c = parseConfig(
      withNetwork('prefix: 10.77.0.0/24', 'tcpPort: 443', 'tls: { cert: tls.crt, key: tls.key }'),
      'peers.yaml',
    );
    assert.equal(c.network.tcpPort, 443);
    assert.deepEqual(c.network.tls, { cert: 'tls.crt', key: 'tls.key' });
    const d = parseConfig(withNetwork('prefix: 10.77.0.0/24'), 'peers.yaml');
    assert.equal(d.network.tcpPort, undefined);
    assert.equal(
      parseConfig(withNetwork('prefix: 10.77.0.0/24', 'tcpPort: 0'), 'peers.yaml').network.tcpPort,
      0,
    );
  });

  it('rejects a bad tcpPort and an incomplete tls block', () => {
    assertProblems(withNetwork('prefix: 10.77.0.0/24', 'tcpPort: 70000'), [
      'peers.yaml:3: network.tcpPort: must be an integer from 0 to 65535, got 70000',
    ]);
    assertProblems(withNetwork('prefix: 10.77.0.0/24', 'tls: { cert: tls.crt }'), [
      'peers.yaml:3: network.tls.key: required field is missing',
    ]);
  });
});

describe('network.mssClamp', () => {
  it('is off unless set to true', () => {
    assert.equal(parseConfig(withNetwork('prefix: 10.77.0.0/24'), 'p.yaml').network.mssClamp, undefined);
    const on = parseConfig(withNetwork('prefix: 10.77.0.0/24', 'mssClamp: true'), 'p.yaml');
    assert.equal(on.network.mssClamp, true);
  });

  it('must be a boolean', () => {
    assert.throws(
      () => parseConfig(withNetwork('prefix: 10.77.0.0/24', 'mssClamp: 1'), 'p.yaml'),
      /mssClamp/,
    );
  });
});
