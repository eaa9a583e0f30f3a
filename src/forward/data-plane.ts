// The data plane: the only code that moves packets between the TUN and the underlay. It is split by
// direction, each file readable on its own:
//
//   outbound.ts         TUN → member → route (next-hop.ts) → seal (sealer.ts) → transport
//   inbound.ts          transport → open → check → TUN (deliver-ip.ts), or → relay.ts, or → control channel
//   relay.ts            forwarding for others: cleartext header only, never decrypted
//   control-channel.ts  handshakes, probes, routing control messages, operator path pings
//   path-watch.ts       end-to-end liveness of the paths that carry data (path-liveness.ts)
//   pmtu/mtu-channel.ts per-link MTU search, path MTUs (packets too big: too-big.ts, from outbound)
//
// This class only builds them around one shared context and offers node.ts the entry points.
import { NO_BEAT } from '../clock.js';
import type { NodeId } from '../identity/node-id.js';
import { NatChannel, type NatOptions } from '../nat/nat-channel.js';
import { MtuChannel } from '../pmtu/mtu-channel.js';
import type { ForwardContext } from './context.js';
import { ControlChannel } from './control-channel.js';
import { FastLanes } from './fast-lanes.js';
import { Inbound } from './inbound.js';
import { NextHops } from './next-hop.js';
import { Outbound } from './outbound.js';
import { PathLearning } from './path-learning.js';
import type { PathPinger } from './path-pinger.js';
import { PathWatch } from './path-watch.js';
import { Sealer } from './sealer.js';

/** How often expired endpoint bindings are swept. */
const SWEEP_INTERVAL_MS = 5000;

export type { ForwardContext } from './context.js';

export class DataPlane {
  readonly outbound: Outbound;
  readonly inbound: Inbound;
  readonly control: ControlChannel;
  readonly watch: PathWatch;
  /** NAT traversal: reflexive endpoints, punches, keepalives (nat/nat-channel.ts). */
  readonly nat: NatChannel;
  /** Path MTU: per-link search, path MTUs (pmtu/mtu-channel.ts). */
  readonly mtu: MtuChannel;
  /** The fast lanes (fast-lane.ts outbound, rx-lane.ts inbound), where the devices have them. */
  readonly lanes: FastLanes;
  private nextSweepAt = -Infinity;

  constructor(
    private readonly ctx: ForwardContext,
    natOptions?: NatOptions,
  ) {
    this.lanes = new FastLanes(ctx.log);
    const nextHops = new NextHops(ctx);
    const sealer = new Sealer(ctx);
    const learning = new PathLearning(ctx);
    this.mtu = new MtuChannel(ctx, nextHops, sealer);
    this.watch = new PathWatch(ctx, nextHops, sealer, (member, now) => this.mtu.suspect(member, now));
    this.outbound = new Outbound(ctx, nextHops, sealer, this.watch, this.mtu, this.lanes);
    this.nat = new NatChannel(ctx, nextHops, sealer, learning, natOptions);
    this.control = new ControlChannel(ctx, nextHops, sealer, this.outbound, learning, this.nat);
    this.inbound = new Inbound(
      ctx,
      nextHops,
      this.outbound,
      this.control,
      learning,
      this.watch,
      this.mtu,
      ctx.peers.accepted,
      this.lanes,
    );
  }

  /** When tick() next has work (the control plane's one timer asks; see node/control-plane.ts). */
  nextWakeAt(now: number): number {
    // The sweep runs every few seconds, so it mostly shares a wake-up with the prober's.
    return Math.max(
      now,
      Math.min(this.watch.nextWakeAt(), this.nat.nextWakeAt(), this.mtu.nextWakeAt(), this.nextSweepAt),
    );
  }

  /** Timer work of the data plane: path probes and their verdicts, table sweeps. */
  tick(now: number): void {
    this.watch.tick(now);
    this.nat.tick(now);
    this.mtu.tick(now);
    if (now >= this.nextSweepAt) {
      this.nextSweepAt = (this.ctx.beat ?? NO_BEAT).at(now + SWEEP_INTERVAL_MS);
      this.ctx.peers.sweep(now);
    }
  }

  /**
   * After an event outside the data plane's own handlers (a timer's work, a reload): the fast lane
   * (fast-lane.ts) decides its entries again and reads back what it sent.
   */
  syncFastLane(now = this.ctx.clock.now()): void {
    this.lanes.sync(now);
  }

  /** Operator pings along explicit paths (control socket: ping, trace). */
  get pinger(): PathPinger {
    return this.control.pinger;
  }

  /** Drops state kept for a member that left the configuration. */
  forget(peer: NodeId): void {
    this.lanes.forget(peer);
    this.outbound.forget(peer);
    this.mtu.forget(peer);
  }
}
