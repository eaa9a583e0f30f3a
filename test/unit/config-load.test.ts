import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig, MAX_CONFIG_BYTES } from '../../src/config/load.js';
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

  it('records the SHA-256 of the file, the same wherever the same file is loaded', () => {
    const file = join(dir, 'hashed.yaml');
    writeFileSync(file, VALID);
    assert.equal(loadConfig(file).sha256, createHash('sha256').update(VALID).digest('hex'));
  });

  it('stops reading /dev/zero at the size limit instead of filling memory', () => {
    const started = performance.now();
    assert.equal(
      loadError('/dev/zero'),
      `/dev/zero: more than ${MAX_CONFIG_BYTES} bytes (reading stopped there); peers.yaml may be at most 1024 KiB (is this the right file?)`,
    );
    assert.ok(performance.now() - started < 1000, 'fails fast');
  });

  it('refuses a huge regular file from its size, without reading it', () => {
    const file = join(dir, 'huge.yaml');
    writeFileSync(file, '');
    truncateSync(file, 8 * 1024 ** 3); // sparse: 8 GiB that cost no disk
    const started = performance.now();
    assert.equal(
      loadError(file),
      `${file}: ${8 * 1024 ** 3} bytes; peers.yaml may be at most 1024 KiB (is this the right file?)`,
    );
    assert.ok(performance.now() - started < 100, 'decided from fstat');
  });

  it('accepts a file just under the limit', () => {
    const file = join(dir, 'padded.yaml');
    writeFileSync(file, VALID + '#'.repeat(MAX_CONFIG_BYTES - VALID.length - 1) + '\n');
    assert.equal(loadConfig(file).peers.length, 1);
  });
});
