import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AntiEntropy } from '../../src/routing/anti-entropy.js';
import { Announcer } from '../../src/routing/announcer.js';
import { decodeControl } from '../../src/routing/control-codec.js';
import { LinkStateDb } from '../../src/routing/lsdb.js';
import { DEFAULT_ROUTING_PARAMS as P } from '../../src/routing/routing-params.js';
import { seededRandom } from '../sim/rng.js';

/** Times (ms) at which a node with `degree` neighbours, all up at t=0, sends a summary. */
function summaryTimes(degree: number, untilMs: number): number[] {
  const lsdb = new LinkStateDb(1);
  const send = (): void => {};
  const announcer = new Announcer(P, lsdb, { send });
  const times: number[] = [];
  const ae = new AntiEntropy(P, lsdb, announcer, {
    send: () => {},
    reply: () => true,
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
  // From then on about one per summaryBudgetMs in all, spread out: no 20 s window is silent (they
  // were: spaced from one bunched start, 160 links sent nothing for two minutes in between).
  const expected = 20_000 / P.summaryBudgetMs;
  let periodic = 0;
  for (let from = 5_000; from < 385_000; from += 20_000) {
    const inWindow = times.filter((t) => t >= from && t < from + 20_000).length;
    periodic += inWindow;
    assert.ok(
      inWindow >= 2 && inWindow <= expected * 4,
      `${inWindow} summaries in [${from}, ${from + 20_000}) ms`,
    );
  }
  assert.ok(Math.abs(periodic - 19 * expected) <= 19 * expected * 0.3, `${periodic} periodic summaries`);
});

test('a small network keeps the per-neighbour interval (antiEntropyMs)', () => {
  const times = summaryTimes(3, 100_000);
  const later = times.filter((t) => t > 2 * P.summaryDelayMs).length;
  // 3 neighbours, one summary each per ~15 s: about 20 in 100 s.
  assert.ok(later >= 14 && later <= 24, `${later} periodic summaries`);
});

// --- periodic digests ---------------------------------------------------------------------------

interface AeNode {
  id: number;
  lsdb: LinkStateDb;
  announcer: Announcer;
  ae: AntiEntropy;
}

/**
 * Two nodes exchanging anti-entropy messages over a lossless zero-delay link, in 10 ms steps. An
 * advert's bytes are just its key (origin:seq); `sent` logs every message: kind, size, sender.
 */
function pair(): {
  a: AeNode;
  b: AeNode;
  run: (untilMs: number) => void;
  sent: Array<[string, number, number]>;
} {
  const sent: Array<[string, number, number]> = [];
  const queue: Array<{ to: AeNode; from: number; bytes: Uint8Array }> = [];
  const nodes: AeNode[] = [];
  const make = (id: number): AeNode => {
    const lsdb = new LinkStateDb(id);
    const send = (n: number, bytes: Uint8Array): void => {
      queue.push({ to: nodes.find((x) => x.id === n) as AeNode, from: id, bytes });
    };
    const announcer = new Announcer(P, lsdb, { send });
    const reply = (n: number, bytes: Uint8Array): boolean => (send(n, bytes), true);
    const ae = new AntiEntropy(P, lsdb, announcer, {
      send,
      reply,
      isMember: () => true,
      random: seededRandom(id),
    });
    return { id, lsdb, announcer, ae };
  };
  nodes.push(make(1), make(2));
  const deliver = (now: number): void => {
    for (let m = queue.shift(); m; m = queue.shift()) {
      const msg = decodeControl(m.bytes);
      assert.ok(typeof msg !== 'string', msg as string);
      sent.push([msg.kind, m.bytes.byteLength, m.from]);
      const { to } = m;
      if (msg.kind === 'summary') to.ae.onSummary(m.from, msg.rangeLo, msg.rangeHi, msg.entries, now);
      else if (msg.kind === 'digest') to.ae.onDigest(m.from, msg, now);
      else if (msg.kind === 'announce') to.announcer.onAnnounce(m.from, msg.entries, now);
      else if (msg.kind === 'request') to.ae.onRequest(m.from, msg.origins, now);
      else {
        const [origin, seq] = new TextDecoder().decode(msg.advert).split(':').map(Number);
        to.lsdb.offer({ origin, seq, lifetimeMs: 3_600_000, links: [] }, msg.advert.slice(), now);
        to.ae.invalidate();
        to.announcer.received(origin, seq);
      }
    }
  };
  let now = 0;
  const run = (untilMs: number): void => {
    for (; now <= untilMs; now += 10) {
      for (const n of nodes) {
        n.ae.tick(now);
        n.announcer.tick(now);
      }
      deliver(now);
    }
  };
  return { a: nodes[0], b: nodes[1], run, sent };
}

function hold(n: AeNode, origin: number, seq: number): void {
  const bytes = new TextEncoder().encode(`${origin}:${seq}`);
  n.lsdb.offer({ origin, seq, lifetimeMs: 3_600_000, links: [] }, bytes, 0);
  n.ae.invalidate();
}

const ORIGINS = Array.from({ length: 300 }, (_, i) => ((i + 3) * 0x9e3779b1) >>> 0);

/** A pair holding the same 300 adverts, 1 s after their link came up (first rounds done). */
function linkedUp(): ReturnType<typeof pair> {
  const p = pair();
  for (const o of ORIGINS) for (const n of [p.a, p.b]) hold(n, o, 5);
  p.a.ae.neighborUp(p.b.id, 0);
  p.b.ae.neighborUp(p.a.id, 0);
  p.run(1000);
  return p;
}

test('in steady state a periodic round is a digest of a few hundred bytes, and equal databases answer nothing', () => {
  const { a, b, run, sent } = linkedUp();
  for (const n of [a, b])
    assert.equal(
      sent.find(([, , from]) => from === n.id)?.[0],
      'summary',
      'the first round is a full summary',
    );
  sent.length = 0;
  run(60_000);
  const digests = sent.filter(([kind]) => kind === 'digest');
  assert.ok(digests.length >= 6, `${digests.length} digests in a minute`);
  assert.deepEqual(
    sent.filter(([kind]) => kind !== 'digest'),
    [],
    'nothing differs, nothing else is sent',
  );
  // 300 origins: 32 buckets of 6 bytes, where a summary lists 300 × 12 bytes.
  assert.ok(
    digests.every(([, size]) => size <= 4 + 32 * 6),
    `digest sizes ${digests.map(([, s]) => s)}`,
  );
});

test('a digest finds what one side missed; only the differing buckets are summarised, then pulled', () => {
  const { a, b, run, sent } = linkedUp();
  // Lost floods: a holds a newer advert of one origin and one that b never heard of.
  const newer = ORIGINS[10];
  const unknown = 0x12345678;
  hold(a, newer, 6);
  hold(a, unknown, 1);
  sent.length = 0;
  run(40_000);
  assert.equal(b.lsdb.get(newer)?.seq, 6);
  assert.equal(b.lsdb.get(unknown)?.seq, 1);
  assert.equal(a.lsdb.get(newer)?.seq, 6, 'the newer side keeps its copy');
  const summaries = sent.filter(([kind]) => kind === 'summary');
  // One bucket summary per difference (at most two), each ~10 origins: far below a full summary.
  assert.ok(summaries.length >= 1 && summaries.length <= 4, `${summaries.length} summaries`);
  assert.ok(
    summaries.every(([, size]) => size < 11 + 40 * 12),
    `summary sizes ${summaries.map(([, s]) => s)}`,
  );
  assert.ok(b.ae.digestRepliesSent + a.ae.digestRepliesSent >= 1);
});
