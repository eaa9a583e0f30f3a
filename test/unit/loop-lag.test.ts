// The daemon's loop lag: measured from the wake timer's drift, turned into extra probe time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Clock, Timers } from '../../src/clock.js';
import { DEFAULT_LOOP_LAG, LoopLag } from '../../src/node/loop-lag.js';
import { WakeScheduler } from '../../src/node/wake-scheduler.js';

test('the allowance is twice the largest recent drift, ignores timer granularity, and decays', () => {
  const lag = new LoopLag({ windowMs: 10_000, floorMs: 5, maxAllowanceMs: 2000 });
  lag.note(2, 0);
  assert.equal(lag.allowanceMs(0), 0, 'a 2 ms drift is setTimeout rounding, not a stall');
  lag.note(300, 1000);
  lag.note(100, 2000);
  assert.equal(lag.allowanceMs(2000), 600);
  assert.equal(lag.allowanceMs(15_000), 600, 'still within the previous window');
  assert.equal(lag.allowanceMs(25_000), 0, 'a loop that keeps time again gets exact timeouts back');
  lag.note(5000, 26_000);
  assert.equal(lag.allowanceMs(26_000), 2000, 'capped');
});

test('by default a stall stops lengthening timeouts within 1 s, and never by more than 1 s', () => {
  const lag = new LoopLag(DEFAULT_LOOP_LAG);
  lag.note(400, 0); // a handshake flood or a busy start-up
  assert.equal(lag.allowanceMs(100), 800, 'the reply read just after the stall is not counted lost');
  assert.equal(lag.allowanceMs(1000), 0, 'a link cut a second later fails over at the normal pace');
  lag.note(5000, 2000);
  assert.equal(lag.allowanceMs(2000), 1000);
});

test('the wake scheduler reports how late its timer fired', () => {
  let now = 0;
  const clock: Clock = { now: () => now };
  let fire: (() => void) | undefined;
  const timers: Timers = {
    at: (_at, fn) => {
      fire = fn;
      return { cancel: () => (fire = undefined) };
    },
  };
  const noted: number[] = [];
  let seenLagAtRun = -1;
  const lag = {
    note: (late: number) => noted.push(late),
  };
  const s = new WakeScheduler(
    clock,
    timers,
    { nextWakeAt: () => 100, run: () => (seenLagAtRun = noted.length) },
    lag,
  );
  s.poke();
  now = 450; // the loop was busy (or off the CPU) for 350 ms past the due time
  fire?.();
  assert.deepEqual(noted, [350]);
  assert.equal(seenLagAtRun, 1, 'noted before the cores run, so this run already allows for it');
});
