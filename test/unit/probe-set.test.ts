import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_PROBE_PARAMS } from '../../src/probe/probe-params.js';
import { ProbeSet } from '../../src/probe/probe-set.js';

const params = { ...DEFAULT_PROBE_PARAMS, maxProbedMembers: 4, randomProbedMembers: 1, jitterRatio: 0 };
const candidates = Array.from({ length: 40 }, (_, i) => i + 1);

function seeded(): () => number {
  let s = 5;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

function members(set: ProbeSet): number[] {
  return candidates.filter((m) => set.has(m));
}

test('the set holds K chosen members and replaces one that stays dead', () => {
  const set = new ProbeSet(params, seeded());
  set.tick(0, candidates, () => 10);
  const first = members(set);
  assert.equal(first.length, 4);
  const victim = first[0];
  const score = (m: number) => (m === victim ? Infinity : 10);
  set.tick(1000, candidates, score);
  set.tick(1000 + params.deadReplaceMs + 1, candidates, score);
  assert.ok(!set.has(victim), 'replaced');
  assert.equal(members(set).length, 4);
  // Counted by why: four slots filled at start, one dead member replaced by a fifth pick.
  assert.equal(set.changesBy.filled, 5);
  assert.equal(set.changesBy['dead-replaced'], 1);
});

test('cut off from nearly everyone, the set tries several more members at once', () => {
  const set = new ProbeSet(params, seeded());
  set.tick(0, candidates, () => 10);
  set.tick(300, candidates, () => Infinity);
  assert.equal(members(set).length, 4, 'not before they had time to answer');
  set.tick(2000, candidates, () => Infinity);
  assert.ok(members(set).length > 4, `rescue grew the set to ${members(set).length}`);
});

test('members that probe us are probed back, up to 2K of them, and forgotten when they stop', () => {
  const set = new ProbeSet(params, seeded());
  set.tick(0, candidates, () => 10);
  const outsiders = candidates.filter((m) => !set.has(m));
  for (const m of outsiders.slice(0, 12)) set.noteProbedBy(m, 100);
  const reciprocal = outsiders.filter((m) => set.has(m));
  assert.equal(reciprocal.length, 8, '2K');
  set.tick(100 + params.reciprocalTtlMs + 300, candidates, () => 10);
  assert.ok(!set.has(reciprocal[0]));
  assert.equal(set.changesBy['reciprocal-added'], 8);
  assert.equal(set.changesBy['reciprocal-expired'], 8);
});

test('our own picks probing us back take no reciprocal slot, and one we stop choosing that still probes us stays', () => {
  const set = new ProbeSet(params, seeded());
  set.tick(0, candidates, () => 50);
  const chosen = members(set);
  for (const m of chosen) set.noteProbedBy(m, 100);
  assert.ok(
    chosen.every((m) => !set.probesOnlyInReturn(m)),
    'ours: probed for our own reasons',
  );
  // All 2K slots are still free for members that chose us: counted, our K picks took half of them,
  // and a node cut off by a partition found no pick that would probe it back.
  const outsiders = candidates.filter((m) => !set.has(m));
  for (const m of outsiders.slice(0, 12)) set.noteProbedBy(m, 100);
  const reciprocal = outsiders.filter((m) => set.has(m));
  assert.equal(reciprocal.length, 8, '2K besides our picks');
  assert.ok(reciprocal.every((m) => set.probesOnlyInReturn(m)));
  assert.equal(set.changesBy['reciprocal-added'], 8, 'our picks are no change');
  // An explorer measuring 10 displaces the worst pick (all 50): that pick still chooses us (it probed
  // us at 100 and keeps doing so), so its link stays, now in return.
  set.tick(params.exploreIntervalMs + 1, candidates, () => 50);
  const explorer = candidates.find((m) => set.has(m) && !chosen.includes(m) && !reciprocal.includes(m));
  assert.ok(explorer !== undefined);
  for (const m of chosen) set.noteProbedBy(m, params.exploreIntervalMs + 2);
  set.tick(params.exploreIntervalMs + params.exploreTrialMs + 2, candidates, (m) =>
    m === explorer ? 10 : 50,
  );
  assert.equal(set.changesBy['explorer-won'], 1);
  const displaced = chosen.filter((m) => set.probesOnlyInReturn(m));
  assert.equal(displaced.length, 1);
  assert.ok(
    chosen.every((m) => set.has(m)),
    'no link withdrawn',
  );
});

test('an explorer is on trial (invisible to routing) and takes a slot only if clearly better', () => {
  const set = new ProbeSet(params, seeded());
  set.tick(0, candidates, () => 50);
  const chosen = members(set);
  set.tick(params.exploreIntervalMs + 1, candidates, () => 50);
  const explorer = candidates.find((m) => set.has(m) && !chosen.includes(m));
  assert.ok(explorer !== undefined);
  assert.ok(set.isTrial(explorer));
  // The explorer measures 10 against everyone else's 50: it is promoted.
  set.tick(params.exploreIntervalMs + params.exploreTrialMs + 2, candidates, (m) =>
    m === explorer ? 10 : 50,
  );
  assert.ok(set.has(explorer) && !set.isTrial(explorer));
  assert.equal(members(set).length, 4);
  assert.equal(set.changesBy['explorer-won'], 1);
});

test('an explorer only a little better (under 25 % or under 2 ms) does not take a slot: noise does not churn the set', () => {
  for (const [explorerScore, others] of [
    [40, 50], // 20 % better
    [1.5, 3], // 50 % better, but 1.5 ms
  ]) {
    const set = new ProbeSet(params, seeded());
    set.tick(0, candidates, () => others);
    const chosen = members(set);
    set.tick(params.exploreIntervalMs + 1, candidates, () => others);
    const explorer = candidates.find((m) => set.has(m) && !chosen.includes(m));
    assert.ok(explorer !== undefined);
    set.tick(params.exploreIntervalMs + params.exploreTrialMs + 2, candidates, (m) =>
      m === explorer ? explorerScore : others,
    );
    assert.ok(!set.has(explorer), `${explorerScore} against ${others} took a slot`);
    assert.deepEqual(members(set), chosen);
  }
});

test('a pick that never answers is replaced without restarting exploration; exploration keeps backing off', () => {
  const set = new ProbeSet(params, seeded());
  let score = (_m: number): number => 10;
  set.tick(0, candidates, score);
  // Two trials that find nothing better: the gap doubles 30 → 60 → 120 s.
  for (const t of [30_000, 35_000, 95_000, 100_000]) set.tick(t, candidates, score);
  assert.equal(set.nextEventAt(), 220_000);
  // A chosen member leaves the configuration; its replacement is a blocked pair and never answers.
  const before = members(set);
  set.forget(before[0]);
  set.tick(101_000, candidates, score);
  const pick = members(set).find((m) => !before.includes(m));
  assert.ok(pick !== undefined, 'a replacement was picked');
  score = (m) => (m === pick ? Infinity : 10);
  for (let t = 101_200; t < 106_000; t += 200) set.tick(t, candidates, score);
  assert.ok(!set.has(pick), 'the silent pick was replaced');
  // The next trial, finding nothing, doubles the gap from 120 s (not from a reset 30 s).
  set.tick(220_000, candidates, score);
  set.tick(225_000, candidates, score);
  assert.equal(set.nextEventAt(), 225_000 + 240_000);
});

test('a dead chosen member with a slow round trip (timeout 2 s) is replaced after three timeouts, not deadReplaceMs', () => {
  const set = new ProbeSet(params, seeded());
  set.tick(0, candidates, () => 10);
  const victim = members(set)[0];
  const score = (m: number) => (m === victim ? Infinity : 10);
  const timeout = (m: number) => (m === victim ? 2000 : 100);
  set.tick(1000, candidates, score, timeout);
  set.tick(1000 + 5900, candidates, score, timeout);
  assert.ok(set.has(victim), 'kept for 5.9 s');
  set.tick(1000 + 6100, candidates, score, timeout);
  assert.ok(!set.has(victim), 'replaced after 6 s');
  assert.equal(set.changesBy['dead-replaced'], 1);
});

test('a pick that has not answered yet gets the patience of the members that have (its session may be in its handshake)', () => {
  const set = new ProbeSet(params, seeded());
  set.tick(0, candidates, () => 10);
  const victim = members(set)[0];
  const score = (m: number) => (m === victim ? Infinity : 10);
  const timeout = (m: number) => (m === victim ? undefined : 2000);
  set.tick(1000, candidates, score, timeout);
  set.tick(1000 + 5900, candidates, score, timeout);
  assert.ok(set.has(victim), 'kept for 5.9 s');
  set.tick(1000 + 6100, candidates, score, timeout);
  assert.ok(!set.has(victim), 'replaced after 6 s');
});
