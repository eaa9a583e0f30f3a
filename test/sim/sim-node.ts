// One simulated overlayd node: the daemon's own control plane (src/node/control-plane.ts — the same
// Prober, Router, wiring and wake-up scheduler node.ts builds, real Ed25519) with its carrier replaced
// by the simulated network instead of forward/ over UDP. Nothing here decides anything about routing
// or timing; it only hands the plane its ports, as node.ts does in the daemon.
import type { Clock, Timers } from '../../src/clock.js';
import { keyPairFromSeed, sign, type KeyPair } from '../../src/identity/keys.js';
import { nodeIdFromPublicKey, type NodeId } from '../../src/identity/node-id.js';
import { ControlPlane } from '../../src/node/control-plane.js';
import { ControlTraffic } from '../../src/node/control-traffic.js';
import type { Prober } from '../../src/probe/prober.js';
import type { ProbeParams } from '../../src/probe/probe-params.js';
import type { Router, RouterMember } from '../../src/routing/router.js';
import type { RoutingParams } from '../../src/routing/routing-params.js';
import { seededRandom } from './rng.js';

/** What a node needs from the simulator. */
export interface SimNetwork {
  readonly clock: Clock;
  /** Timers for `node` on the virtual clock. */
  timersFor(node: SimNode): Timers;
  sendProbe(from: SimNode, member: NodeId, endpointKey: string, probeId: number): void;
  sendControl(from: SimNode, neighbor: NodeId, message: Uint8Array): void;
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}

export interface NodeConfig {
  probe: Partial<ProbeParams>;
  routing: RoutingParams;
  /** Wall clock at virtual time 0 (ms since the epoch), for advert sequence numbers. */
  wallEpochMs: number;
  beatMs?: number;
}

/** The random source of node `index` in its `incarnation`-th life (shared by prober and router). */
export function simNodeRandom(index: number, incarnation: number): () => number {
  return seededRandom((index * 7919 + incarnation * 104729) >>> 0);
}

/** The key pair of node `index` of a simulation seeded with `seed`. */
export function simNodeKeys(index: number, seed: number): KeyPair {
  const s = new Uint8Array(32);
  new DataView(s.buffer).setUint32(0, seed >>> 0);
  new DataView(s.buffer).setUint32(4, index);
  return keyPairFromSeed(s);
}

export class SimNode {
  readonly id: NodeId;
  readonly keys: KeyPair;
  readonly endpointKey: string;
  /** Bytes sent by type, over all of this node's lives. */
  readonly traffic = new ControlTraffic();
  plane: ControlPlane | undefined;
  /** Bumped on every boot: packets addressed to a previous life are dropped. */
  incarnation = 0;
  /** Added to the wall clock (a restart with a clock set back tests the seq jump). */
  clockSkewMs = 0;

  constructor(
    readonly index: number,
    seed: number,
  ) {
    this.keys = simNodeKeys(index, seed);
    this.id = nodeIdFromPublicKey(this.keys.publicKey);
    this.endpointKey = `sim:${index}`;
  }

  get up(): boolean {
    return this.plane !== undefined;
  }

  get prober(): Prober | undefined {
    return this.plane?.prober;
  }

  get router(): Router | undefined {
    return this.plane?.router;
  }

  boot(
    net: SimNetwork,
    members: readonly RouterMember[],
    endpointOf: (id: NodeId) => string,
    cfg: NodeConfig,
  ): void {
    this.incarnation++;
    const secretKey = this.keys.secretKey;
    const plane = new ControlPlane({
      self: this.id,
      members,
      clock: net.clock,
      timers: net.timersFor(this),
      random: simNodeRandom(this.index, this.incarnation),
      probeParams: cfg.probe,
      routingParams: cfg.routing,
      beatMs: cfg.beatMs,
      traffic: this.traffic,
      ports: {
        // No sessions in the simulator: every probe is sent (and lost on the path, or not).
        sendProbe: (member, key, probeId) => {
          net.sendProbe(this, member, key, probeId);
          return true;
        },
        sendControl: (neighbor, message) => net.sendControl(this, neighbor, message),
        sign: (message) => sign(message, secretKey),
        verify: (sig, msg, key) => net.verify(sig, msg, key),
        wallClock: () => cfg.wallEpochMs + net.clock.now() + this.clockSkewMs,
        cpuClock: () => performance.now(),
      },
    });
    this.plane = plane;
    for (const m of members) if (m.id !== this.id) plane.setEndpoints(m.id, [endpointOf(m.id)]);
  }

  shutdown(): void {
    this.plane?.stop();
    this.plane = undefined;
    this.incarnation++;
  }
}
