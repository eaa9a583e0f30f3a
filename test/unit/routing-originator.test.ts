import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ADVERT_MAX_LINKS } from '../../src/routing/advert.js';
import { Originator, type OwnLink } from '../../src/routing/originator.js';
import { DEFAULT_ROUTING_PARAMS } from '../../src/routing/routing-params.js';

const params = { ...DEFAULT_ROUTING_PARAMS, jitterRatio: 0 };
const link = (neighbor: number, costMs: number): OwnLink => ({
  neighbor,
  rttMs: costMs * 2,
  loss: 0,
  costMs,
  active: false,
});

/** 200 links costing 10, 11, ... 209 ms; the first advert lists the cheapest 140. */
function fullOriginator(): { o: Originator; links: OwnLink[] } {
  const o = new Originator(params, () => 0.5);
  const links = Array.from({ length: 200 }, (_, i) => link(i + 1, 10 + i));
  const chosen = o.take(links, new Set(), 0);
  assert.equal(chosen.length, ADVERT_MAX_LINKS);
  return { o, links };
}

test('a full advert keeps its links when costs jitter around the cut-off', () => {
  const { o, links } = fullOriginator();
  // Link 141 (cost 150, just outside) gets slightly cheaper than link 140 (cost 149, just inside).
  links[140] = link(141, 148);
  o.consider(141, links[140], 0);
  assert.equal(o.isPending(), false, 'no advert for a boundary shuffle');
  const again = o.take(links, new Set(), 40_000);
  assert.ok(again.some((l) => l.neighbor === 140) && !again.some((l) => l.neighbor === 141));
});

test('a clearly cheaper unadvertised link enters a full advert as drift, not as news', () => {
  const { o, links } = fullOriginator();
  links[150] = link(151, 20);
  o.consider(151, links[150], 0);
  assert.equal(o.isPending(), true);
  assert.equal(o.dueAt(), params.driftIntervalMs, 'waits the drift interval, not the 1 s of good news');
  assert.ok(o.take(links, new Set(), o.dueAt()).some((l) => l.neighbor === 151));
});

test('below the cap a new link is good news within a second', () => {
  const o = new Originator(params, () => 0.5);
  o.take([link(1, 10), link(2, 20)], new Set(), 0);
  o.consider(3, link(3, 30), 0);
  assert.equal(o.dueAt(), params.goodNewsIntervalMs);
});

test('a full advert always lists the links that carry data, however costly', () => {
  const { o, links } = fullOriginator();
  links[199] = { ...link(200, 209), active: true };
  const chosen = o.take(links, new Set(), 40_000);
  assert.ok(chosen.some((l) => l.neighbor === 200));
  assert.equal(chosen.length, ADVERT_MAX_LINKS);
});

test('an idle node refreshes its advert every 15 min (±10 %), and the advert outlives three lost refreshes', () => {
  // Refreshes carry no news and cost every node a copy: at 30 s they were the whole control budget
  // at N = 100, and at 5 min still a third of an idle overlay's adverts. Anti-entropy, not refreshes,
  // repairs lost adverts.
  const o = new Originator(DEFAULT_ROUTING_PARAMS, () => 0); // jitter factor 0.9: the earliest refresh
  o.take([link(1, 10)], new Set(), 0);
  assert.equal(o.isPending(), false);
  assert.equal(o.dueAt(), 810_000);
  const latest = new Originator(DEFAULT_ROUTING_PARAMS, () => 0.999_999);
  latest.take([link(1, 10)], new Set(), 0);
  assert.ok(DEFAULT_ROUTING_PARAMS.advertLifetimeMs > 3 * latest.dueAt(), 'lifetime covers 3 late refreshes');
});

