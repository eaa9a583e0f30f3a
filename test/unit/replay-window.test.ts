import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplayWindow } from '../../src/session/replay-window.js';

// check() then accept(), the way DataKeypair.open uses them.
function receive(w: ReplayWindow, counter: number): boolean {
  return w.check(counter) && w.accept(counter);
}

test('in-order counters are all accepted, across many ring wraps', () => {
  const w = new ReplayWindow(256);
  for (let c = 0; c < 256 * 10; c++) assert.equal(receive(w, c), true, `counter ${c}`);
  assert.equal(w.highest, 256 * 10 - 1);
});

test('counter 0 is accepted first, and only once', () => {
  const w = new ReplayWindow();
  assert.equal(w.check(0), true);
  assert.equal(w.accept(0), true);
  assert.equal(w.check(0), false);
  assert.equal(w.accept(0), false);
  assert.equal(receive(w, 1), true);
});

test('reordering within the window is accepted, in any order', () => {
  const w = new ReplayWindow(2048);
  assert.equal(receive(w, 2000), true);
  for (let c = 1999; c >= 0; c--) assert.equal(receive(w, c), true, `counter ${c}`);
  assert.equal(receive(w, 2001), true);
});

test('duplicates are rejected, before and after the window moves', () => {
  const w = new ReplayWindow(256);
  for (const c of [5, 31, 32, 63, 64]) assert.equal(receive(w, c), true);
  // 31 and 63 exercise the sign bit of a 32-bit block.
  for (const c of [5, 31, 32, 63, 64]) assert.equal(receive(w, c), false, `duplicate ${c}`);
  assert.equal(receive(w, 200), true);
  for (const c of [5, 31, 32, 63, 64, 200]) assert.equal(receive(w, c), false, `duplicate ${c} after move`);
});

test('the window edge is exact: windowSize behind is accepted, one more is too old', () => {
  const w = new ReplayWindow(2048);
  assert.equal(w.windowSize, 2016);
  const top = 100_000;
  assert.equal(receive(w, top), true);
  assert.equal(w.check(top - w.windowSize - 1), false);
  assert.equal(w.accept(top - w.windowSize - 1), false);
  assert.equal(receive(w, top - w.windowSize), true);
  assert.equal(receive(w, top - w.windowSize), false);
});

test('a far jump forward clears the whole ring: old bits do not reject new counters', () => {
  const w = new ReplayWindow(64);
  for (let c = 0; c < 64; c++) receive(w, c);
  const far = 1e12 + 7;
  assert.equal(receive(w, far), true);
  // Every slot was set before the jump; counters just below `far` map onto those slots.
  for (let c = far - w.windowSize; c < far; c++) assert.equal(receive(w, c), true, `counter ${c}`);
  assert.equal(receive(w, 63), false, 'pre-jump counter is now too old');
});

test('a jump of less than a ring clears exactly the blocks it slides over', () => {
  const w = new ReplayWindow(128); // 4 blocks, window 96
  for (let c = 0; c < 128; c++) receive(w, c);
  assert.equal(receive(w, 160), true); // moves 1 block: block of 128..159 cleared and reused
  for (let c = 128; c < 160; c++) assert.equal(receive(w, c), true, `counter ${c}`);
  for (let c = 64; c < 128; c++) assert.equal(receive(w, c), false, `still seen: ${c}`);
});

test('check() never moves the window; only accept() does', () => {
  const w = new ReplayWindow(64);
  assert.equal(receive(w, 10), true);
  assert.equal(w.check(1_000_000), true); // e.g. a forged packet that will fail authentication
  assert.equal(w.highest, 10);
  assert.equal(receive(w, 9), true, 'the window did not move past 9');
});

test('accept() returns false when a duplicate was accepted between check and accept', () => {
  const w = new ReplayWindow();
  assert.equal(w.check(7), true);
  assert.equal(w.check(7), true);
  assert.equal(w.accept(7), true);
  assert.equal(w.accept(7), false);
});

test('the largest exact counter is accepted; 2^53 and non-counters are refused', () => {
  const w = new ReplayWindow();
  assert.equal(receive(w, Number.MAX_SAFE_INTEGER), true);
  assert.equal(receive(w, Number.MAX_SAFE_INTEGER), false);
  assert.equal(receive(w, Number.MAX_SAFE_INTEGER - 1), true);
  const fresh = new ReplayWindow();
  for (const bad of [2 ** 53, 2 ** 60, -1, 1.5, NaN, Infinity]) {
    assert.equal(fresh.check(bad), false, `check(${bad})`);
    assert.equal(fresh.accept(bad), false, `accept(${bad})`);
  }
});

test('counters at or above the limit are refused', () => {
  const w = new ReplayWindow(64, 100);
  assert.equal(receive(w, 99), true);
  assert.equal(receive(w, 100), false);
});

test('the ring size must be a power of two of at least 64 bits', () => {
  assert.throws(() => new ReplayWindow(32), RangeError);
  assert.throws(() => new ReplayWindow(1000), RangeError);
  assert.doesNotThrow(() => new ReplayWindow(64));
});

test('random traffic matches a reference model (seen set + highest + window)', () => {
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const w = new ReplayWindow(128);
  const seen = new Set<number>();
  let highest = 0;
  for (let i = 0; i < 20_000; i++) {
    // Mostly near the top, sometimes far behind, sometimes a jump ahead.
    const r = rand(10);
    const c =
      r < 7
        ? Math.max(0, highest + rand(60) - 40)
        : r < 9
          ? Math.max(0, highest - rand(300))
          : highest + rand(500);
    const expected = !seen.has(c) && (c > highest || highest - c <= w.windowSize);
    assert.equal(receive(w, c), expected, `step ${i}, counter ${c}, highest ${highest}`);
    if (expected) {
      seen.add(c);
      highest = Math.max(highest, c);
    }
  }
});
