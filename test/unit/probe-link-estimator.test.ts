import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LinkEstimator } from '../../src/probe/link-estimator.js';
import { DEFAULT_PROBE_PARAMS } from '../../src/probe/probe-params.js';

const est = () => new LinkEstimator(DEFAULT_PROBE_PARAMS);

test('srtt starts at the first sample and converges to a new steady RTT (RFC 6298 gains)', () => {
  const e = est();
  e.onSample(100, 0);
  assert.equal(e.srttMs, 100);
  assert.equal(e.rttvarMs, 50);
  for (let i = 1; i <= 60; i++) e.onSample(20, i);
  assert.ok(Math.abs(e.srttMs - 20) < 0.1, `srtt ${e.srttMs}`);
  assert.ok(e.rttvarMs < 0.5, `rttvar ${e.rttvarMs}`);
  // One step of alpha = 1/8 toward a new sample.
  e.onSample(28, 61);
  assert.ok(Math.abs(e.srttMs - (20 + (28 - 20) / 8)) < 0.1);
});

test('recent RTT is the minimum of the last few samples, last RTT the latest', () => {
  const e = est();
  for (const r of [50, 30, 40, 45, 60, 55, 70]) e.onSample(r, 0);
  assert.equal(e.lastRttMs, 70);
  assert.equal(e.recentRttMs, 40); // 30 has left the 5-sample window
});

test('jitter is the smoothed mean deviation of consecutive RTTs', () => {
  const e = est();
  e.onSample(10, 0);
  for (let i = 0; i < 400; i++) e.onSample(i % 2 === 0 ? 14 : 10, i);
  assert.ok(Math.abs(e.jitterMs - 4) < 0.05, `jitter ${e.jitterMs}`);
  const steady = est();
  for (let i = 0; i < 50; i++) steady.onSample(10, i);
  assert.equal(steady.jitterMs, 0);
});

test('loss ratio covers a sliding window of the last 20 probes', () => {
  const e = est();
  for (let i = 0; i < 15; i++) e.onSample(10, i);
  for (let i = 0; i < 3; i++) e.onLost(0, 0);
  e.onSample(10, 20);
  e.onSample(10, 21);
  assert.equal(e.lossRatio, 3 / 20);
  for (let i = 0; i < 20; i++) e.onSample(10, 30 + i);
  assert.equal(e.lossRatio, 0, 'old losses slide out of the window');
});

test('a link dies after exactly 4 consecutive losses, not 3', () => {
  const e = est();
  e.onSample(10, 0);
  assert.equal(e.onLost(0, 0), 'none');
  assert.equal(e.onLost(0, 0), 'none');
  assert.equal(e.onLost(0, 0), 'none');
  assert.equal(e.alive, true);
  assert.equal(e.onLost(0, 0), 'down');
  assert.equal(e.alive, false);
  assert.equal(e.onLost(0, 0), 'none', 'already dead');
});

test('a reply between losses resets the consecutive count', () => {
  const e = est();
  e.onSample(10, 0);
  for (let round = 0; round < 5; round++) {
    e.onLost(0, 0);
    e.onLost(0, 0);
    e.onLost(0, 0);
    e.onSample(10, round);
  }
  assert.equal(e.alive, true);
});

test('a dead link revives on the first reply', () => {
  const e = est();
  e.onSample(10, 0);
  for (let i = 0; i < 4; i++) e.onLost(0, 0);
  assert.equal(e.onSample(12, 5), 'up');
  assert.equal(e.alive, true);
  assert.equal(e.lastReplyAt, 5);
  // Measured afresh: the outage's losses and the old RTT are gone.
  assert.equal(e.lossRatio, 0);
  assert.equal(e.srttMs, 12);
  assert.equal(e.consecutiveLost, 0);
});

test('timeout is srtt + 4·rttvar + 20 ms clamped to [100, 4000], 1000 ms before any sample', () => {
  const e = est();
  assert.equal(e.timeoutMs(DEFAULT_PROBE_PARAMS), 1000);
  for (let i = 0; i < 100; i++) e.onSample(10, i);
  assert.equal(e.timeoutMs(DEFAULT_PROBE_PARAMS), 100, 'floor');
  const slow = est();
  for (let i = 0; i < 100; i++) slow.onSample(300, i);
  assert.ok(Math.abs(slow.timeoutMs(DEFAULT_PROBE_PARAMS) - 320) < 1);
  const awful = est();
  awful.onSample(5000, 0);
  assert.equal(awful.timeoutMs(DEFAULT_PROBE_PARAMS), 4000, 'ceiling');
});
