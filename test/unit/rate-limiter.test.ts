import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.js';
import { ExpiringSet } from '../../src/session/expiring-set.js';
import { LoadMeter } from '../../src/session/load-meter.js';
import { RateLimiter } from '../../src/session/rate-limiter.js';
import { takeAll as takeFromAll, TokenBuckets } from '../../src/session/token-buckets.js';

function takeAll(l: RateLimiter, key: string, now: number, max = 1000): number {
  let n = 0;
  while (n < max && l.allow(key, now)) n++;
  return n;
}

test('defaults: a source gets a burst of 40, then 20 per second', () => {
  const clock = new ManualClock(0);
  const l = new RateLimiter();
  assert.equal(takeAll(l, '198.51.100.1', clock.now()), 40);
  clock.advance(500);
  assert.equal(takeAll(l, '198.51.100.1', clock.now()), 10);
  clock.advance(10_000);
  assert.equal(takeAll(l, '198.51.100.1', clock.now()), 40, 'refill is capped at the burst');
});

test('sources have separate buckets', () => {
  const l = new RateLimiter({ perKeyBurst: 2, perKeyPerSecond: 1 });
  assert.equal(takeAll(l, 'a', 0), 2);
  assert.equal(takeAll(l, 'b', 0), 2);
  assert.equal(l.allow('a', 0), false);
});

test('the global bucket caps all sources together, at 500 per second by default', () => {
  const clock = new ManualClock(0);
  const l = new RateLimiter();
  let total = 0;
  for (let i = 0; i < 100; i++) total += takeAll(l, `10.0.${i >> 8}.${i & 255}`, clock.now());
  assert.equal(total, 500);
  clock.advance(100);
  total = 0;
  for (let i = 100; i < 200; i++) total += takeAll(l, `10.0.${i >> 8}.${i & 255}`, clock.now());
  assert.equal(total, 50);
});

test('a refusal by the global bucket does not spend the source token', () => {
  const l = new RateLimiter({ globalBurst: 1, globalPerSecond: 1, perKeyBurst: 1, perKeyPerSecond: 0.001 });
  assert.equal(l.allow('x', 0), true);
  assert.equal(l.allow('y', 0), false, 'global empty');
  assert.equal(l.allow('y', 1000), true, 'y still had its token');
});

test('memory is bounded by maxKeys: a key used lately keeps its state, one not used is forgotten first', () => {
  // maxKeys 4: two generations of 2.
  const l = new RateLimiter({ maxKeys: 4, perKeyBurst: 1, perKeyPerSecond: 0.001, globalBurst: 1e9 });
  assert.equal(l.allow('a', 0), true);
  assert.equal(l.allow('b', 0), true);
  assert.equal(l.allow('c', 0), true); // a and b are the older generation now
  assert.equal(l.allow('a', 1), false, 'a used again: kept, spent, and back in the newer generation');
  assert.equal(l.allow('d', 2), true); // c and a become the older generation; b, unused, is forgotten
  assert.equal(l.size, 3);
  assert.equal(l.allow('a', 3), false, 'a was kept');
  assert.equal(l.allow('b', 3), true, 'b was forgotten, so it starts with a fresh burst');
  for (let i = 0; i < 10_000; i++) l.allow(`k${i}`, 4);
  assert.ok(l.size <= 4);
});

test('sweep forgets buckets untouched for a refill period and keeps the others with their state', () => {
  const l = new RateLimiter({ perKeyBurst: 2, perKeyPerSecond: 1 }); // full again 2 s after empty
  l.sweep(0);
  l.allow('old', 0);
  l.sweep(2000);
  assert.equal(takeAll(l, 'new', 2500), 2);
  l.sweep(4000);
  assert.equal(l.size, 1, 'old, untouched since 0, is gone');
  assert.equal(takeAll(l, 'new', 4000), 1, 'new kept its state: 0 tokens + 1.5 refilled');
});

test('a flood of new keys costs the same per key at any table size (no scans)', () => {
  const l = new RateLimiter({ maxKeys: 4096 });
  const perKey = (n: number): number => {
    const t = performance.now();
    for (let i = 0; i < n; i++) l.allow(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, i);
    return (performance.now() - t) / n;
  };
  perKey(20_000); // warm up
  const small = perKey(20_000);
  const large = perKey(200_000);
  assert.ok(
    large < small * 3 + 0.002,
    `${(large * 1000).toFixed(2)} µs vs ${(small * 1000).toFixed(2)} µs per key`,
  );
});

test('lanes have separate global buckets: spending one leaves the other', () => {
  const l = new RateLimiter({ globalBurst: 2, globalPerSecond: 0.001, perKeyBurst: 100 });
  assert.equal(l.allow('a', 0, 'others'), true);
  assert.equal(l.allow('b', 0, 'others'), true);
  assert.equal(l.allow('c', 0, 'others'), false);
  assert.equal(l.allow('c', 0, 'members'), true);
});

