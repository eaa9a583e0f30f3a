// The graph Dijkstra runs on: undirected links with integer costs, built from two sources.
//
//   Our own links come straight from the prober. Our round trip crossed the link both ways, so
//   the measurement already proves both directions: no further check for sending to that neighbour.
//   Relaying is another matter: a relay forwards only what comes from an address it has proven to be
//   the source's (forward/relay.ts), i.e. one its own probes reached, and a neighbour that measures
//   us lists us in its advert. A path may therefore relay through an own neighbour only while that
//   neighbour's advert lists us; else it may only end there (CsrGraph.endOnly). With bounded probe
//   sets a popular member probes back at most 2K of those that probe it, and at N = 50 sources that
//   rerouted through such a one-way neighbour lost their traffic for ~1.5 s (77 packets dropped as
//   unauthenticated-hop) until end-to-end path liveness called the path dead.
//
//   A link X–Y between two other nodes is used only if X's current advert lists Y AND Y's lists X
//   (OSPF's two-way check). After a partition or a crash, the side that can no longer hear the
//   other drops the link from its advert, while a stale advert from the far side may still list it
//   for up to a lifetime; requiring both keeps such ghosts out of everyone's paths at once. Its cost
//   is the larger of the two advertised costs: the pessimistic end wins, and both ends agree on it.
//
// Adverts listing us are ignored here (our own measurement rules), but the router reads them as a
// hint (see Router.suspectFromAdvert).
import type { NodeId } from '../identity/node-id.js';
import { linkLoss, linkRttMs, type PackedLink } from './advert.js';
import { linkCost, toCostUnits, type CostParams } from './cost.js';
import type { AdjacencyGraph, CsrGraph } from './dijkstra.js';

/**
 * How much a change matters for recomputation (see Router.recomputeDueAt): 'down' — a link vanished
 * or got much dearer, paths may be broken; 'major' — a link appeared or got much cheaper; 'minor' —
 * a cost drifted.
 */
export type GraphChange = 'none' | 'minor' | 'major' | 'down';
const RANK: Record<GraphChange, number> = { none: 0, minor: 1, major: 2, down: 3 };

/** A cost change larger than this fraction is treated like a topology change (fast recompute). */
const MAJOR_COST_CHANGE = 0.25;

export interface GraphEdge {
  a: NodeId;
  b: NodeId;
  /** Integer cost units (COST_SCALE per ms). */
  units: number;
  own: boolean;
}

/**
 * Internally every node gets a dense index (append-only), and all maps are keyed by index: NodeIds
 * are 32-bit values that V8 cannot keep as small integers, and Map lookups on them were most of the
 * cost of applying an advert and of snapshotting the graph for Dijkstra.
 */
export class LinkGraph implements AdjacencyGraph {
  private readonly ids: NodeId[] = [];
  private readonly index = new Map<NodeId, number>();
  /** adj[i]: neighbour index → integer cost, symmetric. */
  private readonly adj: Array<Map<number, number>> = [];
  /** advertised[i]: what node i's current advert says, neighbour index → integer cost. */
  private readonly advertised: Array<Map<number, number> | undefined> = [];
  /** Our measured links, neighbour index → integer cost. */
  private readonly own = new Map<number, number>();
  private readonly me: number;
  private csr: CsrGraph | undefined;

  constructor(
    readonly self: NodeId,
    private readonly costParams: CostParams,
  ) {
    this.me = this.idx(self);
  }

  /** Neighbours of `u` with integer costs (a fresh map: for tests and status, not the hot path). */
  adjacency(u: NodeId): ReadonlyMap<NodeId, number> | undefined {
    const i = this.index.get(u);
    if (i === undefined) return undefined;
    return new Map([...this.adj[i]].map(([j, w]) => [this.ids[j], w]));
  }

  /** NodeIds of `u`'s neighbours. */
  neighborsOf(u: NodeId): NodeId[] {
    const i = this.index.get(u);
    return i === undefined ? [] : [...this.adj[i].keys()].map((j) => this.ids[j]);
  }

  /** A compact snapshot for Dijkstra, rebuilt only after the graph changed. */
  snapshot(): CsrGraph {
    if (this.csr) return this.csr;
    const n = this.ids.length;
    let e = 0;
    for (let i = 0; i < n; i++) e += this.adj[i].size;
    const offsets = new Int32Array(n + 1);
    const targets = new Int32Array(e);
    const weights = new Float64Array(e);
    let k = 0;
    for (let i = 0; i < n; i++) {
      offsets[i] = k;
      for (const [j, w] of this.adj[i]) {
        targets[k] = j;
        weights[k++] = w;
      }
    }
    offsets[n] = k;
    const endOnly = new Uint8Array(n);
    for (const j of this.own.keys()) if (!this.listsUs(j)) endOnly[j] = 1;
    this.csr = { ids: this.ids.slice(), index: this.index, offsets, targets, weights, endOnly };
    return this.csr;
  }

  /** Integer cost of link u–v, or undefined when there is no usable link. */
  edge(u: NodeId, v: NodeId): number | undefined {
    const i = this.index.get(u);
    const j = this.index.get(v);
    return i === undefined || j === undefined ? undefined : this.adj[i].get(j);
  }

  /** Sum of integer link costs along `nodes`, Infinity when any link is missing. */
  pathUnits(nodes: readonly NodeId[]): number {
    let sum = 0;
    for (let k = 1; k < nodes.length; k++) {
      const c = this.edge(nodes[k - 1], nodes[k]);
      if (c === undefined) return Infinity;
      sum += c;
    }
    return sum;
  }

