// Our own address and port as other members see them (reflexive endpoints): what authenticated
// probe replies say they observed (wire/probe-layout.ts). Pure, time injected.
//
// How much to believe: one member's word. A reflexive endpoint is published (in our adverts and punch
// requests) once at least `minObservers` (default 1) members have reported it within `ttlMs`. One,
// because behind a NAT there is often exactly one member we can reach directly (a site behind NAT
// with one public member: the test's topology, and the common first step of a small network); and
// because publishing is only a hint. A published endpoint is never trusted by anyone: a member that
// tries it must still get an authenticated reply to a probe it sent to that very address before the
// address is bound (forward/endpoint-bindings.ts), and probes to it are few and rate limited. What a
// lying member can do is bounded here:
//   - each observer holds ONE observation (its latest): a liar cannot fill the table with many lies;
//   - endpoints are ranked by how many members report them, so with `maxPublished` (4) slots a lie
//     seen by one member loses its place to any endpoint two members agree on;
//   - observations expire after `ttlMs` and at most `maxObservers` are kept (the oldest goes);
//   - our listed endpoints (peers.yaml) are never replaced: an observation equal to one is not news.
import type { NodeId } from '../identity/node-id.js';

export interface ReflexiveParams {
  /** Distinct members that must report an endpoint before it is published. */
  minObservers: number;
  /** Observations older than this are forgotten (probes refresh them every idle interval). */
  ttlMs: number;
  /** Observers kept at most; the oldest observation makes room. */
  maxObservers: number;
  /** Reflexive endpoints published at most (adverts carry at most ADVERT_MAX_ENDPOINTS). */
  maxPublished: number;
}

export const DEFAULT_REFLEXIVE_PARAMS: ReflexiveParams = {
  minObservers: 1,
  ttlMs: 120_000,
  maxObservers: 64,
  maxPublished: 4,
};

interface Observation {
  key: string;
  at: number;
}

export class ReflexiveTable {
  readonly params: ReflexiveParams;
  private readonly byObserver = new Map<NodeId, Observation>();
  private listed = new Set<string>();
  private lastPublished: string[] = [];

  constructor(params: Partial<ReflexiveParams> = {}) {
    this.params = { ...DEFAULT_REFLEXIVE_PARAMS, ...params };
  }

  /** Our endpoints from peers.yaml: never published as reflexive (they are listed already). */
  setListed(keys: readonly string[]): void {
    this.listed = new Set(keys);
  }

  /**
   * `observer` answered our probe and saw it come from `key`. Returns true when the published set
   * changed (the caller re-originates its advert).
   */
  observe(observer: NodeId, key: string, now: number): boolean {
    const prev = this.byObserver.get(observer);
    this.byObserver.delete(observer); // re-inserted last: Map order is observation age
    this.byObserver.set(observer, { key, at: now });
    if (!prev && this.byObserver.size > this.params.maxObservers) {
      const oldest = this.byObserver.keys().next().value;
      if (oldest !== undefined) this.byObserver.delete(oldest);
    }
    if (prev && prev.key === key) return false;
    return this.republish(now);
  }

  /** A member left the configuration: its observations go with it. */
  forget(observer: NodeId, now: number): boolean {
    return this.byObserver.delete(observer) && this.republish(now);
  }

  /** Drops expired observations; true when the published set changed. */
  sweep(now: number): boolean {
    let dropped = false;
    for (const [id, o] of this.byObserver) {
      if (now - o.at < this.params.ttlMs) continue;
      this.byObserver.delete(id);
      dropped = true;
    }
    return dropped && this.republish(now);
  }

  /** The published reflexive endpoints: most observers first, then the most recently seen. */
  published(): readonly string[] {
    return this.lastPublished;
  }

  /** Every endpoint currently observed, with its observer count (status output). */
  observations(now: number): { key: string; observers: number; lastSeenAt: number }[] {
    const by = new Map<string, { key: string; observers: number; lastSeenAt: number }>();
    for (const o of this.byObserver.values()) {
      if (now - o.at >= this.params.ttlMs) continue;
      const e = by.get(o.key) ?? { key: o.key, observers: 0, lastSeenAt: -Infinity };
      e.observers++;
      e.lastSeenAt = Math.max(e.lastSeenAt, o.at);
      by.set(o.key, e);
    }
    return [...by.values()].sort((a, b) => b.observers - a.observers || b.lastSeenAt - a.lastSeenAt);
  }

  get size(): number {
    return this.byObserver.size;
  }

  private republish(now: number): boolean {
    const next = this.observations(now)
      .filter((e) => e.observers >= this.params.minObservers && !this.listed.has(e.key))
      .slice(0, this.params.maxPublished)
      .map((e) => e.key)
      .sort();
    const same =
      next.length === this.lastPublished.length && next.every((k, i) => k === this.lastPublished[i]);
    this.lastPublished = next;
    return !same;
  }
}
