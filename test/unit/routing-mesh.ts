// Routers wired together in memory for unit tests: each node's direct links are set by hand (the
// prober is replaced by a LinkSource we control), control messages cross a direct link or nothing,
// and virtual time advances in 10 ms steps. Nodes named `external` run no router: what is sent to
// them lands in their inbox, and they speak through inject() (the adversary tests' hostile members).
import { verify } from '../../src/identity/keys.js';
import type { NodeId } from '../../src/identity/node-id.js';
import type { LinkSource, LinkView } from '../../src/probe/link-view.js';
import { Router } from '../../src/routing/router.js';
import { DEFAULT_ROUTING_PARAMS, type RoutingParams } from '../../src/routing/routing-params.js';
import { makeMembers, type TestMember } from './routing-fixtures.js';

export class FakeLinks implements LinkSource {
  readonly views = new Map<NodeId, LinkView>();
  private changed = new Set<NodeId>();
  readonly suspected: NodeId[] = [];

  set(member: NodeId, rttMs: number | undefined, lossRatio = 0): void {
    if (rttMs === undefined) {
      const v = this.views.get(member);
      if (v) this.views.set(member, { ...v, alive: false });
    } else {
      this.views.set(member, {
        alive: true,
        srttMs: rttMs,
        recentRttMs: rttMs,
        lossRatio,
        jitterMs: 0,
        endpointKey: `ep${member}`,
        lastReplyAt: 0,
        active: false,
        consecutiveLost: 0,
      });
    }
    this.changed.add(member);
  }

  setActive(member: NodeId, active: boolean): void {
    const v = this.views.get(member);
    if (v) this.views.set(member, { ...v, active });
    this.changed.add(member);
  }

  link(member: NodeId): LinkView | undefined {
    return this.views.get(member);
  }

  drainChanges(): NodeId[] {
    const out = [...this.changed];
    this.changed = new Set();
    return out;
  }

  suspect(member: NodeId): void {
    this.suspected.push(member);
  }

  /** Members whose direct probes reach us (see LinkSource.probedUs), set by hand. */
  readonly probers = new Set<NodeId>();

  probedUs(member: NodeId): string | undefined {
    return this.probers.has(member) ? `ep${member}` : undefined;
  }
}

/** Wall clock of every mesh node at virtual time 0 (plus its wallSkew). */
export const MESH_WALL_EPOCH_MS = 1_700_000_000_000;

export interface MeshMessage {
  from: number;
  msg: Uint8Array;
  at: number;
}

export class Mesh {
  now = 0;
  readonly members: TestMember[];
  /** Index i holds node i's router; external nodes have none (a hole). */
  readonly routers: Router[] = [];
  readonly links: FakeLinks[] = [];
  readonly wallSkew: number[];
  /** Messages routers sent to each external node. */
  readonly inbox: MeshMessage[][] = [];
  /** Signature verifications each router asked for. */
  readonly verifyCalls: number[];
  readonly external: ReadonlySet<number>;
  private readonly rtt = new Map<string, number>();
  private readonly index = new Map<NodeId, number>();
  private queue: Array<{ from: number; to: number; msg: Uint8Array }> = [];

  constructor(
    n: number,
    params: RoutingParams = DEFAULT_ROUTING_PARAMS,
    opts: { external?: readonly number[] } = {},
  ) {
    this.members = makeMembers(n);
    this.members.forEach((m, i) => this.index.set(m.id, i));
    this.wallSkew = new Array<number>(n).fill(0);
    this.verifyCalls = new Array<number>(n).fill(0);
    this.external = new Set(opts.external ?? []);
    for (let i = 0; i < n; i++) {
      this.inbox.push([]);
      this.boot(i, params);
    }
  }

  indexOf(id: NodeId): number {
    return this.index.get(id) ?? -1;
  }

  /** Node i's wall clock (ms since the epoch). */
  wallOf(i: number): number {
    return MESH_WALL_EPOCH_MS + this.now + this.wallSkew[i];
  }

  /** Delivers `msg` from (external) node `from` to node `to` at once, link or no link. */
  inject(from: number, to: number, msg: Uint8Array): void {
    this.routers[to].receiveControl(this.id(from), msg, this.now);
  }

  id(i: number): NodeId {
    return this.members[i].id;
  }

  /** (Re)creates node i's router: a restart loses all its state. */
  boot(i: number, params: RoutingParams = DEFAULT_ROUTING_PARAMS): void {
    const m = this.members[i];
    let s = i + 1;
    const links = new FakeLinks();
    this.links[i] = links;
    if (this.external.has(i)) return;
    this.routers[i] = new Router({
      self: m.id,
      members: this.members.map((x) => ({ id: x.id, publicKey: x.publicKey })),
      params,
      prober: links,
      ports: {
        sendControl: (nbr, msg) => this.queue.push({ from: i, to: this.indexOf(nbr), msg }),
        sign: m.sign,
        verify: (sig, msg, key) => {
          this.verifyCalls[i]++;
          return verify(sig, msg, key);
        },
        wallClock: () => this.wallOf(i),
        random: () => (s = (s * 16807) % 2147483647) / 2147483647,
      },
    });
    for (const [k, rtt] of this.rtt) {
      const [a, b] = k.split('-').map(Number);
      if (a === i) links.set(this.id(b), rtt);
      if (b === i) links.set(this.id(a), rtt);
    }
  }

  /** Sets (or with undefined, cuts) the direct link a–b as both probers would see it. */
  setLink(a: number, b: number, rttMs: number | undefined, loss = 0): void {
    const k = `${Math.min(a, b)}-${Math.max(a, b)}`;
    if (rttMs === undefined) this.rtt.delete(k);
    else this.rtt.set(k, rttMs);
    this.links[a].set(this.id(b), rttMs, loss);
    this.links[b].set(this.id(a), rttMs, loss);
  }

  /** Marks the link a–b as carrying data (both probers see it active). */
  setActive(a: number, b: number, active = true): void {
    this.links[a].setActive(this.id(b), active);
    this.links[b].setActive(this.id(a), active);
  }

  /** Runs every router's tick and delivers control messages over direct links, for `ms`. */
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      for (const r of this.routers) r?.tick(this.now);
      this.flush();
      if (this.now >= end) break;
      this.now = Math.min(end, this.now + 10);
    }
  }

  route(from: number, to: number): number[] | undefined {
    return this.routers[from].route(this.id(to))?.nodes.map((id) => this.indexOf(id));
  }

  /** Delivers what routers queued for each other (and for external nodes' inboxes). */
  flush(): void {
    for (let guard = 0; guard < 100_000 && this.queue.length > 0; guard++) {
      const { from, to, msg } = this.queue.shift() as { from: number; to: number; msg: Uint8Array };
      const k = `${Math.min(from, to)}-${Math.max(from, to)}`;
      if (to < 0 || !this.rtt.has(k)) continue;
      if (this.external.has(to)) this.inbox[to].push({ from, msg, at: this.now });
      else this.routers[to].receiveControl(this.id(from), msg, this.now);
    }
  }
}
