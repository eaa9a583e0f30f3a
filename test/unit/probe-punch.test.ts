import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProbeHarness } from './probe-harness.js';

const A = 101;

test('a punch probes each endpoint every punchIntervalMs, `probes` times, and forgets it without a reply', () => {
  const h = new ProbeHarness({ punchIntervalMs: 200 });
  h.prober.setEndpoints(A, []);
  assert.deepEqual(h.prober.punch(A, ['x', 'y'], 4, 0), ['x', 'y']);
  h.runUntil(10_000);
  for (const k of ['x', 'y'])
    assert.deepEqual(
      h.sentTo(k).map((p) => Math.round(p.at)),
      [0, 200, 400, 600],
    );
  assert.deepEqual(h.prober.endpoints(A), [], 'forgotten: nothing answered');
  assert.equal(h.prober.link(A), undefined);
});

test('a punched endpoint that answers is a measured link whose origin is punched', () => {
  const h = new ProbeHarness({ punchIntervalMs: 200 });
  h.prober.setEndpoints(A, []);
  h.rtt.set('nat', 15);
  h.prober.punch(A, ['nat', 'wrong'], 10, 0);
  h.runUntil(60_000);
  const link = h.prober.link(A);
  assert.equal(link?.alive, true);
  assert.equal(link?.endpointKey, 'nat');
  assert.equal(link?.origin, 'punched');
  assert.deepEqual(
    h.prober.endpoints(A).map((e) => e.endpointKey),
    ['nat'],
  );
  assert.equal(h.sentTo('wrong').length, 10, 'the unanswered one got its ten probes and no more');
});

test('a punch leaves listed and proven endpoints alone, and keeps at most maxPunchEndpoints candidates', () => {
  const h = new ProbeHarness({ maxPunchEndpoints: 3 });
  h.rtt.set('listed', 10);
  h.prober.setEndpoints(A, ['listed']);
  h.runUntil(2000);
  assert.equal(h.prober.link(A)?.origin, 'listed');
  const keys = ['listed', ...Array.from({ length: 20 }, (_, i) => `p${i}`)];
  h.prober.punch(A, keys, 5, h.now);
  // Only the first maxPunchEndpoints keys of one punch are taken; the listed one is not a candidate.
  assert.deepEqual(
    h.prober.endpoints(A).map((e) => `${e.endpointKey}:${e.origin}`),
    ['listed:listed', 'p0:punched', 'p1:punched'],
  );
  for (let i = 0; i < 10; i++) h.prober.punch(A, [`q${i}`], 5, h.now);
  assert.equal(h.prober.endpoints(A).filter((e) => e.origin === 'punched').length, 3, 'the oldest made room');
  assert.equal(h.prober.link(A)?.endpointKey, 'listed');
});

test('a punch starts an active window only when it names an endpoint to try', () => {
  const h = new ProbeHarness({ maxPunchEndpoints: 3 });
  h.rtt.set('listed', 10);
  h.prober.setEndpoints(A, ['listed']);
  h.runUntil(60_000); // the idle link has backed off
  const idleBefore = h.sentTo('listed').length;
  h.prober.punch(A, ['listed'], 5, h.now); // the asker still reached over the link we measure
  assert.equal(h.prober.stats().activationsBy.punch, 0);
  h.runUntil(62_000);
  assert.ok(h.sentTo('listed').length - idleBefore <= 1, 'the listed link stays on its idle schedule');
  h.prober.punch(A, ['listed', 'new'], 5, h.now);
  assert.equal(h.prober.stats().activationsBy.punch, 1, 'a new candidate: measured at the fast rate');
});
