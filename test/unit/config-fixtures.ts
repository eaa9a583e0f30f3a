// Shared by the config-*.test.ts files: deterministic member keys and an assertion that a
// peers.yaml text is rejected with exactly the expected messages.
import assert from 'node:assert/strict';
import { ConfigError, formatProblem } from '../../src/config/config-error.js';
import { parseConfig, type ParseOptions } from '../../src/config/parse.js';
import { keyPairFromSeed } from '../../src/identity/keys.js';

/** The base64 public key of test member `n` (seed: 32 bytes of n). */
export function publicKeyText(n: number): string {
  return keyPairFromSeed(Buffer.alloc(32, n)).publicKey.toString('base64');
}

export const KEY1 = publicKeyText(1);
export const KEY2 = publicKeyText(2);
export const KEY3 = publicKeyText(3);

/**
 * Asserts that parsing `text` (as file "peers.yaml") throws ERR_CONFIG whose message is exactly
 * `expected`, one problem per line, and whose `problems` list matches it entry for entry.
 */
export function assertProblems(text: string, expected: string[], options?: ParseOptions): ConfigError {
  let caught: unknown;
  try {
    parseConfig(text, 'peers.yaml', options);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  assert.equal(caught.code, 'ERR_CONFIG');
  assert.equal(caught.message, expected.join('\n'));
  assert.deepEqual(
    caught.problems.map((p) => formatProblem('peers.yaml', p)),
    expected,
  );
  return caught;
}
