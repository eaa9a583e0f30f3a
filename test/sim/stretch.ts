// Path stretch: how much longer (in one-way latency) the routes the nodes selected are than the best
// path over every link that works right now — what a full mesh with perfect measurements could pick.
// Bounded neighbour sets trade some of this for O(K) probing; all-pairs probing should be near 1.
// Latency only: the routing cost also prices loss, so a chosen path may be a little slower on purpose.
import { seededRandom } from './rng.js';
import type { Simulator } from './simulator.js';

export interface Stretch {
  /** Per source-destination pair with a route: chosen latency / optimal latency. */
  ratios: number[];
  /** The same pairs: chosen latency − optimal latency, ms (one way). */
  extraMs: number[];
  /** Pairs reachable in the ground truth but without a valid route (should be 0 once converged). */
  missing: number;
  sources: number;
}

/** Stretch for up to `maxSources` sources (all destinations each); sampled at random beyond that. */
export function pathStretch(sim: Simulator, maxSources = 200, seed = 1): Stretch {
  const n = sim.size();
  const u = sim.underlay;
  const lat = new Float64Array(n * n).fill(Infinity);
  for (let a = 0; a < n; a++)
    for (let b = a + 1; b < n; b++) if (u.linkUp(a, b)) lat[a * n + b] = lat[b * n + a] = u.latencyMs(a, b);
  const rnd = seededRandom(seed);
  const sources = Array.from({ length: n }, (_, i) => i).filter((i) => u.isUp(i));
  while (sources.length > maxSources) sources.splice(Math.floor(rnd() * sources.length), 1);
  const out: Stretch = { ratios: [], extraMs: [], missing: 0, sources: sources.length };
  for (const s of sources) {
    const best = dijkstra(lat, n, s);
    for (let d = 0; d < n; d++) {
      if (d === s || best[d] === Infinity) continue;
      const route = sim.routeOf(s, sim.idOf(d));
      let sum = 0;
      for (let k = 0; route && k + 1 < route.nodes.length; k++) {
        const a = sim.indexOf(route.nodes[k]) as number;
        const b = sim.indexOf(route.nodes[k + 1]) as number;
        sum += lat[a * n + b];
      }
      if (!route || sum === Infinity) out.missing++;
      else {
        out.ratios.push(sum / best[d]);
        out.extraMs.push(sum - best[d]);
      }
    }
  }
  return out;
}

/** Dense O(n²) Dijkstra: the underlay is close to a full graph. */
function dijkstra(lat: Float64Array, n: number, s: number): Float64Array {
  const dist = new Float64Array(n).fill(Infinity);
  const done = new Uint8Array(n);
  dist[s] = 0;
  for (let it = 0; it < n; it++) {
    let u = -1;
    for (let v = 0; v < n; v++) if (!done[v] && (u < 0 || dist[v] < dist[u])) u = v;
    if (u < 0 || dist[u] === Infinity) break;
    done[u] = 1;
    const row = u * n;
    for (let v = 0; v < n; v++) {
      const w = dist[u] + lat[row + v];
      if (w < dist[v]) dist[v] = w;
    }
  }
  return dist;
}
