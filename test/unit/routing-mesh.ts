// Routers wired together in memory for unit tests: each node's direct links are set by hand (the
// prober is replaced by a LinkSource we control), control messages cross a direct link or nothing,
// and virtual time advances in 10 ms steps.
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
}

export class Mesh {
  now = 0;
  readonly members: TestMember[];
  readonly routers: Router[] = [];
  readonly links: FakeLinks[] = [];
  readonly wallSkew: number[];
  private readonly rtt = new Map<string, number>();
  private queue: Array<{ from: number; to: number; msg: Uint8Array }> = [];

  constructor(n: number, params: RoutingParams = DEFAULT_ROUTING_PARAMS) {
    this.members = makeMembers(n);
    this.wallSkew = new Array<number>(n).fill(0);
    for (let i = 0; i < n; i++) this.boot(i, params);
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
    this.routers[i] = new Router({
      self: m.id,
      members: this.members.map((x) => ({ id: x.id, publicKey: x.publicKey })),
      params,
      prober: links,
      ports: {
        sendControl: (nbr, msg) => {
          const to = this.members.findIndex((x) => x.id === nbr);
          this.queue.push({ from: i, to, msg });
        },
        sign: m.sign,
        verify,
        wallClock: () => 1_700_000_000_000 + this.now + this.wallSkew[i],
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
      for (const r of this.routers) r.tick(this.now);
      this.deliver();
      if (this.now >= end) break;
      this.now = Math.min(end, this.now + 10);
    }
  }

  route(from: number, to: number): number[] | undefined {
    return this.routers[from]
      .route(this.id(to))
      ?.nodes.map((id) => this.members.findIndex((m) => m.id === id));
  }

  private deliver(): void {
    for (let guard = 0; guard < 100_000 && this.queue.length > 0; guard++) {
      const { from, to, msg } = this.queue.shift() as { from: number; to: number; msg: Uint8Array };
      const k = `${Math.min(from, to)}-${Math.max(from, to)}`;
      if (to >= 0 && this.rtt.has(k)) this.routers[to].receiveControl(this.id(from), msg, this.now);
    }
  }
}
