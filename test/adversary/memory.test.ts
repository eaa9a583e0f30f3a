// Attack 2 (issue 10): grow a victim's memory without bound. SUMMARY entries naming non-members were
// stored forever (24 MB of messages → +500 MB of heap). Here 24 MB of every kind of hostile control —
// summaries and announcements of random origins and seqs, requests, junk digests, the attacker's own
// adverts and forgeries — go into a real Router, and every routing table stays within its bound
// (members, or members × neighbours), the heap with it, and honest routing carries on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import type { SummaryEntry } from '../../src/routing/control-codec.js';
import { seededRandom } from '../sim/rng.js';
import { G, H, SKEW_MS, V, victimWorld, X } from './hostile-member.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

test('24 MB of hostile control leave every routing table and the heap bounded', (t) => {
  const { mesh, h } = victimWorld();
  const v = mesh.routers[V];
  const random = seededRandom(10);
  const u32 = (): number => Math.floor(random() * 0x1_0000_0000);
  const members = mesh.members.map((m) => m.id);
  const member = (): number => members[Math.floor(random() * members.length)];
  let ownSeq = h.wall();
  const heap0 = heapAfterGc();

  let sent = 0;
  while (sent < 24 * 1024 * 1024) {
    const wall = h.wall();
    const junk: SummaryEntry[] = Array.from({ length: 99 }, () => ({ origin: u32(), seq: u32() }));
    // Claims of any kind: strangers, members at seqs past the wall clock, plausible but never held.
    const claims: SummaryEntry[] = Array.from({ length: 99 }, (_, k) => ({
      origin: k % 3 === 0 ? u32() : member(),
      seq: k % 3 === 1 ? wall + SKEW_MS + u32() : wall + Math.floor(random() * SKEW_MS),
    }));
    const asks = Array.from({ length: 299 }, () => (random() < 0.5 ? member() : u32()));
    sent += h.send(
      V,
      ...h.summary(junk.filter((e, k) => junk.findIndex((f) => f.origin === e.origin) === k)),
    );
    sent += h.send(V, ...h.announce(claims));
    sent += h.send(V, h.request(asks));
    sent += h.send(V, h.junkDigest(Math.floor(random() * 8), random));
    sent += h.send(V, h.ownAdvert(++ownSeq, [V, X]));
    sent += h.send(V, h.forgedAdvert(G, wall + 1));
    sent += h.send(V, ...h.summary(members.map((origin) => ({ origin, seq: wall + 1 }))));
    mesh.advance(10);
    mesh.inbox[H].length = 0; // what V sent back is the attacker's memory, not V's
  }

  const heapGrowth = heapAfterGc() - heap0;
  assert.ok(heapGrowth < 16 * 1024 * 1024, `heap grew ${(heapGrowth / 1e6).toFixed(1)} MB`);
  const state = v.stats().state;
  t.diagnostic(
    `${(sent / 1e6).toFixed(1)} MB sent; heap +${(heapGrowth / 1e6).toFixed(2)} MB; ${JSON.stringify(state)}`,
  );
  const m = members.length;
  const neighbours = 2;
  const bounds: Record<string, number> = {
    lsdb: m,
    highWater: m,
    holders: m * neighbours,
    requests: 4 * m,
    announcePending: m * neighbours,
    antiEntropy: 2 * neighbours,
    budgets: 2 * m,
    neighbors: neighbours,
  };
  for (const [table, n] of Object.entries(state))
    assert.ok(n <= (bounds[table] ?? 0), `${table}: ${n} entries (bound ${bounds[table]})`);
  mesh.advance(5000);
  assert.deepEqual(mesh.route(V, X), [V, G, X], 'honest routing unaffected');
});
