import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/parse.js';
import { findSelf } from '../../src/config/self.js';
import { isOverlayError } from '../../src/errors.js';
import { KEY1, KEY2, KEY3 } from './config-fixtures.js';

const config = parseConfig(
  `network:
  prefix: 10.77.0.0/24
peers:
  - name: a
    publicKey: ${KEY1}
    address: 10.77.0.1
  - name: b
    publicKey: ${KEY2}
    address: 10.77.0.2
`,
  '/etc/overlayd/peers.yaml',
);

describe('findSelf', () => {
  it('finds the member listing our public key', () => {
    assert.equal(findSelf(config, Buffer.from(KEY2, 'base64')).name, 'b');
  });

  it('accepts the key as a plain Uint8Array view into a larger buffer', () => {
    const backing = Buffer.concat([Buffer.alloc(5), Buffer.from(KEY1, 'base64')]);
    const view = new Uint8Array(backing.buffer, backing.byteOffset + 5, 32);
    assert.equal(findSelf(config, view).name, 'a');
  });

  it('fails with ERR_NOT_MEMBER giving the key to paste and the file', () => {
    assert.throws(
      () => findSelf(config, Buffer.from(KEY3, 'base64')),
      (err: unknown) =>
        isOverlayError(err, 'ERR_NOT_MEMBER') &&
        err.message === `this node's public key ${KEY3} is not listed in /etc/overlayd/peers.yaml`,
    );
  });
});
