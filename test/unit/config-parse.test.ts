// What a valid peers.yaml turns into: defaults, canonical forms, derived fields.
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config/config-error.js';
import { parseConfig } from '../../src/config/parse.js';
import { isOverlayError } from '../../src/errors.js';
import { nodeIdFromPublicKey } from '../../src/identity/node-id.js';
import { KEY1, KEY2, KEY3 } from './config-fixtures.js';

const FULL = `# three members, every field used
network:
  prefix: 10.77.0.0/24
  prefix6: FD77:0:0:0::/64
  port: 7000
  mtu: 1400
peers:
  - name: Belmont
    publicKey: ${KEY1}
    address: 10.77.0.1
    address6: FD77:0::0001
    endpoints: [198.51.100.7:7946, "[2001:DB8:0::7]:7946", Site-B.Example.net:7001, 203.0.113.9, "[2001:db8::9]"]
  - name: b
    publicKey: " ${KEY2} "
    address: 10.77.0.2
    endpoints:
      - gw.example.net
  - name: c.site_3
    publicKey: ${KEY3}
    address: 10.77.0.3
`;

const MINIMAL = `network:
  prefix: 10.77.0.0/24
peers:
  - name: a
    publicKey: ${KEY1}
    address: 10.77.0.1
`;

describe('parseConfig on a valid file', () => {
  it('applies the default port and MTU and leaves prefix6 out when not set', () => {
    const cfg = parseConfig(MINIMAL, 'peers.yaml');
    assert.deepEqual(cfg.network, {
      prefix: { address: '10.77.0.0', prefixLength: 24, family: 4 },
      port: 7946,
      mtu: 1380,
    });
    assert.equal('prefix6' in cfg.network, false);
    assert.deepEqual(cfg.peers[0]?.endpoints, []);
    assert.equal('address6' in (cfg.peers[0] ?? {}), false);
  });

  it('records the absolute path of the file', () => {
    assert.equal(parseConfig(MINIMAL, 'peers.yaml').file, resolve('peers.yaml'));
    assert.equal(parseConfig(MINIMAL, '/etc/overlayd/peers.yaml').file, '/etc/overlayd/peers.yaml');
  });

  it('keeps the written network values and puts prefixes in canonical form', () => {
    const { network } = parseConfig(FULL, 'peers.yaml');
    assert.deepEqual(network, {
      prefix: { address: '10.77.0.0', prefixLength: 24, family: 4 },
      prefix6: { address: 'fd77::', prefixLength: 64, family: 6 },
      port: 7000,
      mtu: 1400,
    });
  });

  it('derives key bytes, key text and node id for each member, in file order', () => {
    const { peers } = parseConfig(FULL, 'peers.yaml');
    assert.deepEqual(
      peers.map((p) => p.name),
      ['Belmont', 'b', 'c.site_3'],
    );
    for (const [i, key] of [KEY1, KEY2, KEY3].entries()) {
      const peer = peers[i];
      assert.ok(peer);
      assert.equal(peer.publicKeyText, key, 'surrounding whitespace is dropped');
      assert.deepEqual(peer.publicKey, Buffer.from(key, 'base64'));
      assert.equal(peer.id, nodeIdFromPublicKey(peer.publicKey));
    }
  });

  it('normalises addresses and endpoints, using network.port when an endpoint has none', () => {
    const [a, b] = parseConfig(FULL, 'peers.yaml').peers;
    assert.equal(a?.address, '10.77.0.1');
    assert.equal(a?.address6, 'fd77::1');
    assert.deepEqual(a?.endpoints, [
      { host: '198.51.100.7', port: 7946, line: 12 },
      { host: '2001:db8::7', port: 7946, line: 12 },
      { host: 'site-b.example.net', port: 7001, line: 12 },
      { host: '203.0.113.9', port: 7000, line: 12 },
      { host: '2001:db8::9', port: 7000, line: 12 },
    ]);
    assert.deepEqual(b?.endpoints, [{ host: 'gw.example.net', port: 7000, line: 17 }]);
  });

  it('follows YAML aliases', () => {
    const text = `network:
  prefix: 10.77.0.0/24
peers:
  - name: a
    publicKey: ${KEY1}
    address: 10.77.0.1
    endpoints: &shared [gw.example.net:7000]
  - name: b
    publicKey: ${KEY2}
    address: 10.77.0.2
    endpoints: *shared
`;
    const [a, b] = parseConfig(text, 'peers.yaml').peers;
    assert.deepEqual(b?.endpoints, a?.endpoints);
    assert.equal(b?.endpoints[0]?.host, 'gw.example.net');
  });
});

describe('parseConfig errors', () => {
  it('throws an OverlayError ERR_CONFIG that carries the problems as data', () => {
    let caught: unknown;
    try {
      parseConfig(`${MINIMAL.replace('10.77.0.1', '10.77.0.0')}extra: 1\n`, 'x.yaml');
    } catch (err) {
      caught = err;
    }
    assert.ok(isOverlayError(caught, 'ERR_CONFIG'));
    assert.ok(caught instanceof ConfigError);
    assert.deepEqual(caught.problems, [
      { line: 6, field: 'peers[0].address', message: '10.77.0.0 is the network address of 10.77.0.0/24' },
      { line: 7, field: 'extra', message: "unknown field 'extra' (allowed: network, peers)" },
    ]);
    assert.equal(
      caught.message,
      [
        'x.yaml:6: peers[0].address: 10.77.0.0 is the network address of 10.77.0.0/24',
        "x.yaml:7: extra: unknown field 'extra' (allowed: network, peers)",
      ].join('\n'),
    );
  });
});
