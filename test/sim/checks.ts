// Ground-truth checks on the routes every node has selected, maintained incrementally.
//
// A pair (s, d) of nodes is BAD when s is up and
//   - d is reachable from s in the ground truth (some chain of links that work right now) but s has
//     no route to d, or
//   - s has a route to d that is not valid: it must start at s, end at d, repeat no node (loop-free),
//     have at most maxHops links, and use only links that are up in the ground truth.
// The status of a pair only changes when s's route to d changes or the ground truth changes, so we
// re-check one pair per route change and all pairs per ground-truth event: exact at every instant,
// and cheap enough for 1000 nodes. "Converged" means no bad pair.
import type { NodeId } from '../../src/identity/node-id.js';
import type { Path } from '../../src/routing/path-selector.js';
import type { Underlay } from './underlay.js';

export interface CheckTarget {
  readonly underlay: Underlay;
  readonly maxHops: number;
  size(): number;
  idOf(index: number): NodeId;
  indexOf(id: NodeId): number | undefined;
  /** The route node `s` has selected to `dst`, or undefined (also when s is down). */
  routeOf(s: number, dst: NodeId): Path | undefined;
}

export class Checker {
  badCount = 0;
  /** Virtual time at which badCount last dropped to 0 (or the last reset that found none). */
  goodSince = 0;
  lastRouteChangeAt = 0;
  routeChanges = 0;
  /** Bad pairs among the watched ones (flows), and when they last all became good. */
  watchedBad = 0;
  watchedGoodSince = 0;
  /** Routes selected (at a change) that visit a node twice: source routes make these impossible. */
  loopingRoutes = 0;
  private bad: Uint8Array;
  /** Per pair s·n+d: when it last went from bad to good (virtual ms), for per-pair convergence times. */
  private fixedAt: Float64Array;
  private comp: Int32Array;
  private readonly watched = new Set<number>();

  constructor(private readonly t: CheckTarget) {
    const n = t.size();
    this.bad = new Uint8Array(n * n);
    this.fixedAt = new Float64Array(n * n);
    this.comp = new Int32Array(n);
  }

  /** The ground truth changed: re-evaluate every pair. */
  reset(now: number): void {
    const n = this.t.size();
    this.comp = this.t.underlay.components();
    const before = this.badCount;
    const watchedBefore = this.watchedBad;
    this.badCount = 0;
    this.watchedBad = 0;
    for (let s = 0; s < n; s++) {
      for (let d = 0; d < n; d++) {
        const b = s !== d && this.evaluate(s, d) ? 1 : 0;
        if (!b && this.bad[s * n + d]) this.fixedAt[s * n + d] = now;
        this.bad[s * n + d] = b;
        this.badCount += b;
        if (b && this.watched.has(s * n + d)) this.watchedBad++;
      }
    }
    if (this.badCount === 0 && before !== 0) this.goodSince = now;
    if (this.watchedBad === 0 && watchedBefore !== 0) this.watchedGoodSince = now;
  }

  /** Watches the pair (both directions) as a flow whose failover time is reported separately. */
  watch(s: number, d: number, now: number): void {
    const n = this.t.size();
    for (const k of [s * n + d, d * n + s]) {
      if (this.watched.has(k)) continue;
      this.watched.add(k);
      if (this.bad[k]) this.watchedBad++;
    }
    if (this.watchedBad === 0) this.watchedGoodSince = now;
  }

  unwatchAll(): void {
    this.watched.clear();
    this.watchedBad = 0;
  }

  onRouteChange(s: number, dst: NodeId, now: number): void {
    this.routeChanges++;
    this.lastRouteChangeAt = now;
    const d = this.t.indexOf(dst);
    if (d === undefined || d === s) return;
    const n = this.t.size();
    const k = s * n + d;
    const route = this.t.routeOf(s, dst);
    if (route && hasRepeat(route.nodes)) this.loopingRoutes++;
    const b = this.evaluate(s, d) ? 1 : 0;
    if (b === this.bad[k]) return;
    if (!b) this.fixedAt[k] = now;
    this.bad[k] = b;
    this.badCount += b ? 1 : -1;
    if (this.badCount === 0) this.goodSince = now;
    if (this.watched.has(k)) {
      this.watchedBad += b ? 1 : -1;
      if (this.watchedBad === 0) this.watchedGoodSince = now;
    }
  }

  /** The pairs (s·n + d) that are bad right now. */
  badPairs(): number[] {
    const out: number[] = [];
    for (let k = 0; k < this.bad.length; k++) if (this.bad[k]) out.push(k);
    return out;
  }

  /** When pair k last became good, or undefined if it is still bad. */
  fixedTime(k: number): number | undefined {
    return this.bad[k] ? undefined : this.fixedAt[k];
  }

  /** Up to `limit` bad pairs with the reason, for test failure messages. */
  describeBad(limit = 5): string[] {
    const n = this.t.size();
    const out: string[] = [];
    for (let k = 0; k < n * n && out.length < limit; k++) {
      if (!this.bad[k]) continue;
      const s = Math.floor(k / n);
      const d = k % n;
      const r = this.t.routeOf(s, this.t.idOf(d));
      out.push(
        `${s}→${d}: ${r ? `invalid path [${r.nodes.map((id) => this.t.indexOf(id)).join(' ')}]` : 'no route'}`,
      );
    }
    return out;
  }

  /** Whether the pair (s, d) is bad right now. */
  private evaluate(s: number, d: number): boolean {
    const u = this.t.underlay;
    if (!u.isUp(s)) return false;
    const route = this.t.routeOf(s, this.t.idOf(d));
    if (!route) return u.isUp(d) && this.comp[s] === this.comp[d];
    return !this.validPath(s, d, route.nodes);
  }

  private validPath(s: number, d: number, nodes: readonly NodeId[]): boolean {
    if (nodes.length < 2 || nodes.length > this.t.maxHops + 1) return false;
    const idx = nodes.map((id) => this.t.indexOf(id));
    if (idx[0] !== s || idx[idx.length - 1] !== d) return false;
    if (new Set(idx).size !== idx.length) return false;
    for (let i = 1; i < idx.length; i++) {
      const a = idx[i - 1];
      const b = idx[i];
      if (a === undefined || b === undefined || !this.t.underlay.linkUp(a, b)) return false;
    }
    return true;
  }
}

function hasRepeat(nodes: readonly NodeId[]): boolean {
  return new Set(nodes).size !== nodes.length;
}
