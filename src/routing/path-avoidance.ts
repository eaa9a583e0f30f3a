// Paths the data plane found failing end to end (forward/path-liveness.ts: data-sized probes lost
// while every link's own probes pass — a relay that drops data, a link that drops large packets). For
// one destination only, avoid the failed path's relays (or, for a direct path, the direct link) until
// a deadline, then let routing try them again.
//
// It is per destination on purpose: "b drops what a sends to c" says nothing about b as a relay to d,
// and a relay that drops everything is caught by the link probes anyway. While an avoidance runs, the
// destination's path is chosen on the graph without the avoided parts (a disjoint path when one
// exists); when none remains, routing falls back to its usual choice — a path that passes small packets
// beats no path. A second failure while one is running (the alternative failed too) adds to it.
import type { NodeId } from '../identity/node-id.js';
import { shortestPaths, type CsrGraph, type ShortestPathTree } from './dijkstra.js';

/** Relays avoided per destination at most: a member set this large means the destination is the problem. */
const MAX_AVOIDED_NODES = 16;
/** Destinations with an avoidance at most (each is one member; the cap only guards the table). */
const MAX_DESTINATIONS = 4096;

export interface Avoidance {
  readonly dst: NodeId;
  /** Relays not to cross on the way to dst. */
  readonly nodes: Set<NodeId>;
  /** The direct link self–dst is not to be used. */
  directLink: boolean;
  until: number;
  /** The tree over the graph without the avoided parts, for the snapshot it was computed from. */
  cache?: { from: CsrGraph; tree: ShortestPathTree };
}

export class PathAvoidance {
  private readonly byDst = new Map<NodeId, Avoidance>();

  constructor(
    private readonly self: NodeId,
    private readonly maxHops: number,
  ) {}

  /** The path self → `relays` → dst failed: avoid those relays (none: the direct link) until `until`. */
  add(dst: NodeId, relays: readonly NodeId[], until: number): void {
    let a = this.byDst.get(dst);
    if (!a) {
      if (this.byDst.size >= MAX_DESTINATIONS) return;
      a = { dst, nodes: new Set(), directLink: false, until };
      this.byDst.set(dst, a);
    }
    if (relays.length === 0) a.directLink = true;
    for (const r of relays)
      if (a.nodes.size < MAX_AVOIDED_NODES && r !== dst && r !== this.self) a.nodes.add(r);
    a.until = Math.max(a.until, until);
    a.cache = undefined;
  }

  /** The running avoidance for `dst`, if any. */
  get(dst: NodeId, now: number): Avoidance | undefined {
    const a = this.byDst.get(dst);
    return a && now < a.until ? a : undefined;
  }

  /** Forgets avoidances whose time is up; true if any did (their destinations may move back). */
  expire(now: number): boolean {
    let any = false;
    for (const [dst, a] of this.byDst) {
      if (now >= a.until) {
        this.byDst.delete(dst);
        any = true;
      }
    }
    return any;
  }

  /** When the next avoidance ends, or Infinity. */
  nextExpiry(): number {
    let t = Infinity;
    for (const a of this.byDst.values()) t = Math.min(t, a.until);
    return t;
  }

  /** Whether `nodes` (self … dst) crosses what `a` avoids. */
  touches(a: Avoidance, nodes: readonly NodeId[]): boolean {
    for (let k = 1; k < nodes.length - 1; k++) if (a.nodes.has(nodes[k])) return true;
    return a.directLink && nodes.length === 2;
  }

  /** Shortest paths from self on `graph` without what `a` avoids (cached per graph snapshot). */
  treeFor(a: Avoidance, graph: CsrGraph): ShortestPathTree {
    if (a.cache?.from !== graph)
      a.cache = { from: graph, tree: shortestPaths(this.without(a, graph), this.self, this.maxHops) };
    return a.cache.tree;
  }

  /** A copy of `g` without the avoided relays' links and the avoided direct link. */
  private without(a: Avoidance, g: CsrGraph): CsrGraph {
    const n = g.ids.length;
    const offsets = new Int32Array(n + 1);
    const targets = new Int32Array(g.targets.length);
    const weights = new Float64Array(g.weights.length);
    let k = 0;
    for (let i = 0; i < n; i++) {
      offsets[i] = k;
      const u = g.ids[i];
      if (a.nodes.has(u)) continue;
      for (let e = g.offsets[i]; e < g.offsets[i + 1]; e++) {
        const v = g.ids[g.targets[e]];
        if (a.nodes.has(v)) continue;
        if (a.directLink && ((u === this.self && v === a.dst) || (u === a.dst && v === this.self))) continue;
        targets[k] = g.targets[e];
        weights[k++] = g.weights[e];
      }
    }
    offsets[n] = k;
    return {
      ids: g.ids,
      index: g.index,
      offsets,
      targets: targets.subarray(0, k),
      weights: weights.subarray(0, k),
      endOnly: g.endOnly,
    };
  }
}
