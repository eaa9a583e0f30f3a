// Attack 3 (issue 10): replay a stale signed advert when the victim holds no entry for its origin —
// after the entry expired, or after the victim restarted. The signature is genuine (the origin did
// say it, long ago), so only the seq can tell: below the origin's high-water mark (kept past
// expiry), or older than the wall clock allows (after a restart, when no mark survived).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_ROUTING_PARAMS } from '../../src/routing/routing-params.js';
import type { Mesh } from '../unit/routing-mesh.js';
import { G, V, victimWorld, X, type HostileMember } from './routing-hostile-member.js';

const { advertLifetimeMs: LIFETIME_MS, maxClockSkewMs: SKEW_MS } = DEFAULT_ROUTING_PARAMS;

/** The victim world, where H has captured X's current advert (it asked V for it). */
function capturedWorld(): { mesh: Mesh; h: HostileMember; replay: Uint8Array } {
  const { mesh, h } = victimWorld();
  h.send(V, h.request([mesh.id(X)]));
  const replay = h.captured(X);
  assert.ok(replay, 'V answered the request with X’s advert');
  // X is cut off from everyone: its adverts stop reaching V, which forgets it after a lifetime.
  mesh.setLink(G, X, undefined);
  return { mesh, h, replay };
}

test('an advert replayed after the victim’s copy expired is below the high-water mark and refused', () => {
  const { mesh, h, replay } = capturedWorld();
  mesh.advance(LIFETIME_MS + 10_000);
  const v = mesh.routers[V];
  assert.equal(v.stats().lsdbSize, 2, 'X’s advert expired at V');
  const accepted = v.stats().advertsAccepted;
  h.send(V, replay);
  assert.equal(v.stats().advertsAccepted, accepted, 'the replay was not accepted');
  assert.equal(v.stats().lsdbSize, 2, 'X stays forgotten');
  assert.equal(v.stats().rejected['replayed'], 1);
  assert.deepEqual(mesh.route(V, G), [V, G], 'honest routing unaffected');
});

test('an advert older than lifetime + clock skew is refused by a victim that restarted (no mark left)', () => {
  const { mesh, h, replay } = capturedWorld();
  mesh.advance(LIFETIME_MS + SKEW_MS + 60_000); // older than lifetime + skew
  mesh.boot(V); // a restart: no database, no high-water marks
  mesh.advance(3000);
  const v = mesh.routers[V];
  assert.deepEqual(mesh.route(V, G), [V, G], 'the restarted victim converged with its honest neighbour');
  const accepted = v.stats().advertsAccepted;
  h.send(V, replay);
  assert.equal(v.stats().advertsAccepted, accepted, 'the replay was not accepted');
  assert.equal(v.stats().lsdbSize, 2, 'only G and V itself');
  assert.equal(v.stats().rejected['stale-seq'], 1);
});
