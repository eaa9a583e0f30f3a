// The control plane's one timer: armed at the cores' earliest wake, moved there by poke(),
// never fired while stopped; what the cores ask for during run() is looked at once run() returns.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WakeScheduler } from '../../src/node/wake-scheduler.js';
import { EventQueue } from '../sim/event-queue.js';

function harness(wakes: number[]): {
  q: EventQueue;
  s: WakeScheduler;
  runs: number[];
  set: (w: number) => void;
} {
  const q = new EventQueue();
  let next = wakes.shift() ?? Infinity;
  const runs: number[] = [];
  const s = new WakeScheduler(q.clock, q, {
    nextWakeAt: () => next,
    run: (now) => {
      runs.push(now);
      next = wakes.shift() ?? Infinity;
    },
  });
  return { q, s, runs, set: (w) => (next = w) };
}

test('fires at each wake the cores ask for, and not in between', () => {
  const { q, s, runs } = harness([100, 250, 1000]);
  s.poke();
  q.runUntil(5000);
  assert.deepEqual(runs, [100, 250, 1000]);
  assert.equal(s.wakeups, 3);
  assert.equal(s.nextFireAt, Infinity, 'nothing more to do: no timer');
});

test('poke moves the timer to the earliest wake, earlier or later, and disarms it when none is left', () => {
  const { q, s, runs, set } = harness([1000]);
  s.poke();
  set(300);
  s.poke();
  assert.equal(s.nextFireAt, 300, 'work came forward');
  set(2000);
  s.poke();
  assert.equal(s.nextFireAt, 2000, 'the work at 300 went away (a probe answered before its timeout)');
  q.runUntil(1999);
  assert.deepEqual(runs, [], 'no wake-up that finds nothing due');
  set(Infinity);
  s.poke();
  assert.equal(s.nextFireAt, Infinity);
  q.runUntil(5000);
  assert.deepEqual(runs, []);
});

test('a wake in the past runs at once; stop() cancels', () => {
  const { q, s, runs } = harness([-Infinity, 50]);
  q.runUntil(10);
  s.poke();
  assert.equal(s.nextFireAt, 10);
  q.runUntil(10);
  assert.deepEqual(runs, [10]);
  s.stop();
  s.poke();
  q.runUntil(100);
  assert.deepEqual(runs, [10]);
});

test('pokes during run() are looked at once after it, not as an extra wake-up', () => {
  const q = new EventQueue();
  let next = 100;
  const runs: number[] = [];
  const s: WakeScheduler = new WakeScheduler(q.clock, q, {
    nextWakeAt: () => next,
    run: (now) => {
      runs.push(now);
      if (runs.length > 1) {
        next = Infinity;
        return;
      }
      next = now; // work for "now" appears while running (a probe asking for a handshake)...
      s.poke();
      next = 500; // ...and is done in the same run
    },
  });
  s.poke();
  q.runUntil(1000);
  assert.deepEqual(runs, [100, 500]);
});
