// Attack 4 (issue 10), CPU: an 11-byte empty SUMMARY says "I hold nothing anywhere", and answering it
// meant walking every origin we hold (1.5–3 ms at N = 1000–2000) — per message, at whatever rate they
// came. Examining summaries is now budgeted per sender in origins examined (control-budgets.ts), and
// a summary over budget costs two binary searches. (Timed: the margin is ~20×, not a close call.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Mesh } from '../unit/routing-mesh.js';
import { HostileMember } from './routing-hostile-member.js';

const N = 2000;
const [V, G, H] = [0, 1, 2];

test(`a flood of empty SUMMARYs costs a victim holding ${N} adverts a bounded amount of work`, (t) => {
  // Only V runs a router; G (honest) and H (hostile) are its neighbours, the rest of the network
  // exists as adverts G hands over: a ring 1–2–…–(N−1)–1, with G linked to V.
  const external = Array.from({ length: N - 1 }, (_, i) => i + 1);
  const mesh = new Mesh(N, undefined, { external });
  const g = new HostileMember(mesh, G);
  const h = new HostileMember(mesh, H);
  mesh.setLink(V, G, 10);
  mesh.setLink(V, H, 10);
  mesh.advance(2000); // V's own first advert is out
  const seq = g.wall();
  const ring = (k: number): number[] => [k === 1 ? N - 1 : k - 1, k === N - 1 ? 1 : k + 1];
  for (let k = 1; k < N; k++) g.send(V, g.advertOf(k, seq, k === G ? [V, ...ring(k)] : ring(k)));
  mesh.advance(1000);
  const v = mesh.routers[V];
  assert.equal(v.stats().lsdbSize, N, 'V holds every advert');

  const messages = 5000;
  const t0 = performance.now();
  for (let i = 0; i < messages; i++) h.send(V, h.emptySummary());
  const ms = performance.now() - t0;
  t.diagnostic(
    `${messages} empty summaries: ${ms.toFixed(0)} ms (${((1000 * ms) / messages).toFixed(0)} µs each)`,
  );
  // Unbudgeted, each costs a walk over every origin (0.4–3 ms at N = 2000, depending on the machine):
  // seconds in all. Budgeted, a few walks (3 full exchanges' worth), the rest refused after two
  // binary searches: tens of ms.
  assert.ok(ms < 500, `${messages} empty summaries took ${ms.toFixed(0)} ms`);
  assert.ok((v.stats().rejected['summary-budget'] ?? 0) >= messages - 10);
  // What the victim still owes the attacker is one announcement of each advert, not one per summary.
  assert.ok(v.stats().state.announcePending <= N);
  mesh.advance(1000);
  assert.ok(v.route(mesh.id(G)), 'honest routing unaffected');
});
