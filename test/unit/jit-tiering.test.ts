// TurboFan is held off through start-up and turned on, with the daemon's smaller budget, once it has settled.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { HOLD_MAX_MS, holdOptimizer, START_UP_MS, tierUpOnceSettled } from '../../src/jit-tiering.js';

test('the budget changes once the daemon has a route to every member, or after START_UP_MS unless starved', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let now = 0;
  let settled = false;
  let applied = 0;
  tierUpOnceSettled(
    () => settled,
    () => false,
    () => applied++,
    () => now,
  );
  now = 5000;
  t.mock.timers.tick(5000);
  assert.equal(applied, 0, 'still starting');
  settled = true;
  now = 6000;
  t.mock.timers.tick(1000);
  assert.equal(applied, 1, 'settled: set at the next check');
  t.mock.timers.tick(10_000);
  assert.equal(applied, 1, 'once');

  let late = 0;
  let starved = true;
  tierUpOnceSettled(
    () => false,
    () => starved,
    () => late++,
    () => now,
  );
  now += START_UP_MS;
  t.mock.timers.tick(1000);
  assert.equal(late, 0, 'never settled and its timers run late (a starved machine): not yet');
  starved = false;
  now += 1000;
  t.mock.timers.tick(1000);
  assert.equal(late, 1, 'never settled (a partition), timers on time: set after START_UP_MS');

  // A member that never answers and a flood that keeps our timers late: not held off for good.
  let flooded = 0;
  const floodStart = now;
  tierUpOnceSettled(
    () => false,
    () => true,
    () => flooded++,
    () => now,
  );
  now = floodStart + HOLD_MAX_MS - 1000;
  t.mock.timers.tick(1000);
  assert.equal(flooded, 0, 'starved and never settled: still held');
  now = floodStart + HOLD_MAX_MS;
  t.mock.timers.tick(1000);
  assert.equal(flooded, 1, 'at HOLD_MAX_MS whatever');
});

test('OVERLAYD_V8_TIERING=default keeps V8 own budget; cancelling stops the check', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let applied = 0;
  process.env.OVERLAYD_V8_TIERING = 'default';
  try {
    tierUpOnceSettled(
      () => true,
      () => false,
      () => applied++,
    );
  } finally {
    delete process.env.OVERLAYD_V8_TIERING;
  }
  const cancel = tierUpOnceSettled(
    () => true,
    () => false,
    () => applied++,
  );
  cancel();
  t.mock.timers.tick(5000);
  assert.equal(applied, 0);
});

test('TurboFan is held off from the start unless OVERLAYD_V8_TIERING=default', () => {
  let held = 0;
  holdOptimizer(() => held++);
  assert.equal(held, 1);
  process.env.OVERLAYD_V8_TIERING = 'default';
  try {
    holdOptimizer(() => held++);
  } finally {
    delete process.env.OVERLAYD_V8_TIERING;
  }
  assert.equal(held, 1);
});

test('V8 honours the hold and the tier-up at run time: a hot function stays unoptimized, then is optimized', () => {
  // The flags are read by V8 at each tiering decision; a Node upgrade that froze them after start
  // would silently keep the daemon in baseline code (or TurboFan running through start-up).
  const tiering = fileURLToPath(new URL('../../src/jit-tiering.js', import.meta.url));
  const script = `
    const { holdOptimizer, tierUp } = await import(${JSON.stringify(tiering)});
    holdOptimizer();
    function hot(a) { let s = 0; for (let i = 0; i < a.length; i++) s += a[i] * 2; return s; }
    const arr = Array.from({ length: 100 }, (_, i) => i);
    const optimized = () => (%GetOptimizationStatus(hot) & 16) !== 0;
    for (let i = 0; i < 200000; i++) hot(arr);
    const before = optimized();
    tierUp();
    for (let i = 0; i < 200000 && !optimized(); i++) hot(arr);
    console.log(JSON.stringify({ before, after: optimized() }));
  `;
  const out = execFileSync(
    process.execPath,
    ['--allow-natives-syntax', '--input-type=module', '-e', script],
    {
      encoding: 'utf8',
    },
  );
  assert.deepEqual(JSON.parse(out), { before: false, after: true });
});
