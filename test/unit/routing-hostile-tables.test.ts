// The small pieces the router uses against hostile members: token buckets, the wall-clock seq window,
// per-(origin, neighbour) claims and requests, high-water marks, budgets. Whole attacks are in
// test/adversary/.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Prober } from '../../src/probe/prober.js';
import { ControlBudgets } from '../../src/routing/control-budgets.js';
import { Holders } from '../../src/routing/holders.js';
import { LinkStateDb } from '../../src/routing/lsdb.js';
import { Requests } from '../../src/routing/requests.js';
import { DEFAULT_ROUTING_PARAMS as P } from '../../src/routing/routing-params.js';
import { seqVerdict } from '../../src/routing/seq-bounds.js';
import { TokenBucket } from '../../src/routing/token-bucket.js';

test('a token bucket starts full, refills at its rate up to its capacity, and takes all or nothing', () => {
  const shape = { capacity: 10, perSecond: 2 };
  const b = new TokenBucket(shape, 0);
  assert.equal(b.take(10, shape, 0), true);
  assert.equal(b.take(1, shape, 0), false);
  assert.equal(b.take(1, shape, 499), false, 'one token takes 500 ms');
  assert.equal(b.take(1, shape, 500), true);
  assert.equal(b.take(3, shape, 1500), false, 'two tokens, not three: nothing taken');
  assert.equal(b.take(2, shape, 1500), true);
  assert.equal(b.isFull(shape, 100_000), true, 'never beyond capacity');
});

test('seqs are plausible from wall − lifetime − skew to wall + skew', () => {
  const wall = 1_700_000_000_000;
  const skew = P.maxClockSkewMs;
  assert.equal(seqVerdict(wall + skew, 120_000, wall, P), undefined);
  assert.equal(seqVerdict(wall + skew + 1, 120_000, wall, P), 'seq-in-future');
  assert.equal(seqVerdict(wall - 120_000 - skew, 120_000, wall, P), undefined);
  assert.equal(seqVerdict(wall - 120_000 - skew - 1, 120_000, wall, P), 'stale-seq');
  assert.equal(seqVerdict(Number.MAX_SAFE_INTEGER, 120_000, wall, P), 'seq-in-future');
});

test('holders keep each neighbour’s claim; forgetting one leaves the others', () => {
  const h = new Holders();
  h.note(7, 50, 100);
  h.note(8, 50, Number.MAX_SAFE_INTEGER);
  h.note(7, 50, 90); // older news changes nothing
  assert.equal(h.seqOf(7, 50), 100);
  assert.equal(h.best(50, () => true)?.n, 8);
  h.forget(8, 50);
  assert.deepEqual(
    h.best(50, () => true),
    { n: 7, seq: 100 },
  );
  assert.equal(h.holds(7, 50, 100), true);
  h.forgetNeighbor(7);
  assert.equal(h.size, 0);
});

test('requests: one per (origin, neighbour), at most four per origin, settled by the advert, timed out once', () => {
  const r = new Requests(1000);
  for (let n = 1; n <= 4; n++) assert.equal(r.add(50, n, 100 + n, 0), true);
  assert.equal(r.add(50, 5, 200, 0), false, 'a fifth claimant waits');
  assert.equal(r.fetching(50, 101, 2, 10), true, 'seq 101 is on its way from 1');
  assert.equal(r.fetching(50, 101, 1, 10), false, 'not from another neighbour than 1 itself');
  r.settled(50, 102); // 1 and 2 asked for ≤ 102
  assert.equal(r.size, 2);
  assert.deepEqual(r.takeTimedOut(999), []);
  assert.deepEqual(
    r.takeTimedOut(1000).map((x) => x.n),
    [3, 4],
  );
  assert.equal(r.size, 0);
  assert.equal(r.dueAt(), Infinity);
});

test('a high-water mark outlives its entry: a replay after expiry is refused, a newer advert is not', () => {
  const db = new LinkStateDb(1);
  const adv = (seq: number) => ({ origin: 50, seq, lifetimeMs: 1000, links: [] });
  assert.equal(db.offer(adv(10), new Uint8Array(100), 0), 'accepted');
  assert.equal(db.bytes, 100);
  assert.deepEqual(db.expire(1000), [50]);
  assert.equal(db.bytes, 0);
  assert.equal(db.isNewer(50, 10), false);
  assert.equal(db.offer(adv(9), new Uint8Array(1), 1000), 'replayed');
  assert.equal(db.offer(adv(11), new Uint8Array(1), 1000), 'accepted');
  db.expire(3000);
  assert.equal(db.forgetHighWaterBelow(11), 0, 'kept: not below 11');
  assert.equal(db.forgetHighWaterBelow(12), 1);
  assert.equal(db.highWaterSize, 0);
});

test('budgets follow the network size, refill, are kept per member and forgotten once full again', () => {
  const sizes = { members: 100, adverts: 100, advertBytes: 100_000 };
  const b = new ControlBudgets(P, () => sizes);
  let verified = 0;
  while (b.verification(7, 0)) verified++;
  assert.equal(verified, 2 * 100 + 64);
  assert.equal(b.verification(8, 0), true, 'another neighbour has its own');
  let replied = 0;
  while (b.reply(7, 1000, 0)) replied++;
  assert.equal(replied, 216, 'bytes run out first: 2 × 100 kB + 16 kB in 1 kB replies');
  assert.equal(b.mayOriginate(9, 0), true);
  for (let k = 0; k < 20; k++) b.originated(9, 0);
  assert.equal(b.mayOriginate(9, 0), false, 'a burst of 20 adverts');
  assert.equal(b.mayOriginate(9, 500), true, 'then 2 a second');
  b.sweep(3_600_000, () => true);
  assert.equal(b.size, 0, 'all refilled: forgotten');
});

test('the prober remembers, for three of its longest idle intervals, the endpoint a member’s direct probes came from', () => {
  const prober = new Prober({ ports: { sendProbe: () => true } });
  prober.setEndpoints(7, ['10.0.0.7:7946']);
  assert.equal(prober.probedUs(7, 0), undefined);
  prober.onProbeReceived(7, '10.0.0.7:7946', 1000, 42);
  assert.equal(prober.probedUs(7, 1000), '10.0.0.7:7946');
  // A member on a stable idle link probes us every idleMaxIntervalMs (8 s): it stays a neighbour.
  assert.equal(prober.probedUs(7, 1000 + 3 * prober.params.idleMaxIntervalMs), '10.0.0.7:7946');
  assert.equal(prober.probedUs(7, 1001 + 3 * prober.params.idleMaxIntervalMs), undefined);
  prober.onProbeReceived(8, 'x', 1000, 1); // not a member: nothing kept
  assert.equal(prober.probedUs(8, 1000), undefined);
});
