// End-to-end path liveness (src/forward/path-liveness.ts) on a virtual clock: a fake path that
// answers data-sized probes after a fixed RTT, or drops them from a given time on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NodeId } from '../../src/identity/node-id.js';
import { PathLiveness, type PathFailure } from '../../src/forward/path-liveness.js';

const C: NodeId = 3;
const D: NodeId = 4;

interface Sent {
  dst: NodeId;
  relays: readonly NodeId[];
  id: number;
  bytes: number;
  at: number;
}

class LivenessHarness {
  now = 0;
  readonly sent: Sent[] = [];
  readonly failures: PathFailure[] = [];
  /** Route per destination (relays). */
  readonly routes = new Map<NodeId, NodeId[]>([
    [C, [2]],
    [D, []],
  ]);
  /** RTT of the path; probes sent at or after dropFrom are lost; `lossEvery` loses every n-th probe. */
  rttMs = 20;
  dropFrom = Infinity;
  lossEvery = 0;
  private replies: Array<{ at: number; s: Sent }> = [];
  private nextId = 1;
  readonly live: PathLiveness;

  constructor() {
    this.live = new PathLiveness({
      pathOf: (dst) => this.routes.get(dst),
      send: (dst, relays, id, bytes, now) => {
        const s = { dst, relays, id, bytes, at: now };
        this.sent.push(s);
        const lost = now >= this.dropFrom || (this.lossEvery > 0 && this.sent.length % this.lossEvery === 0);
        if (!lost) this.replies.push({ at: now + this.rttMs, s });
        return true;
      },
      failed: (f) => this.failures.push(f),
      randomId: () => this.nextId++ * 2654435761,
    });
  }

  /** Data to `dst` every `everyMs` until `until`, ticking every 10 ms like the daemon. */
  run(until: number, data: { dst: NodeId; everyMs: number; bytes: number } | undefined): void {
    for (; this.now <= until; this.now += 10) {
      if (data && this.now % data.everyMs === 0) this.live.noteData(data.dst, data.bytes, this.now);
      for (const r of this.replies.filter((x) => x.at <= this.now))
        this.live.onReply(r.s.dst, r.s.id, this.now);
      this.replies = this.replies.filter((x) => x.at > this.now);
      this.live.tick(this.now);
    }
  }
}

test('no data, no probes; while data flows, 4 probes a second padded to the data size, along its route', () => {
  const h = new LivenessHarness();
  h.run(2000, undefined);
  assert.equal(h.sent.length, 0);
  h.run(4000, { dst: C, everyMs: 10, bytes: 1401 });
  const probes = h.sent.filter((s) => s.at > 2000 && s.at <= 4000);
  assert.ok(probes.length >= 7 && probes.length <= 9, `${probes.length} probes in 2 s`);
  assert.ok(probes.every((p) => p.bytes === 1401 && p.dst === C && p.relays.join() === '2'));
  assert.equal(h.failures.length, 0, 'an answering path never fails');
  // Data stops: probes stop once the active window (2 s) has passed.
  h.run(10_000, undefined);
  assert.equal(h.sent.filter((s) => s.at > 6100).length, 0);
});

test('a path that starts dropping data-sized packets is reported failed within 2 s, once', () => {
  const h = new LivenessHarness();
  h.run(3000, { dst: C, everyMs: 10, bytes: 1200 });
  h.dropFrom = 3005; // just after a probe went out: the worst case
  h.run(8000, { dst: C, everyMs: 10, bytes: 1200 });
  assert.equal(h.failures.length, 1, 'reported once while the path stays the same');
  const f = h.failures[0];
  const reportedAt = f.until - 30_000;
  assert.ok(reportedAt - 3005 <= 2000, `reported ${reportedAt - 3005} ms after the drop began`);
  assert.deepEqual([f.dst, [...f.relays], f.lost, f.bytes], [C, [2], 4, 1200]);
  assert.equal(h.live.lostInARow(C) >= 4, true);
});

test('random loss of single probes never marks a path failed; replies reset the count', () => {
  const h = new LivenessHarness();
  h.lossEvery = 3; // a third of all probes lost, but never four in a row
  h.run(60_000, { dst: C, everyMs: 10, bytes: 1000 });
  assert.equal(h.failures.length, 0);
});

test('a new route starts afresh: probes sent on the old one no longer count', () => {
  const h = new LivenessHarness();
  h.run(2000, { dst: C, everyMs: 10, bytes: 900 });
  h.dropFrom = 2000;
  h.run(2700, { dst: C, everyMs: 10, bytes: 900 }); // 3 lost, not yet 4
  assert.equal(h.failures.length, 0);
  h.routes.set(C, [5]); // routing moved the destination (say the link prober saw the relay die)
  h.dropFrom = Infinity;
  h.run(8000, { dst: C, everyMs: 10, bytes: 900 });
  assert.equal(h.failures.length, 0);
  assert.ok(
    h.sent.some((s) => s.relays.join() === '5'),
    'the new route is probed',
  );
});

test('the direct path is watched too (an MTU black hole: small packets pass, large ones are lost)', () => {
  const h = new LivenessHarness();
  h.run(1000, { dst: D, everyMs: 20, bytes: 1450 });
  h.dropFrom = 1000;
  h.run(4000, { dst: D, everyMs: 20, bytes: 1450 });
  assert.equal(h.failures.length, 1);
  assert.deepEqual([...h.failures[0].relays], [], 'empty relays: the direct link failed');
});

test('a reply counts only for its destination and an outstanding id; idle destinations are forgotten', () => {
  const h = new LivenessHarness();
  h.rttMs = 10_000; // nothing answers on its own
  h.run(300, { dst: C, everyMs: 10, bytes: 500 });
  const id = h.sent[0].id;
  assert.equal(h.live.onReply(D, id, h.now), false, 'another member cannot answer for C');
  assert.equal(h.live.onReply(C, id ^ 1, h.now), false, 'an id we never sent');
  assert.equal(h.live.onReply(C, id, h.now), true);
  assert.equal(h.live.onReply(C, id, h.now), false, 'each id once');
  assert.equal(h.live.size, 1);
  h.run(40_000, undefined);
  assert.equal(h.live.size, 0);
});

test('a probe the active window closed on before the timer came is not due again until data resumes', () => {
  // A late timer (a loaded host): the probe was due at 2000, the window of data sent at 0 ended at
  // 2000, and tick() runs at 2003. nextWakeAt() kept answering 2000, in the past, so the node's one
  // timer fired back to back until the destination was forgotten 28 s later (171 wake-ups a second
  // per daemon in a 25-site lab after an all-pairs ping).
  const h = new LivenessHarness();
  h.live.noteData(C, 100, 0);
  for (let t = 0; t <= 1750; t += 250) {
    h.live.tick(t);
    h.live.onReply(C, h.sent[h.sent.length - 1]!.id, t + 20);
  }
  assert.equal(h.live.nextWakeAt(), 2000, 'the next probe, still inside the window');
  h.live.tick(2003);
  assert.ok(h.live.nextWakeAt() > 2003, `next wake ${h.live.nextWakeAt()}: not in the past`);
  assert.equal(h.live.nextWakeAt(), 30_000, 'forgetting the idle destination');
  const sent = h.sent.length;
  h.live.noteData(C, 100, 5000);
  assert.ok(h.live.nextWakeAt() <= 5000, 'data again: a probe is due at once');
  h.live.tick(5000);
  assert.equal(h.sent.length, sent + 1);
});
