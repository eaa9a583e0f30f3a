// When a member's WebSocket endpoint joins its UDP endpoints. Every member listed with endpoints is
// probed over UDP; when none of its UDP endpoints has answered for `failAfterMs` (a few probe
// intervals: the dead schedule probes every 1, 2, 4 s), the ws endpoint (same host, the TCP port) is
// added to its configured endpoints and to the transport's dial targets. From then on it is one more
// measured endpoint: the prober ranks it against UDP (ws pays a penalty: member-state.ts), so traffic
// returns to UDP as soon as a UDP endpoint answers again. The ws endpoint stays while UDP is down and
// for `lingerMs` after UDP has been continuously up, so a flapping UDP path does not redial each time.
//
// Two cases wait instead of dialling. A member never reached over UDP gets longer than `failAfterMs`:
// `neverReachedPerMemberMs` per member of the overlay, up to `neverReachedMaxMs` (2 min at 100
// members; 3 s, as before, in an overlay of a few). At the start of a big overlay (or a lab of 100
// daemons on two cores) UDP simply has not had time — handshakes to busy members time out — and one
// daemon of the N = 100 lab dialled 702 ws connections in its first seven minutes, each a TCP and ws
// handshake on a machine already out of CPU; start-up work grows with the members each daemon
// handshakes with, so the wait does too. A small overlay behind a UDP-blocking firewall still gets
// its ws links within seconds (test/netns/ws-transport.test.ts). And a member that routing reaches through other members is not dialled at all:
// it is reachable, and a relayed path is what the overlay is for; ws is for a member nobody reaches.
// Pure: time comes in, endpoint lists and dial targets go out through the ports.
import type { NodeId } from '../identity/node-id.js';
import type { Endpoint } from '../transport/transport.js';

export interface WsFallbackParams {
  /** UDP silent this long, after it had answered, adds ws. */
  failAfterMs: number;
  /** UDP silent since the endpoints were set, never having answered: ws after this per member... */
  neverReachedPerMemberMs: number;
  /** ...at most this long (and at least failAfterMs). */
  neverReachedMaxMs: number;
  lingerMs: number;
  /** The members are looked at no more often than this (tick runs on every wake-up of the node). */
  checkEveryMs: number;
}

export const DEFAULT_WS_FALLBACK: Readonly<WsFallbackParams> = Object.freeze({
  failAfterMs: 3000,
  neverReachedPerMemberMs: 1200,
  neverReachedMaxMs: 120_000,
  lingerMs: 30_000,
  // Seconds-scale decisions (failAfterMs 3 s): every half second walks the members twice a second,
  // not ten times (at 100 ms it was the idle daemon's costliest function at N = 50, perf).
  checkEveryMs: 500,
});

export interface WsFallbackPorts {
  /** The member's full endpoint list (UDP, plus ws while in fallback). */
  apply(member: NodeId, endpoints: Endpoint[]): void;
  setDialTargets(endpoints: Endpoint[]): void;
  /** Whether one of the member's UDP endpoints is alive by the prober (asked per member every check). */
  udpAlive(member: NodeId): boolean;
  /** Whether routing has a path to the member through other members (not over its direct link). */
  relayed(member: NodeId): boolean;
}

interface MemberFallback {
  udp: Endpoint[];
  /** Last time a UDP endpoint was alive (or when the endpoints were set, to give UDP its chance). */
  udpLastAliveAt: number;
  /** Since when UDP has been alive without a break (undefined while down). */
  udpUpSince: number | undefined;
  /** UDP has answered at least once since the member was set up. */
  udpReached: boolean;
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
    else
      this.members.set(member, {
        udp,
        udpLastAliveAt: now,
        udpUpSince: undefined,
        udpReached: false,
        ws: false,
      });
    this.apply(member);
  }

  removeMember(member: NodeId): void {
    if (this.members.delete(member)) this.publishTargets();
  }

  /** Looks at the members at most every checkEveryMs (it runs on every wake-up of the node's timer). */
  tick(now: number): void {
    if (now < this.nextTickAt) return;
    this.nextTickAt = now + this.params.checkEveryMs;
    let changed = false;
    const p = this.params;
    const neverReachedAfter = Math.max(
      p.failAfterMs,
      Math.min(p.neverReachedMaxMs, this.members.size * p.neverReachedPerMemberMs),
    );
    for (const [id, m] of this.members) {
      if (m.udp.length === 0) continue;
      const udpAlive = this.ports.udpAlive(id);
      if (udpAlive) {
        m.udpLastAliveAt = now;
        m.udpUpSince ??= now;
        m.udpReached = true;
      } else m.udpUpSince = undefined;
      const failAfter = m.udpReached ? p.failAfterMs : neverReachedAfter;
      const want = m.ws
        ? !(udpAlive && now - m.udpUpSince! >= this.params.lingerMs)
        : !udpAlive && now - m.udpLastAliveAt >= failAfter && !this.ports.relayed(id);
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
