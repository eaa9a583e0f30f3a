import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readKeyFile, writeKeyFile } from '../../src/config/key-file.js';
import { isOverlayError } from '../../src/errors.js';
import { keyPairFromSeed } from '../../src/identity/keys.js';

const SEED = Buffer.alloc(32, 9);
const SEED_TEXT = SEED.toString('base64');

function keyFileError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(isOverlayError(err, 'ERR_KEY_FILE'), `expected ERR_KEY_FILE, got ${String(err)}`);
    return err.message;
  }
  assert.fail('expected ERR_KEY_FILE');
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

describe('key files', () => {
  let dir = '';
  let n = 0;
  const fresh = (): string => join(dir, `key-${n++}`);
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'overlayd-key-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the seed as base64 and a newline, mode 0600, and reads back the same key pair', () => {
    const path = fresh();
    writeKeyFile(path, SEED);
    assert.equal(readFileSync(path, 'utf8'), `${SEED_TEXT}\n`);
    assert.equal(mode(path), 0o600);
    const pair = readKeyFile(path);
    const expected = keyPairFromSeed(SEED);
    assert.deepEqual(pair.publicKey, expected.publicKey);
    assert.deepEqual(pair.secretKey, expected.secretKey);
  });

  it('refuses to create a missing directory, and says how to make it', () => {
    const parent = join(dir, 'etc', 'overlayd');
    const path = join(parent, 'key');
    assert.equal(
      keyFileError(() => writeKeyFile(path, SEED)),
      `cannot write key file ${path}: directory ${parent} does not exist; create it first ` +
        `(e.g. install -d -m 0700 ${parent}), then run keygen again`,
    );
    assert.throws(() => statSync(join(dir, 'etc')), /ENOENT/, 'nothing was created');
  });

  it('rejects a file far larger than a key without reading it', () => {
    const path = fresh();
    writeFileSync(path, 'x'.repeat(10_000), { mode: 0o600 });
    assert.equal(
      keyFileError(() => readKeyFile(path)),
      `key file ${path} is 10000 bytes, not a key file (those are 45 bytes)`,
    );
  });

  it('refuses to overwrite an existing key unless forced, leaving it unchanged', () => {
    const path = fresh();
    writeFileSync(path, 'old\n', { mode: 0o600 });
    assert.equal(
      keyFileError(() => writeKeyFile(path, SEED)),
      `${path} already exists; refusing to overwrite a private key (use --force to replace it)`,
    );
    assert.equal(readFileSync(path, 'utf8'), 'old\n');
  });

  it('with force, replaces the key and does not keep a looser old mode', () => {
    const path = fresh();
    writeFileSync(path, 'old\n');
    chmodSync(path, 0o644);
    writeKeyFile(path, SEED, { force: true });
    assert.equal(readFileSync(path, 'utf8'), `${SEED_TEXT}\n`);
    assert.equal(mode(path), 0o600);
  });

  it('rejects a seed of the wrong size', () => {
    assert.throws(() => writeKeyFile(fresh(), Buffer.alloc(16)), RangeError);
  });

  it('reports a missing key file and how to make one', () => {
    const path = fresh();
    assert.equal(
      keyFileError(() => readKeyFile(path)),
      `key file ${path} does not exist; create one with 'overlayd keygen'`,
    );
  });

  it('rejects something that is not a regular file', () => {
    const path = fresh();
    mkdirSync(path, { mode: 0o700 });
    assert.equal(
      keyFileError(() => readKeyFile(path)),
      `key file ${path} is not a regular file`,
    );
  });

  it('rejects a key file that group or others may access, showing the mode and the fix', () => {
    for (const loose of [0o644, 0o640, 0o604]) {
      const path = fresh();
      writeFileSync(path, `${SEED_TEXT}\n`);
      chmodSync(path, loose);
      const octal = `0${loose.toString(8)}`;
      assert.equal(
        keyFileError(() => readKeyFile(path)),
        `key file ${path} has mode ${octal}, which lets other users read it; run: chmod 600 ${path}`,
      );
    }
  });

  it('accepts a stricter mode than 0600', () => {
    const path = fresh();
    writeFileSync(path, `${SEED_TEXT}\n`);
    chmodSync(path, 0o400);
    assert.deepEqual(readKeyFile(path).publicKey, keyPairFromSeed(SEED).publicKey);
  });

  it('ignores whitespace around the key', () => {
    const path = fresh();
    writeFileSync(path, `\n  ${SEED_TEXT}  \r\n\n`, { mode: 0o600 });
    assert.deepEqual(readKeyFile(path).publicKey, keyPairFromSeed(SEED).publicKey);
  });

  it('rejects content that is not a base64 32-byte seed, without echoing it', () => {
    const bad = [
      '',
      'not base64!',
      Buffer.alloc(16, 1).toString('base64'),
      `${SEED_TEXT.slice(0, 5)}*${SEED_TEXT.slice(6)}`,
    ];
    for (const content of bad) {
      const path = fresh();
      writeFileSync(path, content, { mode: 0o600 });
      assert.equal(
        keyFileError(() => readKeyFile(path)),
        `key file ${path} does not contain a base64-encoded 32-byte private key`,
        JSON.stringify(content),
      );
    }
  });
});
