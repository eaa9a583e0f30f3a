// What a node changes on its host outside its own TUN, behind one object so in-process nodes (tests,
// the simulator) run without it: routes to other members' subnets on the TUN (tun-routes.ts), source
// NAT for our own subnets that ask for it (masquerade.ts), and a look at IP forwarding (forwarding.ts).
import type { Logger } from '../log.js';
import { runCommand, type CommandRunner } from './command.js';
import { readForwarding, type Forwarding } from './forwarding.js';
import { Masquerade } from './masquerade.js';
import { TunRoutes } from './tun-routes.js';

export class HostNetwork {
  readonly routes: TunRoutes;
  readonly masquerade: Masquerade;

  constructor(
    readonly dev: string,
    log: Logger,
    run: CommandRunner = runCommand,
    readonly forwarding: () => Forwarding = readForwarding,
  ) {
    this.routes = new TunRoutes(dev, run, log);
    this.masquerade = new Masquerade(dev, run, log);
  }

  /** Removes everything of ours (exit): routes first, so nothing is sent into a TUN about to close. */
  async close(): Promise<void> {
    await this.routes.removeAll();
    await this.masquerade.remove();
  }
}

/** How `overlayd up` builds it; NodeInputs.hostNetwork. */
export type HostNetworkFactory = (dev: string, log: Logger) => HostNetwork;

export const systemHostNetwork: HostNetworkFactory = (dev, log) => new HostNetwork(dev, log);
