// The per-link MTU search (pmtu/link-mtu-search.ts) on a virtual clock, against modelled links: one
// that carries everything, an MTU black hole (silently drops above a size), random loss at the
// boundary, a path that grows, one that shrinks suddenly, and a link that goes down mid-round.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_LINK_MTU,
  LinkMtuSearch,
  spread,
  type LinkMtuParams,
} from '../../src/pmtu/link-mtu-search.js';

const FLOOR = 1232;
const TOP = 1449;
const P: LinkMtuParams = { ...DEFAULT_LINK_MTU, floor: FLOOR, top: TOP };
const RTT = 20;

/** A link that delivers datagrams up to `max()` bytes, after RTT/2 each way; `lose` drops one probe. */
class Sim {
  now = 0;
  rounds = 0;
  probes = 0;
  readonly sizesSeen: number[] = [];
  constructor(
    readonly s: LinkMtuSearch,
    public max: number,
    public lose: (size: number) => boolean = () => false,
  ) {}

  /** Runs the search until `until` (virtual ms), stepping to each wake-up. */
  run(until: number): void {
    while (true) {
      const at = Math.max(this.now, this.s.nextWakeAt());
      if (at > until) {
        this.now = until;
        return;
      }
      this.now = at;
      const sizes = this.s.tick(this.now, RTT);
      if (sizes.length === 0) continue;
      this.rounds++;
      this.probes += sizes.length;
      this.sizesSeen.push(...sizes);
      const replyAt = this.now + RTT;
      const answered = sizes.filter((x) => x <= this.max && !this.lose(x));
      // Replies arrive one round trip later, before the round's wait (at least 3 RTTs) is up.
      for (const x of answered) this.s.onReply(x, replyAt);
      if (answered.length === sizes.length) this.now = replyAt;
    }
  }
}

describe('link MTU search', () => {
  it('confirms a clean link in one round: the largest size is always probed first', () => {
    const sim = new Sim(new LinkMtuSearch(P, 0), TOP);
    assert.equal(sim.s.mtu, TOP, 'optimistic before any answer');
    sim.run(1000);
    assert.equal(sim.s.state, 'settled');
    assert.equal(sim.s.mtu, TOP);
    assert.equal(sim.rounds, 1);
    assert.ok(sim.probes <= P.sizesPerRound);
  });

  it('finds a black hole to within the precision, never above it, in about a second', () => {
    for (const hole of [1233, 1252, 1272, 1300, 1400, 1448]) {
      const sim = new Sim(new LinkMtuSearch(P, 0), hole);
      sim.run(60_000);
      assert.equal(sim.s.state, 'settled', `hole ${hole}`);
      assert.ok(sim.s.mtu <= hole && sim.s.mtu >= hole - P.precision, `hole ${hole}: found ${sim.s.mtu}`);
      assert.ok(
        sim.sizesSeen.every((x) => x > FLOOR && x <= TOP),
        'probes stay between floor and top',
      );
    }
    const sim = new Sim(new LinkMtuSearch(P, 0), 1272);
    while (sim.s.state !== 'settled') sim.run(sim.now + 10);
    const settledAt = sim.now;
    assert.ok(settledAt <= 2000, `settled after ${settledAt} ms`);
  });

  it('uses the best size known to pass as soon as a round shows the one in use fails', () => {
    const sim = new Sim(new LinkMtuSearch(P, 0), 1272);
    // Two rounds of misses (two misses each make a failure), then the known-good size is in use.
    while (sim.s.mtu === TOP) sim.run(sim.now + 10);
    assert.ok(sim.s.mtu <= 1272, `${sim.s.mtu}`);
    assert.equal(sim.s.state, 'searching');
    sim.run(sim.now + 30_000);
    assert.ok(sim.s.mtu >= 1272 - P.precision);
  });

  it('a single lost probe at a size that fits does not lower the link', () => {
    let lost = false;
    // The first probe of the true size is lost once: it must be retried, not counted as too big.
    const sim = new Sim(new LinkMtuSearch(P, 0), TOP, (x) => {
      if (x === TOP && !lost) return (lost = true);
      return false;
    });
    sim.run(10_000);
    assert.ok(lost);
    assert.equal(sim.s.mtu, TOP);
    assert.equal(sim.s.state, 'settled');
  });

  it('re-probes slowly and finds a path that grew', () => {
    const sim = new Sim(new LinkMtuSearch(P, 0), 1300);
    sim.run(10_000);
    const first = sim.s.mtu;
    assert.ok(first <= 1300);
    const probes = sim.probes;
    sim.max = TOP;
    sim.run(P.reprobeMs - 1000);
    assert.equal(sim.probes, probes, 'nothing between re-probes');
    assert.equal(sim.s.mtu, first);
    sim.run(P.reprobeMs + 20_000);
    assert.equal(sim.s.mtu, TOP);
  });

  it('searches again at once, at and below the size in use, when large packets start failing', () => {
    const sim = new Sim(new LinkMtuSearch(P, 0), TOP);
    sim.run(5000);
    assert.equal(sim.s.mtu, TOP);
    sim.max = 1280; // the path shrank
    const before = sim.sizesSeen.length;
    const suspectedAt = sim.now;
    sim.s.suspect(sim.now);
    assert.equal(sim.s.nextWakeAt(), sim.now, 'a round is due now');
    while (sim.s.state !== 'settled') sim.run(sim.now + 10);
    assert.ok(sim.now - suspectedAt < P.suspectHoldMs, `${sim.now - suspectedAt} ms`);
    assert.ok(sim.sizesSeen.slice(before).every((x) => x <= TOP));
    assert.ok(sim.s.mtu <= 1280 && sim.s.mtu >= 1280 - P.precision, `${sim.s.mtu}`);
    // A second suspicion right after is held off (a path failing for another reason must not keep the
    // link searching).
    const rounds = sim.rounds;
    sim.s.suspect(sim.now);
    sim.run(sim.now + 1000);
    assert.equal(sim.rounds, rounds);
  });

  it('a round abandoned while the link is down does not count its probes as too big', () => {
    const s = new LinkMtuSearch(P, 0);
    const sizes = s.tick(0, RTT);
    assert.ok(sizes.length > 0);
    s.abandonRound(100);
    // Down twice: the same sizes again, still unanswered, still no failure.
    s.tick(100, RTT);
    s.abandonRound(200);
    assert.equal(s.mtu, TOP);
    const again = s.tick(200, RTT);
    assert.deepEqual(again, sizes, 'the same round again');
    for (const x of again) s.onReply(x, 220);
    assert.equal(s.state, 'settled');
    assert.equal(s.mtu, TOP);
  });

  it('ignores answers larger than the top (a member with a larger configured MTU)', () => {
    const s = new LinkMtuSearch(P, 0);
    s.tick(0, RTT);
    s.onReply(TOP + 100, 10);
    assert.equal(s.state, 'searching');
  });
});

describe('spread', () => {
  it('gives up to k sizes strictly inside the range, the largest one below the ceiling', () => {
    assert.deepEqual(spread(1232, 1450, 6), [1268, 1304, 1341, 1377, 1413, 1449]);
    assert.deepEqual(spread(1270, 1274, 6), [1271, 1272, 1273]);
    assert.deepEqual(spread(1270, 1271, 6), []);
  });
});
