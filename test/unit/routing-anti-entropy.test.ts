import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AntiEntropy } from '../../src/routing/anti-entropy.js';
import { Announcer } from '../../src/routing/announcer.js';
import { LinkStateDb } from '../../src/routing/lsdb.js';
import { DEFAULT_ROUTING_PARAMS as P } from '../../src/routing/routing-params.js';
import { seededRandom } from '../sim/rng.js';

/** Times (ms) at which a node with `degree` neighbours, all up at t=0, sends a summary. */
function summaryTimes(degree: number, untilMs: number): number[] {
  const lsdb = new LinkStateDb(1);
  const send = (): void => {};
  const announcer = new Announcer(P, lsdb, { send, isMember: () => true });
  const times: number[] = [];
  const ae = new AntiEntropy(P, lsdb, announcer, {
    send: () => {},
    isMember: () => true,
    random: seededRandom(7),
  });
  for (let n = 2; n < 2 + degree; n++) ae.neighborUp(n, 0);
  for (let now = ae.dueAt(); now <= untilMs; now = ae.dueAt()) {
    const before = ae.summariesSent;
    ae.tick(now);
    for (let k = before; k < ae.summariesSent; k++) times.push(now);
  }
  return times;
}

test('links that came up together get their first summaries at once, then an even budget (no silent minutes)', () => {
  const degree = 160;
  const times = summaryTimes(degree, 400_000);
  const first = times.filter((t) => t < 2 * P.summaryDelayMs).length;
  assert.ok(first >= degree && first < degree + 5, `${first} summaries in the first second: one each`);
  // From then on about one a second in all (summaryBudgetMs), spread out: every 20 s window has some.
  for (let from = 5_000; from < 380_000; from += 20_000) {
    const inWindow = times.filter((t) => t >= from && t < from + 20_000).length;
    assert.ok(inWindow >= 8 && inWindow <= 40, `${inWindow} summaries in [${from}, ${from + 20_000}) ms`);
  }
});

test('a small network keeps the per-neighbour interval (antiEntropyMs)', () => {
  const times = summaryTimes(3, 100_000);
  const later = times.filter((t) => t > 2 * P.summaryDelayMs).length;
  // 3 neighbours, one summary each per ~15 s: about 20 in 100 s.
  assert.ok(later >= 14 && later <= 24, `${later} periodic summaries`);
});