test('each advert is counted under the most pressing reason it went out for', () => {
  const o = new Originator(params, () => 0.5);
  const links = [link(1, 10), link(2, 20), link(3, 30), link(4, 40)];
  for (const l of links) o.consider(l.neighbor, l, 0);
  o.take(links, new Set(), 0); // first links, while we had none
  o.consider(4, { ...links[3], rttMs: 200 }, 0);
  o.take(links, new Set(), 20_000); // an RTT moved
  o.consider(3, { ...links[2], mtu: 1300 }, 20_000);
  o.take(links, new Set(), 40_000); // a link MTU
  o.withdraw(2, 'dead');
  o.take(links, new Set(), 60_000); // an idle link died
  o.withdraw(1, 'carried-data');
  o.take(links, new Set(), 80_000); // a link carrying data died
  o.take(links, new Set(), 400_000); // nothing new
  assert.deepEqual(o.takenBy, { urgent: 1, prompt: 2, news: 1, drift: 1, refresh: 1 });
  assert.deepEqual(o.driftBy, { rtt: 1, loss: 0, unmeasured: 0, displaced: 0 });
});

test('a drift advert is counted under what first made it due', () => {
  const o = new Originator(params, () => 0.5);
  const links = [link(1, 10), link(2, 20), link(3, 30), link(4, 40)];
  o.take(links, new Set(), 0);
  o.withdraw(2, 'unmeasured');
  o.consider(1, { ...links[0], rttMs: 200 }, 0); // a second reason before the advert: not counted
  o.take(links, new Set(), 20_000);
  o.consider(3, { ...links[2], loss: 0.5 }, 40_000);
  o.take(links, new Set(), 60_000);
  assert.deepEqual(o.driftBy, { rtt: 0, loss: 1, unmeasured: 1, displaced: 0 });
});

test('a link turning active is no news; a link no longer measured waits like drift; a dead one does not', () => {
  const o = new Originator(params, () => 0.5);
  const links = [link(1, 10), link(2, 20), link(3, 30), link(4, 40)];
  o.take(links, new Set(), 0);
  o.consider(1, { ...links[0], active: true }, 0);
  assert.equal(o.isPending(), false, 'flagging a link ACTIVE is no reason to speak');
  assert.ok(o.dueAt() >= params.refreshMs * (1 - params.jitterRatio), 'only the refresh is due');
  o.take(links, new Set(), 20_000);
  o.withdraw(2, 'unmeasured');
  assert.equal(o.dueAt(), 20_000 + params.driftIntervalMs, 'a link let go by the probe set: drift');
  o.withdraw(3, 'dead');
  assert.equal(o.dueAt(), 20_000 + params.goodNewsIntervalMs, 'an idle link that died: within a second');
  o.withdraw(4, 'carried-data');
  assert.equal(o.dueAt(), 20_000 + params.minOriginationIntervalMs, 'a link that carried data: at once');
  assert.deepEqual(o.takenBy, { urgent: 0, prompt: 0, news: 0, drift: 0, refresh: 2 });
});

test('only the advert after a link that carried data died is flagged urgent for forwarders', () => {
  const o = new Originator(params, () => 0.5);
  const links = [link(1, 10), link(2, 20), link(3, 30), link(4, 40)];
  o.take(links, new Set(), 0);
  o.withdraw(2, 'unmeasured');
  o.take(links, new Set(), 20_000);
  assert.equal(o.tookCarrierLoss, false, 'a link let go by the probe set');
  o.withdraw(3, 'dead');
  o.take(links, new Set(), 40_000);
  assert.equal(o.tookCarrierLoss, false, 'an idle link that died');
  o.force();
  o.take(links, new Set(), 60_000);
  assert.equal(o.tookCarrierLoss, false, 'a forced advert (seq jump, member reload)');
  o.withdraw(4, 'carried-data');
  o.take(links, new Set(), 80_000);
  assert.equal(o.tookCarrierLoss, true, 'a link that carried data');
  o.take(links, new Set(), 400_000);
  assert.equal(o.tookCarrierLoss, false, 'the next one is not');
  // A carried link lost while a forced advert is already pending still flags it.
  o.force();
  o.withdraw(1, 'carried-data');
  o.take(links, new Set(), 420_000);
  assert.equal(o.tookCarrierLoss, true, 'forced, and a link that carried data died');
});

