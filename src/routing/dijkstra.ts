// Shortest paths from one source over integer link costs (see cost.ts COST_SCALE).
//
// Ties are broken the same way on every node — lower cost, then fewer hops, then the
// lexicographically smaller sequence of NodeIds from the source — so that nodes holding the same
// link-state compute the same paths, whatever order their maps happen to iterate in.
//
// Paths are limited to `maxHops` links (the routed header holds at most 7 relays). The limit is
// applied by not extending labels that already have maxHops hops; that finds the cheapest path
// within the limit unless a cheaper-but-longer path to an intermediate node hides a slightly dearer
// shorter one, which the per-hop cost floor makes rare and which at worst costs a detour.
//
// This runs on every node after every topology change, so it works on a compact snapshot of the
// graph (CSR arrays indexed 0…n-1, see LinkGraph.snapshot) with typed-array labels and an inline
// heap: about ten times faster than the same algorithm over Maps keyed by 32-bit NodeIds.
import type { NodeId } from '../identity/node-id.js';

export interface AdjacencyGraph {
  /** Neighbours of `u` with integer link costs (> 0), or undefined when `u` has none. */
  adjacency(u: NodeId): ReadonlyMap<NodeId, number> | undefined;
}

/** Compressed sparse rows: the neighbours of node i are targets[offsets[i] … offsets[i+1]). */
export interface CsrGraph {
  ids: readonly NodeId[];
  index: ReadonlyMap<NodeId, number>;
  offsets: Int32Array;
  targets: Int32Array;
  weights: Float64Array;
  /**
   * 1 at a neighbour of the source that a path may end at but not relay through (see graph.ts: a
   * neighbour that has not proven the source's address drops what the source asks it to relay).
   */
  endOnly?: Uint8Array;
}

/**
 * Builds a CSR snapshot of `nodes` and their adjacency. `ids`/`index` may be passed in and are
 * extended in place (neighbours outside `nodes` are added): a caller that rebuilds often keeps them,
 * so only the arrays are rebuilt.
 */
export function toCsr(
  nodes: Iterable<NodeId>,
  graph: AdjacencyGraph,
  ids: NodeId[] = [],
  index: Map<NodeId, number> = new Map(),
): CsrGraph {
  const add = (id: NodeId): number => {
    let i = index.get(id);
    if (i === undefined) {
      i = ids.length;
      ids.push(id);
      index.set(id, i);
    }
    return i;
  };
  for (const id of nodes) add(id);
  let e = 0;
  for (let i = 0; i < ids.length; i++) {
    const adj = graph.adjacency(ids[i]);
    if (adj) for (const v of adj.keys()) add(v);
    e += adj?.size ?? 0;
  }
  const offsets = new Int32Array(ids.length + 1);
  const targets = new Int32Array(e);
  const weights = new Float64Array(e);
  let k = 0;
  for (let i = 0; i < ids.length; i++) {
    offsets[i] = k;
    const adj = graph.adjacency(ids[i]);
    if (!adj) continue;
    for (const [v, w] of adj) {
      if (!(w > 0) || w === Infinity) continue;
      targets[k] = index.get(v) as number;
      weights[k++] = w;
    }
  }
  offsets[ids.length] = k;
  return { ids, index, offsets, targets: targets.subarray(0, k), weights: weights.subarray(0, k) };
}

export class ShortestPathTree {
  constructor(
    readonly source: NodeId,
    private readonly g: CsrGraph,
    private readonly dist: Float64Array,
    private readonly hops: Int32Array,
    private readonly prev: Int32Array,
  ) {}

  /** Integer cost units from the source, or undefined when unreachable. */
  costUnits(dst: NodeId): number | undefined {
    const i = this.at(dst);
    return i === undefined ? undefined : this.dist[i];
  }

  hopsTo(dst: NodeId): number | undefined {
    const i = this.at(dst);
    return i === undefined ? undefined : this.hops[i];
  }

  /** Index of a reached node (the index map may have grown since the snapshot was taken). */
  private at(dst: NodeId): number | undefined {
    const i = this.g.index.get(dst);
    return i === undefined || i >= this.hops.length || this.hops[i] < 0 ? undefined : i;
  }

  /** Number of nodes reached, the source included. */
  get size(): number {
    let n = 0;
    for (let i = 0; i < this.hops.length; i++) if (this.hops[i] >= 0) n++;
    return n;
  }

  /** source … dst, or undefined when dst is unreachable (or is the source). */
  pathTo(dst: NodeId): NodeId[] | undefined {
    const i = this.at(dst);
    if (i === undefined || this.hops[i] === 0) return undefined;
    const out = new Array<NodeId>(this.hops[i] + 1);
    for (let k = this.hops[i], n = i; k >= 0; k--, n = this.prev[n]) out[k] = this.g.ids[n];
    return out;
  }

