import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { isOverlayError } from '../../src/errors.js';
import { KEY1 } from './config-fixtures.js';

const VALID = `network:\n  prefix: 10.77.0.0/24\npeers:\n  - name: a\n    publicKey: ${KEY1}\n    address: 10.77.0.1\n`;

function loadError(path: string): string {
  try {
    loadConfig(path);
  } catch (err) {
    assert.ok(isOverlayError(err, 'ERR_CONFIG'), `expected ERR_CONFIG, got ${String(err)}`);
    return err.message;
  }
  assert.fail(`loading ${path} should fail`);
}

describe('loadConfig', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'overlayd-config-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads and validates the file, recording its absolute path', () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, VALID);
    const cfg = loadConfig(file);
    assert.equal(cfg.file, file);
    assert.equal(cfg.peers[0]?.name, 'a');
  });

  it('names the file in problems exactly as the caller wrote its path', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, VALID.replace('10.77.0.1', '10.77.5.1'));
    const rel = relative(process.cwd(), file);
    assert.equal(
      loadError(rel),
      `${rel}:6: peers[0].address: 10.77.5.1 is outside network.prefix 10.77.0.0/24`,
    );
  });

  it('reports a missing file', () => {
    const file = join(dir, 'nope.yaml');
    assert.equal(loadError(file), `cannot read ${file}: no such file (pass the path to peers.yaml)`);
  });

  it('reports a directory given instead of the file', () => {
    assert.equal(loadError(dir), `cannot read ${dir}: it is a directory, expected the peers.yaml file`);
  });

  it('reports a file it may not read', (t) => {
    if (process.getuid?.() === 0) {
      t.skip('root can read any file');
      return;
    }
    const file = join(dir, 'secret.yaml');
    writeFileSync(file, VALID);
    chmodSync(file, 0o000);
    assert.equal(loadError(file), `cannot read ${file}: permission denied`);
  });
});