  /** Our measured link to `neighbor` (cost in ms; undefined or Infinity = no link). */
  setOwnLink(neighbor: NodeId, costMs: number | undefined): GraphChange {
    if (neighbor === this.self) return 'none';
    const j = this.idx(neighbor);
    const units = costMs === undefined ? Infinity : toCostUnits(costMs);
    // A new own link is a new edge: setEdge drops the snapshot, and with it endOnly.
    if (units === Infinity) this.own.delete(j);
    else this.own.set(j, units);
    return this.setEdge(this.me, j, units === Infinity ? undefined : units);
  }

  ownLinkUnits(neighbor: NodeId): number | undefined {
    const j = this.index.get(neighbor);
    return j === undefined ? undefined : this.own.get(j);
  }

  /**
   * Replaces (or with undefined, removes) the advertised links of `origin` ≠ self. `affects` says
   * whether a change of link a–b to `units` (undefined: gone) could change a path we compute or
   * use; one that cannot counts as no change at all (see RouteComputer.affects). In a network of
   * hundreds most adverts add, drop or re-cost some link far from our paths, and recomputing on
   * each cost every node a full Dijkstra run per advert.
   */
  setAdvert(
    origin: NodeId,
    links: ReadonlyMap<NodeId, PackedLink> | undefined,
    affects?: (a: NodeId, b: NodeId, units: number | undefined) => boolean,
  ): GraphChange {
    if (origin === this.self) return 'none';
    const x = this.idx(origin);
    const old = this.advertised[x];
    let next: Map<number, number> | undefined;
    if (links) {
      next = new Map();
      for (const [nbr, l] of links) {
        const units = toCostUnits(
          linkCost({ srttMs: linkRttMs(l), lossRatio: linkLoss(l), alive: true }, this.costParams),
        );
        if (units !== Infinity) next.set(this.idx(nbr), units);
      }
    }
    this.advertised[x] = next;
    let change: GraphChange = 'none';
    const touch = (y: number): void => {
      // Only X's side changed, so an unchanged cost to y leaves the edge as it was (refreshes: no work).
      if (y === this.me || old?.get(y) === next?.get(y)) return;
      const xy = next?.get(y);
      const yx = this.advertised[y]?.get(x);
      const units = xy === undefined || yx === undefined ? undefined : Math.max(xy, yx);
      const c = this.setEdge(x, y, units);
      if (c !== 'none' && (!affects || affects(origin, this.ids[y], units))) change = worse(change, c);
    };
    if (old) for (const y of old.keys()) touch(y);
    if (next) for (const y of next.keys()) if (!old?.has(y)) touch(y);
    const listedUs = next?.has(this.me) ?? false;
    if ((old?.has(this.me) ?? false) !== listedUs && this.own.has(x)) {
      // Our own link to origin may now relay, or no longer may (see the top of this file).
      this.csr = undefined;
      change = worse(change, listedUs ? 'major' : 'down');
    }
    return change;
  }

  /** Whether own neighbour `n` may relay for us: its current advert lists us (top of this file). */
  relaysForUs(n: NodeId): boolean {
    const x = this.index.get(n);
    return x !== undefined && this.listsUs(x);
  }

  hasAdvert(origin: NodeId): boolean {
    const x = this.index.get(origin);
    return x !== undefined && this.advertised[x] !== undefined;
  }

  /** Forgets everything about `id` (no longer a member). */
  removeNode(id: NodeId): GraphChange {
    const x = this.index.get(id);
    if (x === undefined) return 'none';
    let change = this.setAdvert(id, undefined);
    if (this.own.has(x)) change = worse(change, this.setOwnLink(id, undefined));
    for (const y of [...this.adj[x].keys()]) change = worse(change, this.setEdge(x, y, undefined));
    return change;
  }

  /** Every usable link once. */
  *edges(): IterableIterator<GraphEdge> {
    for (let i = 0; i < this.adj.length; i++) {
      for (const [j, units] of this.adj[i]) {
        if (i < j) yield { a: this.ids[i], b: this.ids[j], units, own: i === this.me || j === this.me };
      }
    }
  }

  private listsUs(x: number): boolean {
    return this.advertised[x]?.has(this.me) ?? false;
  }

  private idx(id: NodeId): number {
    let i = this.index.get(id);
    if (i === undefined) {
      i = this.ids.length;
      this.ids.push(id);
      this.index.set(id, i);
      this.adj.push(new Map());
      this.advertised.push(undefined);
    }
    return i;
  }

  private setEdge(a: number, b: number, units: number | undefined): GraphChange {
    const cur = this.adj[a].get(b);
    if (cur === units) return 'none';
    this.csr = undefined;
    if (units === undefined) {
      this.adj[a].delete(b);
      this.adj[b].delete(a);
      return 'down';
    }
    this.adj[a].set(b, units);
    this.adj[b].set(a, units);
    if (cur === undefined) return 'major';
    if (units > cur * (1 + MAJOR_COST_CHANGE)) return 'down';
    return units < cur * (1 - MAJOR_COST_CHANGE) ? 'major' : 'minor';
  }
}

export function worse(a: GraphChange, b: GraphChange): GraphChange {
  return RANK[a] >= RANK[b] ? a : b;
}
