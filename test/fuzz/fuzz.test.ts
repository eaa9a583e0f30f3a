// The seeded fuzz run `npm test` includes: 20 000 inputs over every target (shared out by weight, as
// `npm run fuzz` does with a million), fixed seed. Each target must end with no escaped exception,
// no accepted forgery, its after-run checks passed, and bounded heap growth.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { shareInputs } from './campaign.js';
import { runTarget, type TargetReport } from './engine.js';
import { TARGETS } from './targets/index.js';

const SEED = 20_000;
const INPUTS = 20_000;
/** Per target; the whole run takes a few seconds. */
const TIME_LIMIT_MS = 60_000;
/** Heap a target's inputs may leave behind: a table growing by 1 kB per input would exceed it. */
const MAX_HEAP_GROWTH_BYTES = 16 * 1024 * 1024;

describe(`fuzz, seed ${SEED}, ${INPUTS} inputs`, () => {
  const shares = shareInputs(TARGETS, INPUTS);
  for (const [i, target] of TARGETS.entries()) {
    it(`${target.name}: ${shares[i]} inputs, nothing escapes or is forged`, async () => {
      const r = await runTarget(target, {
        seed: SEED,
        inputs: shares[i],
        deadline: performance.now() + TIME_LIMIT_MS,
      });
      assert.equal(r.inputs, shares[i], `ran out of time after ${r.inputs} inputs`);
      assert.equal(r.escapes, 0, `escaped exceptions: ${failures(r)}`);
      assert.equal(r.forgeries, 0, `accepted forgeries: ${failures(r)}`);
      assert.deepEqual(r.finishFailures, [], 'after the run');
      const growth = r.heapAfterBytes - r.heapBeforeBytes;
      assert.ok(growth < MAX_HEAP_GROWTH_BYTES, `heap grew by ${(growth / 1e6).toFixed(1)} MB`);
    });
  }
});

describe('fuzz reproducibility', () => {
  // The cluster runs on real timers: its inputs repeat, what they meet does not. Every other target
  // is a pure function of the seed, crypto randomness included (deterministic-random.ts).
  for (const target of TARGETS.filter((t) => t.name !== 'cluster')) {
    it(`${target.name}: the same seed makes the same inputs, byte for byte`, async () => {
      const run = (seed: number): Promise<TargetReport> =>
        runTarget(target, { seed, inputs: 300, deadline: Infinity, digest: true });
      const [first, again, other] = [await run(1), await run(1), await run(2)];
      assert.equal(again.digest, first.digest);
      assert.notEqual(other.digest, first.digest);
    });
  }
});

function failures(r: TargetReport): string {
  return r.failures
    .map(
      (f) =>
        `\n  input ${f.input} (${f.seed}; ${f.ops.join(' ')}): ${f.detail}` +
        `\n    npm run fuzz -- --seed ${SEED} --target ${r.name} --inputs ${f.input + 1}`,
    )
    .join('');
}
