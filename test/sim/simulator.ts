// Discrete-event simulator: hundreds of real routing cores (Prober + Router with real Ed25519
// signatures) on a modelled underlay, driven by a virtual clock. It is not a mock of the daemon: it
// is the daemon's routing core with the network replaced by a model (underlay.ts) and the data plane
// replaced by "flows" that mark the links on their path active, as forward/ does per packet.
//
// Time only moves through the event queue. Each node's control plane (src/node/control-plane.ts, the
// daemon's own wiring) arms its one timer on this queue at its cores' nextWakeAt, or runs when a
// packet arrives, never on a fixed step, so idle nodes cost nothing.
import type { Timers } from '../../src/clock.js';
import { verify as ed25519Verify } from '../../src/identity/keys.js';
import type { NodeId } from '../../src/identity/node-id.js';
import { sumTraffic, type TrafficByType } from '../../src/node/control-traffic.js';
import type { ProbeParams } from '../../src/probe/probe-params.js';
import type { Path } from '../../src/routing/path-selector.js';
import type { RouterMember } from '../../src/routing/router.js';
import { DEFAULT_ROUTING_PARAMS, type RoutingParams } from '../../src/routing/routing-params.js';
import { Checker, type CheckTarget } from './checks.js';
import { EventQueue } from './event-queue.js';
import { seededRandom } from './rng.js';
import { SimNode, type NodeConfig, type SimNetwork } from './sim-node.js';
import { DEFAULT_UNDERLAY, Underlay, type UnderlayOptions } from './underlay.js';
import { VerifyCache } from './verify-cache.js';

export interface SimOptions {
  nodes: number;
  seed: number;
  underlay?: Partial<Omit<UnderlayOptions, 'nodes' | 'seed'>>;
  probe?: Partial<ProbeParams>;
  /** The nodes' housekeeping beat in ms (control-plane.ts BEAT_MS); 0: none. */
  beatMs?: number;
  routing?: RoutingParams;
  /** Nodes boot at uniformly random times in [0, startSpreadMs]. */
  startSpreadMs?: number;
  /** Share Ed25519 verification results between nodes (see verify-cache.ts). */
  verifyCache?: boolean;
  /** How often flows mark the links on their paths active. */
  flowIntervalMs?: number;
}

export class Simulator implements SimNetwork, CheckTarget {
  readonly queue = new EventQueue();
  readonly underlay: Underlay;
  readonly nodes: SimNode[];
  readonly members: RouterMember[];
  readonly checker: Checker;
  readonly maxHops: number;
  readonly verifier: VerifyCache;
  private readonly index = new Map<NodeId, number>();
  private readonly flows: Array<[number, number]> = [];
  private readonly rnd: () => number;
  private readonly cfg: NodeConfig;
  private wakeGuard = { at: -1, count: 0 };

  constructor(readonly opts: SimOptions) {
    this.underlay = new Underlay({
      ...DEFAULT_UNDERLAY,
      ...opts.underlay,
      nodes: opts.nodes,
      seed: opts.seed,
    });
    this.rnd = seededRandom(opts.seed ^ 0xabcdef);
    this.nodes = [];
    for (let i = 0; i < opts.nodes; i++) {
      const node = new SimNode(i, opts.seed);
      if (this.index.has(node.id)) throw new Error(`NodeId collision at ${i}; pick another seed`);
      this.index.set(node.id, i);
      this.nodes.push(node);
    }
    this.members = this.nodes.map((n) => ({ id: n.id, publicKey: n.keys.publicKey }));
    const routing = opts.routing ?? DEFAULT_ROUTING_PARAMS;
    this.maxHops = routing.maxHops;
    this.cfg = { probe: opts.probe ?? {}, routing, wallEpochMs: 1_700_000_000_000, beatMs: opts.beatMs };
    this.verifier = new VerifyCache(ed25519Verify, opts.verifyCache ?? false);
    this.checker = new Checker(this);
  }

  // --- CheckTarget --------------------------------------------------------------------------------

  size(): number {
    return this.nodes.length;
  }

  idOf(i: number): NodeId {
    return this.nodes[i].id;
  }

  indexOf(id: NodeId): number | undefined {
    return this.index.get(id);
  }

  routeOf(s: number, dst: NodeId): Path | undefined {
    return this.nodes[s].router?.route(dst);
  }

  // --- SimNetwork ---------------------------------------------------------------------------------

  get clock(): EventQueue['clock'] {
    return this.queue.clock;
  }

  now(): number {
    return this.queue.now;
  }

  /** The queue, with a guard against a node whose timer never advances. */
  timersFor(node: SimNode): Timers {
    return { at: (at, fn) => this.queue.at(at, () => (this.guard(node), fn())) };
  }

