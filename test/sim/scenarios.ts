// Scenario steps shared by the simulator tests and benchmarks/scale.ts: each runs one event on a
// started Simulator and measures how long the routing core takes to converge again.
import {
  TRAFFIC_TYPES,
  trafficDelta,
  type TrafficByType,
  type TrafficType,
} from '../../src/node/control-traffic.js';
import { seededRandom } from './rng.js';
import type { Simulator } from './simulator.js';

export interface Convergence {
  /** Virtual ms from the event until no pair was bad any more (undefined: never within the limit). */
  allPairsMs: number | undefined;
  /** Per pair broken by the event: virtual ms until it had a valid path again (those that did). */
  pairMs: number[];
  /** Virtual ms from the event until every watched flow had a valid path again. */
  flowsMs: number | undefined;
  /** Bad pairs right after the event (how much it broke). */
  badAfterEvent: number;
  cpuMs: number;
}

/** Runs until converged (or `maxMs`), timing from `eventAt`. */
export function measure(sim: Simulator, eventAt: number, maxMs: number, cpuStart: number): Convergence {
  const badAfterEvent = sim.checker.badCount;
  const broken = sim.checker.badPairs();
  const at = sim.runUntilConverged(maxMs, 2000, 10);
  const c = sim.checker;
  const pairMs: number[] = [];
  for (const k of broken) {
    const fixed = c.fixedTime(k);
    if (fixed !== undefined) pairMs.push(Math.max(0, fixed - eventAt));
  }
  return {
    allPairsMs: at === undefined ? undefined : Math.max(0, at - eventAt),
    pairMs,
    flowsMs: c.watchedBad === 0 ? Math.max(0, c.watchedGoodSince - eventAt) : undefined,
    badAfterEvent,
    cpuMs: performance.now() - cpuStart,
  };
}

/** Starts every node and waits for the first convergence. */
export function startUp(sim: Simulator, maxMs = 30_000): Convergence {
  const t0 = performance.now();
  sim.start();
  return measure(sim, 0, maxMs, t0);
}

/** Adds `count` random bidirectional flows (seeded) and lets their paths turn active. */
export function addFlows(sim: Simulator, count: number, seed: number, settleMs = 3000): void {
  const rnd = seededRandom(seed);
  const n = sim.size();
  for (let added = 0, tries = 0; added < count && tries < 100 * count; tries++) {
    const s = Math.floor(rnd() * n);
    const d = Math.floor(rnd() * n);
    if (s === d || !sim.routeOf(s, sim.idOf(d))) continue;
    sim.addFlow(s, d);
    added++;
  }
  sim.run(settleMs);
}

/** Cuts a link that some flow's path uses right now (preferring one in the middle of a multi-hop path). */
export function cutUsedLink(sim: Simulator): { link: [number, number]; result: Convergence } | undefined {
  let best: [number, number] | undefined;
  for (const [s, d] of sim.flowPairs()) {
    const r = sim.routeOf(s, sim.idOf(d));
    if (!r) continue;
    const k = Math.floor((r.nodes.length - 1) / 2);
    const a = sim.indexOf(r.nodes[k]) as number;
    const b = sim.indexOf(r.nodes[k + 1]) as number;
    if (!best || r.nodes.length > 2) best = [a, b];
    if (r.nodes.length > 2) break;
  }
  if (!best) return undefined;
  const t0 = performance.now();
  const at = sim.now();
  sim.failLink(best[0], best[1]);
  return { link: best, result: measure(sim, at, 30_000, t0) };
}

/** Splits off the nodes with x < `fraction` (a region losing its connectivity to the rest). */
export function partitionRegion(sim: Simulator, fraction: number, maxMs = 30_000): Convergence {
  const groups = Array.from({ length: sim.size() }, (_, i) =>
    sim.underlay.position(i).x < fraction ? 1 : 0,
  );
  const t0 = performance.now();
  const at = sim.now();
  sim.partition(groups);
  return measure(sim, at, maxMs, t0);
}

export function heal(sim: Simulator, maxMs = 30_000): Convergence {
  const t0 = performance.now();
  const at = sim.now();
  sim.heal();
  return measure(sim, at, maxMs, t0);
}

export interface SteadyTraffic {
  /** Probes and echoes, bytes per node per second. */
  probeBps: number;
  /** Routing messages (adverts, announces, requests, summaries, digests), bytes per node per second. */
  controlBps: number;
  /** Bytes per node per second by message type. */
  byType: Record<TrafficType, number>;
}

/** Control and probe bytes per node per second over `ms` of virtual time with nothing happening. */
export function steadyTraffic(sim: Simulator, ms: number): SteadyTraffic {
  const a = sim.trafficSnapshot();
  sim.run(ms);
  const d = trafficDelta(a, sim.trafficSnapshot());
  return perNodeSecond(d, sim.size(), ms);
}

/** A traffic delta over `ms` for `nodes` nodes, as bytes per node per second. */
export function perNodeSecond(d: TrafficByType, nodes: number, ms: number): SteadyTraffic {
  const div = nodes * (ms / 1000);
  const byType = Object.fromEntries(TRAFFIC_TYPES.map((t) => [t, d[t].bytes / div])) as Record<
    TrafficType,
    number
  >;
  const probeBps = byType.probe + byType.echo;
  const all = TRAFFIC_TYPES.reduce((sum, t) => sum + byType[t], 0);
  return { probeBps, controlBps: all - probeBps, byType };
}