test('takeAll takes from every bucket or from none', () => {
  const fine = new TokenBuckets({ perSecond: 0.001, burst: 2 }, 10);
  const coarse = new TokenBuckets({ perSecond: 0.001, burst: 3 }, 10);
  assert.equal(takeFromAll(0, [fine, 'x'], [coarse, 'all']), true);
  assert.equal(takeFromAll(0, [fine, 'x'], [coarse, 'all']), true);
  assert.equal(takeFromAll(0, [fine, 'x'], [coarse, 'all']), false, 'x spent');
  assert.equal(takeFromAll(0, [fine, 'y'], [coarse, 'all']), true, 'the refusal took nothing from coarse');
  assert.equal(takeFromAll(0, [fine, 'z'], [coarse, 'all']), false, 'coarse spent');
  assert.equal(fine.allow('z', 0), true, 'the refusal took nothing from z');
});

test('takeAll stops at the first empty budget: a flood of spoofed keys makes no bucket once the coarse one is spent', () => {
  const coarse = new TokenBuckets({ perSecond: 0.001, burst: 1 }, 1);
  const perSource = new TokenBuckets({ perSecond: 5, burst: 10 }, 4096);
  assert.equal(takeFromAll(0, [coarse, 'all'], [perSource, 'first']), true);
  for (let i = 0; i < 1000; i++)
    assert.equal(takeFromAll(0, [coarse, 'all'], [perSource, `10.0.${i}`]), false);
  assert.equal(perSource.size, 1, 'only the source that got a token has a bucket');
  // The guard's and the limiter's orders: the coarse budget first.
  const limiter = new RateLimiter({ globalPerSecond: 0.001, globalBurst: 1, maxKeys: 4096 });
  assert.equal(limiter.allow('198.51.100.1', 0), true);
  for (let i = 0; i < 1000; i++) assert.equal(limiter.allow(`10.1.${i >> 8}.${i & 255}`, 0), false);
  assert.equal(limiter.size, 1, 'refused by the lane: no per-source bucket');
});

test('TokenBuckets never hold more than maxKeys, whatever the number of keys seen', () => {
  const b = new TokenBuckets({ perSecond: 1, burst: 1 }, 64);
  for (let i = 0; i < 100_000; i++) {
    b.allow(`k${i}`, i);
    assert.ok(b.size <= 64);
  }
  b.sweep(1e9);
  b.sweep(1e9 + 1000);
  assert.equal(b.size, 0, 'untouched for a refill period: forgotten');
});

test('ExpiringSet: a flood of new keys costs the same per key at any size (no scans)', () => {
  const s = new ExpiringSet(32_768, 240_000);
  const perKey = (from: number, n: number): number => {
    const t = performance.now();
    for (let i = from; i < from + n; i++) if (!s.has(`k${i}`, i)) s.add(`k${i}`, i);
    return (performance.now() - t) / n;
  };
  perKey(0, 40_000); // fills it: every add from here on evicts
  const first = perKey(40_000, 40_000);
  const later = perKey(80_000, 200_000);
  assert.equal(s.size, 32_768);
  assert.ok(
    later < first * 3 + 0.002,
    `${(later * 1000).toFixed(2)} µs vs ${(first * 1000).toFixed(2)} µs per key`,
  );
});

test('ExpiringSet: remembers for ttlMs, renews on add, evicts the oldest over its cap', () => {
  const s = new ExpiringSet(3, 1000);
  s.add('a', 0);
  s.add('b', 100);
  assert.equal(s.has('a', 999), true);
  assert.equal(s.has('a', 1000), false, 'expired');
  s.add('a', 200); // renewed: now the newest
  s.add('c', 300);
  s.add('d', 400); // over the cap: b, the oldest, goes
  assert.equal(s.size, 3);
  assert.equal(s.has('b', 400), false);
  assert.equal(s.has('a', 400), true);
  s.sweep(1250);
  assert.equal(s.size, 2, 'a (until 1200) swept; c, d kept');
  for (let i = 0; i < 100_000; i++) s.add(`x${i}`, 2000);
  assert.equal(s.size, 3, 'bounded under a flood');
});

test('LoadMeter: under load once the rate passes the threshold, and for holdMs after it last did', () => {
  const m = new LoadMeter({ perSecond: 10, burst: 10 }, 1000);
  for (let i = 0; i < 10; i++) assert.equal(m.note(0), false, `within the burst (${i})`);
  assert.equal(m.note(0), true, 'the 11th at once');
  assert.equal(m.underLoad(999), true);
  assert.equal(m.underLoad(1000), false, 'the hold has passed');
  // 10/s sustained is not load.
  for (let t = 2000; t < 10_000; t += 100) assert.equal(m.note(t), false, `at ${t}`);
});
