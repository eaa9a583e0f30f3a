// Duplicate-key detection: two sessions of one member at two addresses taking turns (two machines
// with one key) is suspected; a rekey, a multihomed member, or a member that moves is not.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DuplicateKeyDetector, RETURNS_TO_SUSPECT, WINDOW_MS } from '../../src/node/duplicate-key.js';

const A = '198.51.100.1:7946';
const B = '198.51.100.2:7946';
const C = '198.51.100.3:7946';

/** Feeds (session, address) packets one second apart; returns how many reports came out. */
function feed(
  d: DuplicateKeyDetector,
  member: number,
  seq: Array<[number, string]>,
  clock: { t: number },
): number {
  let reports = 0;
  for (const [session, address] of seq) {
    for (let i = 0; i < 3; i++) if (d.seen(member, address, session, (clock.t += 100))) reports++; // a few packets each
    clock.t += 700;
  }
  return reports;
}

test('two sessions at two addresses in turn: suspected once per episode, naming both addresses', () => {
  const d = new DuplicateKeyDetector();
  const clock = { t: 0 };
  const turns: Array<[number, string]> = [
    [1, A],
    [2, B],
    [1, A],
    [2, B],
    [1, A],
    [2, B],
    [1, A],
    [2, B],
  ];
  assert.equal(feed(d, 7, turns.slice(0, RETURNS_TO_SUSPECT + 1), clock), 0, 'not before enough returns');
  assert.equal(feed(d, 7, turns.slice(RETURNS_TO_SUSPECT + 1), clock), 1, 'reported once');
  assert.deepEqual(new Set(d.suspected(7, clock.t)?.addresses), new Set([A, B]));
  assert.equal(d.suspected(8, clock.t), undefined, 'other members unaffected');
  clock.t += WINDOW_MS + 1;
  assert.equal(d.suspected(7, clock.t), undefined, 'a quiet window ends the episode');
  assert.equal(feed(d, 7, turns, clock), 1, 'a new flap is a new report');
});

test('rekeys, a multihomed member and a member that moves are not suspected', () => {
  const d = new DuplicateKeyDetector();
  const clock = { t: 0 };
  // Rekeys: new session, same address (and packets in flight on the previous one).
  assert.equal(
    feed(
      d,
      1,
      [
        [1, A],
        [2, A],
        [1, A],
        [2, A],
        [3, A],
        [2, A],
        [3, A],
      ],
      clock,
    ),
    0,
  );
  // Multihomed (probes to our v4 and v6 endpoints): one session, addresses alternate.
  assert.equal(
    feed(
      d,
      2,
      [
        [1, A],
        [1, B],
        [1, A],
        [1, B],
        [1, A],
        [1, B],
        [1, A],
      ],
      clock,
    ),
    0,
  );
  // Moves, rekeying as it goes: A → B → C, never back.
  assert.equal(
    feed(
      d,
      3,
      [
        [1, A],
        [2, B],
        [3, C],
        [3, C],
      ],
      clock,
    ),
    0,
  );
  for (const m of [1, 2, 3]) assert.equal(d.suspected(m, clock.t), undefined);
});
