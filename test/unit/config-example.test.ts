import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';

// Compiled to dist/test/unit/, three levels below the repository root.
const EXAMPLE = fileURLToPath(new URL('../../../deploy/examples/peers.yaml', import.meta.url));

describe('deploy/examples/peers.yaml', () => {
  it('is a valid membership file for three sites', () => {
    const cfg = loadConfig(EXAMPLE);
    assert.deepEqual(
      cfg.peers.map((p) => [p.name, p.address, p.endpoints.length]),
      [
        ['belmont', '10.77.0.1', 2],
        ['site-b', '10.77.0.2', 2],
        ['carrow', '10.77.0.3', 0],
      ],
    );
    assert.equal(cfg.network.prefix6?.address, 'fd77::');
  });
});
