// The engine counts what it must: synthetic targets that throw, throw later, forge, or fail their
// after-run check are caught and reported with the input that did it; a clean one reports nothing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { runTarget } from './engine.js';
import type { Seed } from './mutator.js';
import type { FuzzTarget, TargetRun } from './target.js';

const SEEDS: Seed[] = [{ label: 'two bytes', bytes: Buffer.from([1, 2]), fields: [] }];

/** A target over SEEDS whose behaviour on each input is `onInput`. */
function synthetic(parts: Partial<TargetRun> & { onInput?: (b: Buffer) => void }): FuzzTarget {
  return {
    name: 'synthetic',
    description: 'test',
    weight: 1,
    setup(): TargetRun {
      let input: Buffer = Buffer.alloc(0);
      return {
        seeds: SEEDS,
        dictionary: { ids: [], u64: [], maxBytes: 64 },
        load: (m) => (input = m.bytes),
        execute: () => parts.onInput?.(input),
        judge: () => undefined,
        ...parts,
      };
    },
  };
}

const run = (t: FuzzTarget, inputs = 200) => runTarget(t, { seed: 1, inputs, deadline: Infinity });

describe('fuzz engine', () => {
  it('counts nothing for a target that never fails, and measures every input', async () => {
    const r = await run(synthetic({}));
    assert.deepEqual([r.inputs, r.escapes, r.forgeries, r.failures.length], [200, 0, 0, 0]);
    assert.ok(r.maxUs >= r.p999Us && r.p999Us > 0);
  });

  it('counts an exception thrown out of the entry point, with the input that threw', async () => {
    const r = await run(
      synthetic({
        onInput: (b) => {
          if (b.length > 2) throw new RangeError('too long');
        },
      }),
    );
    assert.ok(r.escapes > 0 && r.escapes < r.inputs);
    const f = r.failures[0];
    assert.equal(f.kind, 'escape');
    assert.match(f.detail, /RangeError: too long/);
    assert.ok(Buffer.from(f.hex, 'hex').length > 2);
  });

  it('counts an exception thrown later by what an input set moving', () => {
    // In a child process: node:test fails the test that an uncaught exception happens in, before the
    // engine's own listener can show it counted it.
    const script = `
      import { runTarget } from ${JSON.stringify(new URL('./engine.js', import.meta.url).href)};
      let thrown = false;
      const target = { name: 'async', description: '', weight: 1, setup: () => ({
        seeds: [{ label: 's', bytes: Buffer.from([1, 2]), fields: [] }],
        dictionary: { ids: [], u64: [], maxBytes: 64 },
        load() {},
        execute() {
          if (!thrown) setImmediate(() => { throw new Error('from a queued delivery'); });
          thrown = true;
        },
        judge: () => undefined,
        idleEvery: 10,
        idle: () => new Promise((resolve) => setImmediate(resolve)),
      }) };
      const r = await runTarget(target, { seed: 1, inputs: 100, deadline: Infinity });
      process.stdout.write(JSON.stringify({ escapes: r.escapes, detail: r.failures[0]?.detail }));
    `;
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    const r = JSON.parse(out.stdout) as { escapes: number; detail: string };
    assert.equal(r.escapes, 1);
    assert.match(r.detail, /async: Error: from a queued delivery/);
  });

  it('counts exceptions a last-resort handler inside src/ caught', async () => {
    let caught = 0;
    const r = await run(
      synthetic({ onInput: (b) => void (b[0] === 0 && caught++), caughtInternally: () => caught }),
    );
    assert.ok(caught > 0);
    assert.equal(r.escapes, caught);
  });

  it('counts every forgery the judge reports, and the after-run failures', async () => {
    const r = await run(
      synthetic({ judge: () => 'accepted', finish: async () => ['honest traffic stopped'] }),
      50,
    );
    assert.equal(r.forgeries, 50);
    assert.equal(r.failures.length, 5, 'the first few are kept');
    assert.deepEqual(r.finishFailures, ['honest traffic stopped']);
  });
});
