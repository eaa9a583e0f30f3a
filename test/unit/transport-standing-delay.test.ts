// CoDel on the receive queue's wait (src/transport/standing-delay.ts), with a hand-driven clock: when it
// drops, how the drops speed up while the wait stands, that it stops once the wait falls, and that small
// messages (pings, ACKs, handshakes) are never its victims.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StandingDelay } from '../../src/transport/standing-delay.js';

const OPTS = { targetMs: 0.5, intervalMs: 10, minDropBytes: 1000 };
const BIG = 1400;

/** Feeds one message of `bytes` every `stepMs` from `fromMs` to `toMs` with the same age; drop times. */
function run(
  d: StandingDelay,
  ageMs: number,
  fromMs: number,
  toMs: number,
  stepMs = 0.1,
  bytes = BIG,
): number[] {
  const drops: number[] = [];
  for (let t = fromMs; t < toMs; t += stepMs) if (d.drop(ageMs, bytes, t)) drops.push(t);
  return drops;
}

test('a wait below target never drops, however long it lasts', () => {
  const d = new StandingDelay(OPTS);
  assert.deepEqual(run(d, 0.4, 0, 1000), []);
  assert.equal(d.active, false);
});

test('a wait above target drops only after it stood for a whole interval (a burst passes)', () => {
  const d = new StandingDelay(OPTS);
  assert.deepEqual(run(d, 3, 1000, 1009.9), [], 'within the interval: no drop');
  // The burst ends: the wait falls below target, and the next rise starts a fresh interval.
  assert.equal(d.drop(0.2, BIG, 1010), false);
  assert.deepEqual(run(d, 3, 1010.1, 1020), []);
  const drops = run(d, 3, 1020, 1021);
  assert.equal(drops.length, 1);
  assert.ok(drops[0]! >= 1020.1 - 1e-9 && drops[0]! < 1020.2, `first drop at ${drops[0]}`);
  assert.equal(d.active, true);
});

test('while the wait stands, drops come faster and faster (interval / √count)', () => {
  const d = new StandingDelay(OPTS);
  const drops = run(d, 5, 0, 200);
  assert.ok(drops.length >= 10, `${drops.length} drops`);
  const gaps = drops.slice(1).map((t, i) => t - drops[i]!);
  // The control law: after the n-th drop the next comes interval / √n later, to the clock's step.
  gaps.forEach((g, k) => assert.ok(Math.abs(g - 10 / Math.sqrt(k + 1)) <= 0.11, `gap ${k}: ${g}`));
  for (let k = 1; k < gaps.length; k++) assert.ok(gaps[k]! <= gaps[k - 1]! + 0.11, `gap ${k} grew`);
});

test('once the wait falls below target, dropping stops at once', () => {
  const d = new StandingDelay(OPTS);
  assert.ok(run(d, 5, 0, 100).length > 0);
  assert.equal(d.drop(0.1, BIG, 100), false);
  assert.equal(d.active, false);
  assert.deepEqual(run(d, 0.3, 100, 500), []);
});

test('back to a standing wait soon after: it resumes near the rate that was needed', () => {
  const d = new StandingDelay(OPTS);
  const first = run(d, 5, 0, 300).length;
  d.drop(0.1, BIG, 300); // a short dip
  const again = run(d, 5, 300.1, 340);
  // A fresh start would drop about 4 times in 40 ms (10, then 7, 5.8, 5 ms apart... after the interval);
  // resuming keeps the count, so the drops are as dense as before the dip.
  assert.ok(first > 10);
  assert.ok(again.length >= 5, `${again.length} drops after resuming`);
});

test('small messages are never dropped, and do not count as the standing wait', () => {
  const d = new StandingDelay(OPTS);
  assert.deepEqual(run(d, 50, 0, 500, 0.1, 999), []);
  assert.equal(d.active, false);
  // Bulk messages still are, once their own wait has stood for an interval.
  assert.ok(run(d, 50, 500, 600).length > 0);
});
