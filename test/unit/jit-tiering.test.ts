// The daemon's smaller V8 tiering budget is set once it has settled, not during start-up.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { START_UP_MS, tierUpOnceSettled } from '../../src/jit-tiering.js';

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
