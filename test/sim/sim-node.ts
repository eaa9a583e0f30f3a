// One simulated overlayd node: the daemon's real routing core (Prober + Router, real Ed25519) with
// its ports wired to the simulated network instead of UDP. Nothing here decides anything about
// routing; it only carries packets and time, as the data plane and node.ts do in the daemon.
import { keyPairFromSeed, sign, type KeyPair } from '../../src/identity/keys.js';
import { nodeIdFromPublicKey, type NodeId } from '../../src/identity/node-id.js';
import { Prober } from '../../src/probe/prober.js';
import type { ProbeParams } from '../../src/probe/probe-params.js';
import { Router, type RouterMember } from '../../src/routing/router.js';
import type { RoutingParams } from '../../src/routing/routing-params.js';
import { seededRandom } from './rng.js';

/** What a node needs from the simulator. */
export interface SimNetwork {
  now(): number;
  sendProbe(from: SimNode, member: NodeId, endpointKey: string, probeId: number): void;
  sendControl(from: SimNode, neighbor: NodeId, message: Uint8Array): void;
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
  /** The node's timers may have moved: reschedule its wake-up. */
  changed(node: SimNode): void;
}

export interface NodeConfig {
  probe: Partial<ProbeParams>;
  routing: RoutingParams;
  /** Wall clock at virtual time 0 (ms since the epoch), for advert sequence numbers. */
  wallEpochMs: number;
}

export class SimNode {
  readonly id: NodeId;
  readonly keys: KeyPair;
  readonly endpointKey: string;
  prober: Prober | undefined;
  router: Router | undefined;
  /** Bumped on every boot: packets addressed to a previous life are dropped. */
  incarnation = 0;
  /** Added to the wall clock (a restart with a clock set back tests the seq jump). */
  clockSkewMs = 0;
  wakeAt = Infinity;
  wakeToken = 0;

  constructor(
    readonly index: number,
    seed: number,
  ) {
    const s = new Uint8Array(32);
    new DataView(s.buffer).setUint32(0, seed >>> 0);
    new DataView(s.buffer).setUint32(4, index);
    this.keys = keyPairFromSeed(s);
    this.id = nodeIdFromPublicKey(this.keys.publicKey);
    this.endpointKey = `sim:${index}`;
  }

  get up(): boolean {
    return this.router !== undefined;
  }

  boot(
    net: SimNetwork,
    members: readonly RouterMember[],
    endpointOf: (id: NodeId) => string,
    cfg: NodeConfig,
  ): void {
    this.incarnation++;
    const random = seededRandom((this.index * 7919 + this.incarnation * 104729) >>> 0);
    const prober = new Prober({
      params: cfg.probe,
      ports: {
        // No sessions in the simulator: every probe is sent (and lost on the path, or not).
        sendProbe: (member, key, probeId) => {
          net.sendProbe(this, member, key, probeId);
          return true;
        },
        random,
      },
    });
    for (const m of members) if (m.id !== this.id) prober.setEndpoints(m.id, [endpointOf(m.id)]);
    const secretKey = this.keys.secretKey;
    this.prober = prober;
    this.router = new Router({
      self: this.id,
      members,
      params: cfg.routing,
      prober,
      ports: {
        sendControl: (neighbor, message) => net.sendControl(this, neighbor, message),
        sign: (message) => sign(message, secretKey),
        verify: (sig, msg, key) => net.verify(sig, msg, key),
        wallClock: () => cfg.wallEpochMs + net.now() + this.clockSkewMs,
        random,
        cpuClock: () => performance.now(),
      },
    });
    net.changed(this);
  }

  shutdown(): void {
    this.prober = undefined;
    this.router = undefined;
    this.incarnation++;
    this.wakeAt = Infinity;
    this.wakeToken++;
  }

  /** Runs due timers: the prober first, so the router sees this instant's link changes. */
  service(now: number): void {
    this.prober?.tick(now);
    this.router?.tick(now);
  }

  nextWakeAt(): number {
    if (!this.prober || !this.router) return Infinity;
    return Math.min(this.prober.nextWakeAt(), this.router.nextWakeAt());
  }
}
