// Turns the endpoints written in peers.yaml into addresses the prober and data plane can use.
// IP literals are used as they are; DNS names (dynamic DNS at home sites) are resolved now and again
// every few minutes, so a site whose address changes is found again without a restart.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { PeerConfig } from '../config/types.js';
import type { NodeId } from '../identity/node-id.js';
import type { Logger } from '../log.js';
import type { Endpoint } from '../transport/transport.js';

export type ResolveFn = (host: string) => Promise<string[]>;

const REFRESH_MS = 5 * 60_000;
const RETRY_MS = 30_000;

const systemResolve: ResolveFn = async (host) => (await lookup(host, { all: true })).map((a) => a.address);

export interface EndpointResolverOptions {
  log: Logger;
  resolve?: ResolveFn;
  /** Receives the full endpoint list of a member whenever it is (re)computed. */
  apply: (member: NodeId, endpoints: Endpoint[]) => void;
}

export class EndpointResolver {
  private readonly log: Logger;
  private readonly resolve: ResolveFn;
  private readonly apply: (member: NodeId, endpoints: Endpoint[]) => void;
  private peers: PeerConfig[] = [];
  private timer: NodeJS.Timeout | undefined;
  private generation = 0;

  constructor(opts: EndpointResolverOptions) {
    this.log = opts.log;
    this.resolve = opts.resolve ?? systemResolve;
    this.apply = opts.apply;
  }

  /** Sets the members (start and reload). Literal endpoints apply at once; names when resolved. */
  setPeers(peers: PeerConfig[]): void {
    this.peers = peers;
    this.generation++;
    for (const p of peers) this.apply(p.id, literalEndpoints(p));
    if (peers.some((p) => p.endpoints.some((e) => isIP(e.host) === 0))) void this.refresh(this.generation);
  }

  stop(): void {
    this.generation++;
    clearTimeout(this.timer);
  }

  private async refresh(generation: number): Promise<void> {
    let failed = false;
    for (const p of this.peers) {
      if (!p.endpoints.some((e) => isIP(e.host) === 0)) continue;
      const endpoints: Endpoint[] = [];
      for (const spec of p.endpoints) {
        if (isIP(spec.host) !== 0) {
          endpoints.push({ host: spec.host, port: spec.port });
          continue;
        }
        try {
          for (const host of await this.resolve(spec.host)) endpoints.push({ host, port: spec.port });
        } catch (err) {
          failed = true;
          this.log.warn(`cannot resolve ${spec.host} (endpoint of ${p.name}): ${(err as Error).message}`);
        }
      }
      if (generation !== this.generation) return; // reloaded or stopped meanwhile
      this.apply(p.id, endpoints);
    }
    if (generation !== this.generation) return;
    this.timer = setTimeout(() => void this.refresh(generation), failed ? RETRY_MS : REFRESH_MS);
    this.timer.unref();
  }
}

function literalEndpoints(p: PeerConfig): Endpoint[] {
  return p.endpoints.filter((e) => isIP(e.host) !== 0).map((e) => ({ host: e.host, port: e.port }));
}
