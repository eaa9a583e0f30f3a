import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffConfig } from '../../src/config/diff.js';
import { parseConfig } from '../../src/config/parse.js';
import type { OverlayConfig } from '../../src/config/types.js';
import { KEY1, KEY2, KEY3 } from './config-fixtures.js';

const NETWORK = 'network:\n  prefix: 10.77.0.0/24\n  prefix6: fd77::/64\n';

function config(peers: string, network = NETWORK): OverlayConfig {
  return parseConfig(`${network}peers:\n${peers}`, 'peers.yaml');
}

function peer(name: string, key: string, address: string, ...extra: string[]): string {
  return [
    `  - name: ${name}`,
    `    publicKey: ${key}`,
    `    address: ${address}`,
    ...extra.map((l) => `    ${l}`),
    '',
  ].join('\n');
}

const names = (peers: { name: string }[]): string[] => peers.map((p) => p.name);

describe('diffConfig', () => {
  const base = config(
    peer('a', KEY1, '10.77.0.1', 'endpoints: [198.51.100.1]') + peer('b', KEY2, '10.77.0.2'),
  );

  it('finds nothing to do when only layout, comments and endpoint spelling differ', () => {
    const same = config(
      `  # first member\n${peer('a', KEY1, '10.77.0.1', 'endpoints:', '  - 198.51.100.1:7946')}${peer('b', KEY2, '10.77.0.2')}`,
    );
    assert.deepEqual(diffConfig(base, same), { added: [], removed: [], changed: [], networkChanged: [] });
  });

  it('matches members by public key: new keys are added, missing keys removed', () => {
    const next = config(peer('b', KEY2, '10.77.0.2') + peer('c', KEY3, '10.77.0.3'));
    const diff = diffConfig(base, next);
    assert.deepEqual(names(diff.added), ['c']);
    assert.deepEqual(names(diff.removed), ['a']);
    assert.deepEqual(diff.changed, []);
  });

  it('reports a member as changed, with its new entry, when name, addresses or endpoints differ', () => {
    const cases = [
      peer('a2', KEY1, '10.77.0.1', 'endpoints: [198.51.100.1]'),
      peer('a', KEY1, '10.77.0.9', 'endpoints: [198.51.100.1]'),
      peer('a', KEY1, '10.77.0.1', 'address6: fd77::1', 'endpoints: [198.51.100.1]'),
      peer('a', KEY1, '10.77.0.1', 'endpoints: [198.51.100.1:7000]'),
      peer('a', KEY1, '10.77.0.1', 'endpoints: [198.51.100.1, gw.example.net]'),
      peer('a', KEY1, '10.77.0.1'),
    ];
    for (const entry of cases) {
      const next = config(entry + peer('b', KEY2, '10.77.0.2'));
      const diff = diffConfig(base, next);
      assert.equal(diff.changed.length, 1, entry);
      assert.equal(diff.changed[0], next.peers[0], 'the new entry is returned');
      assert.deepEqual([diff.added, diff.removed], [[], []], entry);
    }
  });

  it('treats a re-keyed member as removed and added', () => {
    const next = config(
      peer('a', KEY3, '10.77.0.1', 'endpoints: [198.51.100.1]') + peer('b', KEY2, '10.77.0.2'),
    );
    const diff = diffConfig(base, next);
    assert.deepEqual([names(diff.added), names(diff.removed), diff.changed], [['a'], ['a'], []]);
  });

  it('lists each network field that differs', () => {
    const peers = peer('a', KEY1, '10.77.0.1');
    const old = config(peers);
    const next = config(
      peers,
      'network:\n  prefix: 10.77.0.0/23\n  port: 7000\n  mtu: 1400\n  neighbours: 4\n',
    );
    assert.deepEqual(diffConfig(old, next).networkChanged, [
      'prefix',
      'prefix6',
      'port',
      'mtu',
      'neighbours',
    ]);
    assert.deepEqual(
      diffConfig(old, config(peers, `${NETWORK}  port: 7946\n  mtu: 1380\n`)).networkChanged,
      [],
    );
  });
});

describe('diffConfig with subnets', () => {
  const withLan = (...subnets: string[]): OverlayConfig =>
    config(peer('a', KEY1, '10.77.0.1') + peer('b', KEY2, '10.77.0.2', `subnets: [${subnets.join(', ')}]`));

  it('counts a member whose subnets or masquerade changed as changed, not their order', () => {
    const base = withLan('192.168.50.0/24', '10.9.0.0/16');
    assert.deepEqual(diffConfig(base, withLan('10.9.0.0/16', '192.168.50.0/24')).changed, []);
    assert.deepEqual(names(diffConfig(base, withLan('192.168.50.0/24')).changed), ['b']);
    assert.deepEqual(
      names(
        diffConfig(base, withLan('192.168.50.0/24', '{ prefix: 10.9.0.0/16, masquerade: true }')).changed,
      ),
      ['b'],
    );
  });
});