  /** Whether link a–b is on the tree (one end is the other's predecessor). */
  usesEdge(a: NodeId, b: NodeId): boolean {
    const i = this.at(a);
    const j = this.at(b);
    return i !== undefined && j !== undefined && (this.prev[j] === i || this.prev[i] === j);
  }

  /**
   * Whether a link a–b costing `units` could give some node a path at least as good as its tree
   * path (a tie may still win on hops or order). False when neither end is reached: such a link
   * only matters once another change reaches one of them, and that change recomputes anyway.
   */
  shortens(a: NodeId, b: NodeId, units: number): boolean {
    const i = this.at(a);
    const j = this.at(b);
    if (i === undefined && j === undefined) return false;
    const da = i === undefined ? Infinity : this.dist[i];
    const db = j === undefined ? Infinity : this.dist[j];
    return da + units <= db || db + units <= da;
  }

  /** Whether `path` is exactly the tree's path to its last node (no allocation). */
  isTreePath(path: readonly NodeId[]): boolean {
    const i = this.at(path[path.length - 1]);
    if (i === undefined || this.hops[i] !== path.length - 1) return false;
    for (let k = path.length - 1, n = i; k >= 0; k--, n = this.prev[n])
      if (this.g.ids[n] !== path[k]) return false;
    return true;
  }
}

export function shortestPaths(
  graph: AdjacencyGraph | CsrGraph,
  source: NodeId,
  maxHops: number,
): ShortestPathTree {
  const g = 'offsets' in graph ? graph : toCsr([source], graph);
  const n = g.ids.length;
  const dist = new Float64Array(n).fill(Infinity);
  const hops = new Int32Array(n).fill(-1);
  const prev = new Int32Array(n).fill(-1);
  const done = new Uint8Array(n);
  const s = g.index.get(source);
  if (s === undefined) return new ShortestPathTree(source, g, dist, hops, prev);
  const { offsets, targets, weights, ids } = g;

  // Binary heap of (dist, hops, node) with lazy deletion: stale entries are skipped when popped.
  const cap = g.targets.length + 1;
  const hd = new Float64Array(cap);
  const hh = new Int32Array(cap);
  const hn = new Int32Array(cap);
  let size = 0;
  const less = (a: number, b: number): boolean => hd[a] < hd[b] || (hd[a] === hd[b] && hh[a] < hh[b]);
  const swap = (a: number, b: number): void => {
    const d = hd[a];
    hd[a] = hd[b];
    hd[b] = d;
    const h = hh[a];
    hh[a] = hh[b];
    hh[b] = h;
    const v = hn[a];
    hn[a] = hn[b];
    hn[b] = v;
  };
  const push = (d: number, h: number, v: number): void => {
    let i = size++;
    hd[i] = d;
    hh[i] = h;
    hn[i] = v;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(i, p)) break;
      swap(i, p);
      i = p;
    }
  };
  const pop = (): void => {
    size--;
    if (size === 0) return;
    hd[0] = hd[size];
    hh[0] = hh[size];
    hn[0] = hn[size];
    for (let i = 0; ;) {
      const l = 2 * i + 1;
      let m = i;
      if (l < size && less(l, m)) m = l;
      if (l + 1 < size && less(l + 1, m)) m = l + 1;
      if (m === i) break;
      swap(i, m);
      i = m;
    }
  };
  // Of two same-length paths ending in u and w, is the one through u lexicographically smaller?
  // Walk both back in step; once they meet they share everything before, so the last difference
  // seen (closest to the source) decides.
  const lexLess = (u: number, w: number): boolean => {
    let a = u;
    let b = w;
    let da = a;
    let db = b;
    while (a !== b) {
      da = a;
      db = b;
      a = prev[a];
      b = prev[b];
    }
    return ids[da] < ids[db];
  };

  dist[s] = 0;
  hops[s] = 0;
  push(0, 0, s);
  while (size > 0) {
    const u = hn[0];
    const du = hd[0];
    const hu = hh[0];
    pop();
    if (done[u] || du !== dist[u] || hu !== hops[u]) continue;
    done[u] = 1;
    if (hu >= maxHops || (hu === 1 && g.endOnly?.[u] === 1)) continue;
    const nh = hu + 1;
    for (let k = offsets[u]; k < offsets[u + 1]; k++) {
      const v = targets[k];
      if (done[v]) continue;
      const nd = du + weights[k];
      if (nd > dist[v]) continue;
      if (nd === dist[v] && (nh > hops[v] || (nh === hops[v] && !lexLess(u, prev[v])))) continue;
      dist[v] = nd;
      hops[v] = nh;
      prev[v] = u;
      push(nd, nh, v);
    }
  }
  return new ShortestPathTree(source, g, dist, hops, prev);
}
