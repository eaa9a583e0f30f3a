// What every part of the data plane shares: who we are, the member table, the pure cores behind
// narrow ports, the two devices, the counters, the clock and the log. DataPlane builds it once; the
// direction modules (outbound, inbound, relay, control channel) each take it instead of each other.
import type { Beat, Clock } from '../clock.js';
import type { NodeId } from '../identity/node-id.js';
import type { Logger } from '../log.js';
import type { TunDevice } from '../tun/tun-device.js';
import type { Transport } from '../transport/transport.js';
import type { DataPlaneCounters } from './counters.js';
import type { ForwardObserver } from './observer.js';
import type { PeerTable } from './peer-table.js';
import type { ProbePort, RoutePort, SessionPort } from './ports.js';

export interface ForwardContext {
  readonly self: NodeId;
  readonly peers: PeerTable;
  readonly sessions: SessionPort;
  readonly prober: ProbePort;
  readonly router: RoutePort;
  readonly transport: Transport;
  readonly tun: TunDevice;
  readonly counters: DataPlaneCounters;
  readonly clock: Clock;
  readonly log: Logger;
  /** Timer work came forward (a destination starts being watched): the node's timer looks again. */
  readonly wake: () => void;
  /** The node's housekeeping beat (clock.ts): the NAT check and table sweeps run on it. */
  readonly beat?: Beat;
  /** network.mssClamp: lower the MSS of TCP SYNs read from the TUN to the path MTU (mss-clamp.ts). */
  readonly mssClamp?: boolean;
  /** Diagnostics: handshake failures and sources (observer.ts); optional so tests may leave it out. */
  readonly observer?: ForwardObserver;
}