  sendProbe(from: SimNode, member: NodeId, endpointKey: string, probeId: number): void {
    const a = from.index;
    const b = this.index.get(member);
    if (b === undefined) return;
    const inc = from.incarnation;
    const d1 = this.underlay.transmit(a, b);
    if (d1 === undefined) return;
    this.queue.after(d1, () => {
      const target = this.nodes[b];
      if (!target.plane || !this.underlay.linkUp(a, b)) return;
      // The echo goes back over the same path.
      target.plane.onProbeReceived(from.id, from.endpointKey, this.now(), probeId);
      const d2 = this.underlay.transmit(b, a);
      if (d2 === undefined) return;
      this.queue.after(d2, () => {
        if (from.incarnation !== inc || !from.plane || !this.underlay.linkUp(b, a)) return;
        from.plane.onReply(member, endpointKey, probeId, this.now());
      });
    });
  }

  sendControl(from: SimNode, neighbor: NodeId, message: Uint8Array): void {
    const a = from.index;
    const b = this.index.get(neighbor);
    if (b === undefined) return;
    const d = this.underlay.transmit(a, b);
    if (d === undefined) return;
    this.queue.after(d, () => {
      const target = this.nodes[b];
      if (!target.plane || !this.underlay.linkUp(a, b)) return;
      target.plane.receiveControl(from.id, message, this.now());
    });
  }

  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
    return this.verifier.verify(signature, message, publicKey);
  }

  // --- scenario control ---------------------------------------------------------------------------

  /** Boots every node at a random time within startSpreadMs. */
  start(): void {
    const spread = this.opts.startSpreadMs ?? 0;
    for (const node of this.nodes) this.queue.at(this.now() + this.rnd() * spread, () => this.boot(node));
    this.scheduleFlows();
    this.checker.reset(this.now()); // nobody has routes yet: every reachable pair starts bad
  }

  run(ms: number): void {
    this.queue.runUntil(this.now() + ms);
  }

  failLink(a: number, b: number): void {
    this.underlay.setLinkFailed(a, b, true);
    this.checker.reset(this.now());
  }

  repairLink(a: number, b: number): void {
    this.underlay.setLinkFailed(a, b, false);
    this.checker.reset(this.now());
  }

  crash(i: number): void {
    this.underlay.setNodeUp(i, false);
    this.nodes[i].shutdown();
    this.checker.reset(this.now());
  }

  restart(i: number, clockSkewMs = 0): void {
    this.underlay.setNodeUp(i, true);
    this.nodes[i].clockSkewMs = clockSkewMs;
    this.boot(this.nodes[i]);
    this.checker.reset(this.now());
  }

  partition(groups: ArrayLike<number>): void {
    this.underlay.partition(groups);
    this.checker.reset(this.now());
  }

  heal(): void {
    this.underlay.heal();
    this.checker.reset(this.now());
  }

  flowPairs(): ReadonlyArray<readonly [number, number]> {
    return this.flows;
  }

  /** A bidirectional flow s ⇄ d: its paths are marked active, and its failover is watched. */
  addFlow(s: number, d: number): void {
    this.flows.push([s, d]);
    this.checker.watch(s, d, this.now());
  }

  /**
   * Runs until no pair is bad and none has been for `quietMs`, or `maxMs` passed. Returns when the
   * last bad pair was fixed (absolute virtual time), or undefined if it never settled.
   */
  runUntilConverged(maxMs: number, quietMs = 2000, stepMs = 50): number | undefined {
    const deadline = this.now() + maxMs;
    while (this.now() < deadline) {
      this.run(Math.min(stepMs, deadline - this.now()));
      const c = this.checker;
      if (c.badCount === 0 && this.now() - c.goodSince >= quietMs) return c.goodSince;
    }
    return undefined;
  }

  /** Bytes and messages sent so far by type, summed over all nodes. */
  trafficSnapshot(): TrafficByType {
    return sumTraffic(this.nodes.map((n) => n.traffic.sent));
  }

  private boot(node: SimNode): void {
    node.boot(this, this.members, (id) => this.nodes[this.index.get(id) as number].endpointKey, this.cfg);
    node.router?.onRouteChange((c) => this.checker.onRouteChange(node.index, c.dst, this.now()));
  }

  private scheduleFlows(): void {
    const interval = this.opts.flowIntervalMs ?? 200;
    const step = (): void => {
      for (const [s, d] of this.flows) {
        this.walk(s, d);
        this.walk(d, s);
      }
      this.queue.after(interval, step);
    };
    this.queue.after(interval, step);
  }

  /** Data from s to d along s's source route: each hop marks its next link active. */
  private walk(s: number, d: number): void {
    const path = this.routeOf(s, this.nodes[d].id);
    if (!path) return;
    for (let k = 0; k + 1 < path.nodes.length; k++) {
      const a = this.index.get(path.nodes[k]) as number;
      const plane = this.nodes[a].plane;
      if (!plane) return;
      plane.markActive(path.nodes[k + 1], this.now());
      const b = this.index.get(path.nodes[k + 1]) as number;
      if (!this.underlay.linkUp(a, b)) return; // the packet dies on this link
    }
  }

  /** A node waking thousands of times at one instant is a bug (a timer that never advances). */
  private guard(node: SimNode): void {
    const key = this.now() * 1e6 + node.index;
    if (key === this.wakeGuard.at) {
      if (++this.wakeGuard.count > 1000) throw new Error(`node ${node.index} spins at t=${this.now()}`);
    } else {
      this.wakeGuard = { at: key, count: 0 };
    }
  }
}
