import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Advert } from '../../src/routing/advert.js';
import { LinkStateDb } from '../../src/routing/lsdb.js';

const SELF = 1;
const adv = (origin: number, seq: number, lifetimeMs = 120_000, links: number[] = []): Advert => ({
  origin,
  seq,
  lifetimeMs,
  links: links.map((n) => ({ neighbor: n, rttMs: 10, loss: 0, flags: 0 })),
});
const bytesOf = (a: Advert) => new Uint8Array([a.origin, a.seq & 0xff]);

test('only a strictly newer seq replaces an entry; equal is a duplicate, lower is stale', () => {
  const db = new LinkStateDb(SELF);
  assert.equal(db.offer(adv(2, 10), bytesOf(adv(2, 10)), 0), 'accepted');
  assert.equal(db.offer(adv(2, 10), bytesOf(adv(2, 10)), 1), 'duplicate');
  assert.equal(db.offer(adv(2, 9), bytesOf(adv(2, 9)), 2), 'stale');
  assert.equal(db.isNewer(2, 10), false);
  assert.equal(db.isNewer(2, 11), true);
  assert.equal(db.offer(adv(2, 11, 120_000, [3]), bytesOf(adv(2, 11)), 3), 'accepted');
  assert.equal(db.get(2)?.seq, 11);
  assert.ok(db.get(2)?.links.has(3));
});

test('entries expire lifetime ms after they were received, not after the origin said so', () => {
  const db = new LinkStateDb(SELF);
  db.offer(adv(2, 1, 5000), bytesOf(adv(2, 1)), 1000);
  db.offer(adv(3, 1, 60_000), bytesOf(adv(3, 1)), 1000);
  assert.deepEqual(db.expire(5999), []);
  assert.deepEqual(db.expire(6000), [2]);
  assert.equal(db.get(2), undefined);
  assert.ok(db.get(3));
});

test('our own advert never expires from our own database (we refresh it)', () => {
  const db = new LinkStateDb(SELF);
  db.installOwn(adv(SELF, 5, 1000), bytesOf(adv(SELF, 5)), 0);
  assert.deepEqual(db.expire(1_000_000), []);
});

test('an advert for our own origin with a seq at or above ours forces a jump above it', () => {
  const db = new LinkStateDb(SELF);
  // We restarted with a clock set back: our new seq is below our previous life's.
  const fresh = db.nextOwnSeq(1_000);
  db.installOwn(adv(SELF, fresh), bytesOf(adv(SELF, fresh)), 0);
  assert.equal(db.isNewer(SELF, 5_000), true);
  assert.equal(db.offer(adv(SELF, 5_000), bytesOf(adv(SELF, 5_000)), 1), 'own-newer');
  assert.ok(db.nextOwnSeq(1_000) > 5_000, 'the next origination goes above the remembered seq');
  assert.equal(db.get(SELF)?.seq, fresh, 'we never install someone else’s copy of us');
  // Our own current advert coming back is not news.
  const mine = db.get(SELF);
  assert.ok(mine);
  db.installOwn(adv(SELF, 5_001), bytesOf(adv(SELF, 5_001)), 2);
  assert.equal(db.offer(adv(SELF, 5_001), bytesOf(adv(SELF, 5_001)), 3), 'own-duplicate');
  assert.equal(db.offer(adv(SELF, 4_000), bytesOf(adv(SELF, 4_000)), 3), 'stale');
});

test('own seq follows the wall clock so a restart does not go backwards', () => {
  const db = new LinkStateDb(SELF);
  assert.equal(db.nextOwnSeq(1_700_000_000_000.7), 1_700_000_000_000);
  db.installOwn(adv(SELF, 1_700_000_000_000), new Uint8Array(), 0);
  assert.equal(db.nextOwnSeq(1_700_000_000_000), 1_700_000_000_001, 'never repeats within one ms');
});

test('origins that leave the member list are dropped', () => {
  const db = new LinkStateDb(SELF);
  db.offer(adv(2, 1), bytesOf(adv(2, 1)), 0);
  db.offer(adv(3, 1), bytesOf(adv(3, 1)), 0);
  assert.deepEqual(
    db.retainMembers((id) => id !== 3),
    [3],
  );
  assert.equal(db.size, 1);
});

test('summary is sorted, and compare finds what to request and what to send', () => {
  const db = new LinkStateDb(SELF);
  for (const [o, s] of [
    [5, 10],
    [2, 10],
    [9, 10],
    [7, 10],
  ])
    db.offer(adv(o, s), bytesOf(adv(o, s)), 0);
  assert.deepEqual(
    db.summary().map((e) => e.origin),
    [2, 5, 7, 9],
  );
  // The peer covers [0, 8]: newer 2, older 5, lacks 7, has 4 we lack; 9 is outside its range.
  const r = db.compare(
    0,
    8,
    [
      { origin: 2, seq: 11 },
      { origin: 4, seq: 1 },
      { origin: 5, seq: 9 },
    ],
    () => true,
  );
  assert.deepEqual(r.request.map((e) => e.origin).sort(), [2, 4]);
  assert.deepEqual(r.send.sort(), [5, 7]);
});