test("an RTT move within the link's own jitter is noise, not drift", () => {
  const o = new Originator(params, () => 0.5);
  const jittery = { ...link(1, 10), rttMs: 10, jitterMs: 30 };
  o.take([jittery, link(2, 20), link(3, 30)], new Set(), 0);
  o.consider(1, { ...jittery, rttMs: 25 }, 0); // +150 % and +15 ms, but within 30 ms of jitter
  assert.equal(o.isPending(), false);
  o.consider(1, { ...jittery, rttMs: 45 }, 0); // beyond it
  assert.equal(o.isPending(), true);
  assert.equal(o.dueAt(), params.driftIntervalMs);
});

test('a hiccup that lifts the smoothed RTT but not the recent minimum is noise, not drift', () => {
  // Sub-ms link on a busy host: one reply held 30 ms lifts srtt from 1 to ~4.6 ms (beyond 20 % and
  // 2 ms, and beyond the slow jitter), while the minimum of the last samples stays at 1 ms.
  const o = new Originator(params, () => 0.5);
  const quiet = { ...link(1, 0.5), rttMs: 1, baseRttMs: 1, jitterMs: 0.5 };
  o.take([quiet, link(2, 20), link(3, 30)], new Set(), 0);
  o.consider(1, { ...quiet, rttMs: 4.6, jitterMs: 2.3 }, 0);
  assert.equal(o.isPending(), false, 'a hiccup');
  // The path itself got slower: every sample is 10 ms now, and the minimum follows within a few.
  o.consider(1, { ...quiet, rttMs: 6, baseRttMs: 10, jitterMs: 2.3 }, 0);
  assert.equal(o.isPending(), true, 'a real change');
  assert.equal(o.dueAt(), params.driftIntervalMs);
});

test('RTT drift is advertised only once it has stayed moved for an interval', () => {
  // A busy host holds replies for seconds: the RTT of a sub-ms link moves beyond every threshold (the
  // recent minimum too) and comes back. Advertising it costs the network two adverts for a hiccup.
  const o = new Originator(params, () => 0.5);
  const quiet = { ...link(1, 0.5), rttMs: 1, baseRttMs: 1, jitterMs: 0.2 };
  o.take([quiet, link(2, 20), link(3, 30)], new Set(), 0);
  const slow = { ...quiet, rttMs: 8, baseRttMs: 7 };
  o.consider(1, slow, 30_000); // long after the last advert
  assert.equal(o.isPending(), true);
  assert.equal(o.dueAt(), 30_000 + params.driftIntervalMs, 'held an interval from when it moved');
  o.consider(1, { ...slow, rttMs: 9 }, 33_000); // still moved: the hold runs on
  assert.equal(o.dueAt(), 40_000);
  o.consider(1, { ...quiet, rttMs: 1.2 }, 35_000); // the hiccup is over before the interval
  assert.equal(o.isPending(), false, 'no advert');
  assert.equal(o.driftFaded, 1);
  o.consider(1, { ...quiet, inDoubt: true, rttMs: 30, baseRttMs: 30 }, 36_000);
  assert.equal(o.isPending(), false, 'a link losing probes in a row is in flux, not moved');

  // The path itself got slower and stays so: advertised once the interval has passed.
  o.consider(1, slow, 50_000);
  o.consider(1, slow, 55_000);
  assert.equal(o.dueAt(), 60_000);
  o.take([slow, link(2, 20), link(3, 30)], new Set(), 60_000);
  assert.deepEqual(o.driftBy, { rtt: 1, loss: 0, unmeasured: 0, displaced: 0 });
  assert.equal(o.isPending(), false);
});

test('loss drift is held the same way; drift that is not a measurement only waits for spacing', () => {
  const o = new Originator(params, () => 0.5);
  const links = [link(1, 10), link(2, 20), link(3, 30)];
  o.take(links, new Set(), 0);
  o.consider(2, { ...links[1], loss: 0.3 }, 40_000);
  assert.equal(o.dueAt(), 50_000);
  o.consider(2, links[1], 45_000);
  assert.equal(o.isPending(), false, 'loss back to 0 within the interval');
  o.withdraw(3, 'unmeasured');
  assert.ok(
    o.dueAt() <= 60_000,
    'a link let go by the probe set only waits for the spacing since the last advert',
  );
});
