// When a member's WebSocket endpoint joins its UDP endpoints. Every member listed with endpoints is
// probed over UDP; when none of its UDP endpoints has answered for `failAfterMs` (a few probe
// intervals: the dead schedule probes every 1, 2, 4 s), the ws endpoint (same host, the TCP port) is
// added to its configured endpoints and to the transport's dial targets. From then on it is one more
// measured endpoint: the prober ranks it against UDP (ws pays a penalty: member-state.ts), so traffic
// returns to UDP as soon as a UDP endpoint answers again. The ws endpoint stays while UDP is down and
// for `lingerMs` after UDP has been continuously up, so a flapping UDP path does not redial each time.
// Pure: time comes in, endpoint lists and dial targets go out through the ports.
import type { NodeId } from '../identity/node-id.js';
import type { EndpointView } from '../probe/link-view.js';
import { isWsEndpointKey, type Endpoint } from '../transport/transport.js';

export interface WsFallbackParams {
  failAfterMs: number;
  lingerMs: number;
}

export const DEFAULT_WS_FALLBACK: Readonly<WsFallbackParams> = Object.freeze({
  failAfterMs: 3000,
  lingerMs: 30_000,
});

export interface WsFallbackPorts {
  /** The member's full endpoint list (UDP, plus ws while in fallback). */
  apply(member: NodeId, endpoints: Endpoint[]): void;
  setDialTargets(endpoints: Endpoint[]): void;
  /** The prober's view of the member's endpoints. */
  endpoints(member: NodeId): readonly EndpointView[];
}

const CHECK_EVERY_MS = 100;

interface MemberFallback {
  udp: Endpoint[];
  /** Last time a UDP endpoint was alive (or when the endpoints were set, to give UDP its chance). */
  udpLastAliveAt: number;
  /** Since when UDP has been alive without a break (undefined while down). */
  udpUpSince: number | undefined;
  ws: boolean;
}

export class WsFallback {
  private readonly members = new Map<NodeId, MemberFallback>();
  private nextTickAt = -Infinity;

  constructor(
    private readonly ports: WsFallbackPorts,
    /** TCP port members listen on (network.tcpPort); undefined: each endpoint's UDP port number. */
    private readonly tcpPort: number | undefined,
    private readonly params: WsFallbackParams = DEFAULT_WS_FALLBACK,
  ) {}

  /** The member's UDP endpoints (start, reload, DNS refresh). */
  setEndpoints(member: NodeId, udp: Endpoint[], now: number): void {
    const m = this.members.get(member);
    if (m) m.udp = udp;
    else this.members.set(member, { udp, udpLastAliveAt: now, udpUpSince: undefined, ws: false });
    this.apply(member);
  }

  removeMember(member: NodeId): void {
    if (this.members.delete(member)) this.publishTargets();
  }

  /** Looks at the members at most every CHECK_EVERY_MS (the node ticks every 10 ms). */
  tick(now: number): void {
    if (now < this.nextTickAt) return;
    this.nextTickAt = now + CHECK_EVERY_MS;
    let changed = false;
    for (const [id, m] of this.members) {
      if (m.udp.length === 0) continue;
      const udpAlive = this.ports.endpoints(id).some((e) => e.alive && !isWsEndpointKey(e.endpointKey));
      if (udpAlive) {
        m.udpLastAliveAt = now;
        m.udpUpSince ??= now;
      } else m.udpUpSince = undefined;
      const want = m.ws
        ? !(udpAlive && now - m.udpUpSince! >= this.params.lingerMs)
        : !udpAlive && now - m.udpLastAliveAt >= this.params.failAfterMs;
      if (want !== m.ws) {
        m.ws = want;
        this.apply(id);
        changed = true;
      }
    }
    if (changed) this.publishTargets();
  }

  /** Members whose ws endpoint is in use (status, tests). */
  inFallback(member: NodeId): boolean {
    return this.members.get(member)?.ws ?? false;
  }

  private wsEndpoints(m: MemberFallback): Endpoint[] {
    return m.ws ? m.udp.map((e) => ({ host: e.host, port: this.tcpPort ?? e.port, via: 'ws' as const })) : [];
  }

  private apply(member: NodeId): void {
    const m = this.members.get(member);
    if (m) this.ports.apply(member, [...m.udp, ...this.wsEndpoints(m)]);
  }

  private publishTargets(): void {
    this.ports.setDialTargets([...this.members.values()].flatMap((m) => this.wsEndpoints(m)));
  }
}
