// Valid files that probably won't work as meant: `check` prints these, the daemon logs them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/parse.js';
import { configWarnings, formatWarning } from '../../src/config/warnings.js';
import { KEY1, KEY2, KEY3 } from './config-fixtures.js';

const file = (...peers: Array<[string, string, string]>): string =>
  ['network:', '  prefix: 10.77.0.0/24', 'peers:']
    .concat(
      peers.flatMap(([name, key, endpoints], i) => [
        `  - name: ${name}`,
        `    publicKey: ${key}`,
        `    address: 10.77.0.${i + 1}`,
        `    endpoints: ${endpoints}`,
      ]),
    )
    .join('\n') + '\n';

const warnings = (text: string): string[] =>
  configWarnings(parseConfig(text, 'peers.yaml')).map((w) => formatWarning('peers.yaml', w));

describe('config warnings', () => {
  it('none for a usual file', () => {
    assert.deepEqual(warnings(file(['a', KEY1, '[198.51.100.1]'], ['b', KEY2, '[]'])), []);
  });

  it('no member with an endpoint: nobody can start a conversation', () => {
    assert.deepEqual(warnings(file(['a', KEY1, '[]'], ['b', KEY2, '[]'])), [
      'peers.yaml: warning: no member lists an endpoint, so no member can contact another: give at least ' +
        'one member (one with a public address or a forwarded UDP port) its host:port under endpoints',
    ]);
    assert.deepEqual(warnings(file(['solo', KEY1, '[]'])), [], 'a network of one has nobody to contact');
  });

  it('two members at one host:port, however written', () => {
    const w = warnings(
      file(
        ['a', KEY1, '[198.51.100.1:7946]'],
        ['b', KEY2, '["[2001:db8::1]"]'],
        ['c', KEY3, '[198.51.100.1, "[2001:DB8::1]:7946"]'],
      ),
    );
    assert.deepEqual(w, [
      "peers.yaml:15: warning: peers[2].endpoints[0]: 198.51.100.1:7946 is also an endpoint of 'a' (line 7); " +
        "one UDP port reaches one daemon, so 'c' and 'a' cannot both be there",
      "peers.yaml:15: warning: peers[2].endpoints[1]: [2001:db8::1]:7946 is also an endpoint of 'b' (line 11); " +
        "one UDP port reaches one daemon, so 'c' and 'b' cannot both be there",
    ]);
  });

  it('two members behind one address on different ports are fine', () => {
    assert.deepEqual(
      warnings(file(['a', KEY1, '[198.51.100.1:7946]'], ['b', KEY2, '[198.51.100.1:7947]'])),
      [],
    );
  });
});
