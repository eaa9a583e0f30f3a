// 200 simulated nodes running the real routing core (real Ed25519 adverts) on a modelled underlay
// with random latencies, policy-blocked pairs and lossy links. After each event — start, a used link
// cut, a region partitioned off, the partition healed — every node must again have a valid,
// loop-free path to every node it can reach in the ground truth (see checks.ts), within a bound.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addFlows, cutUsedLink, heal, partitionRegion, startUp } from './scenarios.js';
import { Simulator } from './simulator.js';

const N = 200;

test(`${N} nodes converge, fail over in under a second, survive a partition and heal`, () => {
  const sim = new Simulator({
    nodes: N,
    seed: 2026,
    startSpreadMs: 500,
    // Bounded neighbour sets: 8 chosen members (+ reciprocity) rather than all 199 — the setting a
    // network this size should run with.
    probe: { maxProbedMembers: 8 },
    // Every advert is signed and verified with real Ed25519; identical (signature, message, key)
    // triples seen by several simulated nodes are verified once (see verify-cache.ts).
    verifyCache: true,
  });
  const problems = (): string => sim.checker.describeBad().join('; ');

  const start = startUp(sim, 20_000);
  assert.ok(start.allPairsMs !== undefined, `no convergence after start: ${problems()}`);
  assert.ok(start.allPairsMs < 8000, `start took ${start.allPairsMs} ms`);

  addFlows(sim, 20, 7);
  assert.equal(sim.checker.badCount, 0, problems());

  const cut = cutUsedLink(sim);
  assert.ok(cut, 'no flow path to cut');
  assert.ok(cut.result.badAfterEvent > 0, 'the cut link was in use');
  assert.ok(
    cut.result.flowsMs !== undefined && cut.result.flowsMs < 1000,
    `flows recovered after ${cut.result.flowsMs} ms`,
  );
  assert.ok(
    cut.result.allPairsMs !== undefined && cut.result.allPairsMs < 3000,
    `all pairs: ${cut.result.allPairsMs} ms`,
  );

  const split = partitionRegion(sim, 0.25);
  assert.ok(split.badAfterEvent > 0, 'the partition broke routes');
  // One idle gap (8 s) plus detection and flooding: 8.5–10.5 s over seeds 2026, 1, 2, 3 (2026-12-08),
  // moved by any change to the probe schedule's timing (the seeded run is chaotic, not slower).
  assert.ok(
    split.allPairsMs !== undefined && split.allPairsMs < 12_000,
    `partition: ${split.allPairsMs} ms, ${problems()}`,
  );

  sim.run(2000);
  const healed = heal(sim);
  assert.ok(healed.badAfterEvent > 0, 'healing made new pairs reachable');
  assert.ok(
    healed.allPairsMs !== undefined && healed.allPairsMs < 15_000,
    `heal: ${healed.allPairsMs} ms, ${problems()}`,
  );
  assert.equal(sim.checker.badCount, 0);
  assert.ok(sim.verifier.realVerifications > 500, 'signatures were really checked');
});
