// Attack 2 (issue 10): grow a victim's memory without bound. SUMMARY entries naming non-members were
// stored forever (24 MB of messages → +500 MB of heap). Here 24 MB of every kind of hostile control
// (HostileCraft.mixedRound: summaries and announcements of random origins and seqs, requests, junk
// digests, the attacker's own adverts and forgeries) go into a real Router, and every routing table
// stays within its bound (members, or members × neighbours), the heap with it, and honest routing
// carries on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { seededRandom } from '../sim/rng.js';
import { G, H, V, victimWorld, X } from './routing-hostile-member.js';

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
  const members = mesh.members.map((m) => m.id);
  let ownSeq = h.wall();
  const heap0 = heapAfterGc();

  let sent = 0;
  while (sent < 24 * 1024 * 1024) {
    sent += h.send(V, ...h.mixedRound(members, mesh.id(V), h.wall(), ++ownSeq, random));
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
