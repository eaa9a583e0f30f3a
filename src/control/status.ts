// Snapshots of what a running node sees, in plain JSON: the control socket's answers and what
// `overlayd status` / `paths` print. Built on demand from the components' own state.
import { isWsEndpointKey } from '../transport/transport.js';
import type { NodeId } from '../identity/node-id.js';
import { formatNodeId } from '../identity/node-id.js';
import type { PeerTraffic } from '../forward/counters.js';
import type { OverlayNode } from '../node.js';
import type { SubnetView } from '../node/subnets.js';
import type { TrafficByType } from '../node/control-traffic.js';
import type { WakeCause } from '../node/control-plane.js';
import type { ProbeStats } from '../probe/link-view.js';
import { overlaydVersion } from '../version.js';
import { describeSwitch } from '../node/route-log.js';
import { explainChoice } from '../routing/alternatives.js';
import type { DriftCause, OriginationCause } from '../routing/originator.js';
import type { RouterStats } from '../routing/router-stats.js';
import { byText } from '../text-order.js';
import { unreachableReason } from './unreachable-reason.js';

export interface DirectLinkStatus {
  alive: boolean;
  endpoint: string;
  /** What carries the link: UDP, or a WebSocket connection over TCP (ws-transport.ts). */
  transport: 'udp' | 'ws';
  /** listed (peers.yaml), reflexive (its source address, proven) or punched (nat/). */
  origin: string;
  srttMs: number;
  recentRttMs: number;
  lossRatio: number;
  jitterMs: number;
  /**
   * Path MTU discovery on this link (pmtu/): the largest datagram (UDP payload) that crosses it as far
   * as known, the largest IP packet a direct path over it takes, and whether the search has settled.
   * Absent while the link is dead (searched afresh when it is back).
   */
  mtu?: { datagramBytes: number; ipBytes: number; state: 'searching' | 'settled' };
}

/** One underlay endpoint of a member, as the prober knows it. */
export interface EndpointStatus {
  endpoint: string;
  /** From peers.yaml (resolved), or learned from the member's authenticated traffic. */
  configured: boolean;
  alive: boolean;
  /** Path MTU discovery on this endpoint (each alive one is searched, so a move between them keeps it). */
  mtu?: { datagramBytes: number; state: 'searching' | 'settled' };
}

export interface MemberStatus {
  name: string;
  id: string;
  address: string;
  address6?: string;
  self: boolean;
  reachable: boolean;
  /** Names along the chosen path, self first; null when unreachable. */
  path: string[] | null;
  hops: number | null;
  costMs: number | null;
  /** How long the current path has been in use. */
  pathAgeMs: number | null;
  /** The largest IP packet the chosen path carries (smallest link, less its relays' headers); absent if none. */
  pathMtu?: number;
  lastChange?: string;
  direct: DirectLinkStatus | null;
  /** The endpoint the direct link uses now (alive), or null. */
  endpoint: string | null;
  endpoints: EndpointStatus[];
  session: {
    established: boolean;
    ageMs: number | null;
    handshakeAttempts: number;
    /** Time since the last completed handshake (either side initiating); null if none since start. */
    lastHandshakeAgoMs: number | null;
    /** Our last completed round of initiations, first initiation to response (retries included). */
    lastHandshakeTookMs: number | null;
  };
  /** Why there is no path, when there is none (see unreachable-reason.ts). */
  unreachableReason?: string;
  /** The last handshake failure since the last completed handshake (node/member-diagnostics.ts). */
  lastHandshakeFailure?: { reason: string; detail?: string; agoMs: number };
  /** Handshake failures since start, by reason. */
  handshakeFailures: Record<string, number>;
  /** Two addresses take turns completing this member's handshakes: two machines hold its key. */
  duplicateKeySuspected?: { addresses: string[] };
  traffic: PeerTraffic;
}

export interface NodeStatus {
  node: {
    name: string;
    id: string;
    address: string;
    address6?: string;
    interface: string;
    port: number;
    uptimeMs: number;
    version: string;
    /** peers.yaml as loaded (absolute path), its SHA-256, and when it was loaded (ISO wall clock). */
    config: string;
    configSha256: string;
    configLoadedAt: string;
  };
  members: MemberStatus[];
  drops: Record<string, number>;
  handshakeRejects: Record<string, number>;
  /** The TUN's outbound fast lane (forward/fast-lane.ts); absent from older daemons. */
  fastLane?: {
    /** Off with --no-fast-lane, or on a device without one. */
    on: boolean;
    /** Destinations it may carry now. */
    destinations: number;
    /** IP packets it sealed and sent without JavaScript. */
    packets: number;
    /** The inbound lane (absent from older daemons): receive keypairs it may open now. */
    rxSessions?: number;
    /** IP packets it opened and wrote to the TUN without JavaScript. */
    rxPackets?: number;
  };
  control: {
    probeBytesSent: number;
    probeBytesReceived: number;
    controlBytesSent: number;
    controlBytesReceived: number;
  };
  links: Array<{ a: string; b: string; costMs: number; own: boolean }>;
  /** Site LANs listed in peers.yaml and the gateway carrying each (absent from older daemons). */
  subnets?: SubnetView[];
  controlPlane: ControlPlaneStatus;
  /** NAT traversal (nat/): our reflexive endpoints and how punches went. */
  nat: {
    reflexive: string[];
    observations: Array<{ endpoint: string; observers: number }>;
    punches: { success: number; failed: number; rateLimited: number; unsolicited: number };
    /** ms from punch request to a working direct link, of the last successes. */
    punchSuccessMs: number[];
    keepalivesSent: number;
  };
  /** Path MTU (pmtu/): packets too big for their path, and the link probes. */
  mtu: {
    tooBigIcmpSent: number;
    tooBigIcmpLimited: number;
    fragmented: number;
    /** TCP SYNs whose MSS was lowered to the path MTU (network.mssClamp; 0 when off). */
    mssClamped: number;
    probesSent: number;
    repliesReceived: number;
  };
}

/** The control plane's own figures (cheap: the `overview` control call returns only these). */
export interface ControlPlaneStatus {
  name: string;
  members: number;
  /** Members this node has a route to. */
  routes: number;
  /** Members probed right now (all others, or the bounded neighbour set; see network.neighbours). */
  probed: number;
  /** Times the control plane's timer fired since start (idle cost: see node/wake-scheduler.ts). */
  wakeups: number;
  /** Of them, by the core that had work due (node/control-plane.ts WAKE_CAUSES). */
  wakeupsBy: Record<WakeCause, number>;
  uptimeMs: number;
  /** Control messages and bytes sent by type (on-the-wire estimate, see node/control-traffic.ts). */
  sent: TrafficByType;
  /** Exact UDP payload bytes of probes, echoes and routing messages sent (the data plane's count). */
  sealedBytesSent: number;
  /** process.memoryUsage() of the daemon, bytes. */
  memory: { rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number };
  /** The prober's counters since start: probes sent, lost, replies in time, late, unknown. */
  probes: ProbeStats;
  /** Our adverts since start, by why they went out (routing/originator.ts). */
  advertsOriginatedBy: Record<OriginationCause, number>;
  /** Of those, the drift adverts by what first made them due. */
  advertDriftBy: Record<DriftCause, number>;
  /** Links whose RTT or loss moved and came back within the drift interval: adverts not sent. */
  advertDriftFaded: number;
  /** How others' adverts reached us and what we sent for them (routing/router-stats.ts). */
  flooding: FloodingCounts;
}

/** Flooding since start: copies received (new and duplicate), adverts sent on, requests (router-stats.ts). */
export const FLOODING_COUNTS = [
  'advertsReceived',
  'advertsAccepted',
  'advertsDuplicate',
  'advertsForwarded',
  'advertsPushed',
  'announcementsSent',
  'requestsSent',
  'requestsUnanswered',
] as const;
export type FloodingCounts = Record<(typeof FLOODING_COUNTS)[number], number>;

export type { SubnetView };

/** The answer to `paths`: the route table and the recent changes, member names throughout. */
export interface PathsReport {
  node: string;
  paths: Array<{
    destination: string;
    path: string[];
    hops: number;
    costMs: number;
    /** Largest IP packet the path carries (pmtu/: its first link, less its relays' headers). */
    mtu?: number;
    ageMs: number;
    lastChange?: string;
    /** Why this path carries the traffic now (routing/alternatives.ts explainChoice). */
    why: string;
    /** The best path through each neighbour, cheapest first, the chosen one included. */
    alternatives: Array<{ path: string[]; costMs: number; chosen: boolean }>;
  }>;
  changes: Array<{
    /** ISO wall-clock time. */
    at: string;
    destination: string;
    from: string[] | null;
    to: string[] | null;
    reason: string;
    /** The reason in words ("switched: 30% better"). */
    summary: string;
  }>;
  /** Each subnet: the gateway carrying it, the path there, the other gateways and why. */
  subnets?: SubnetView[];
  gatewayChanges?: Array<{
    /** ISO wall-clock time. */
    at: string;
    subnet: string;
    from: string | null;
    to: string | null;
    reason: string;
  }>;
}

export function buildPaths(node: OverlayNode, now: number): PathsReport {
  return {
    node: node.self.name,
    paths: [...node.router.routes()].map(([dst, p]) => {
      const alternatives = node.router.alternatives(dst);
      const last = node.routeHistory.last(dst);
      const why = explainChoice(p, alternatives, node.router.params, node.nameOf);
      return {
        destination: node.nameOf(dst),
        path: p.nodes.map(node.nameOf),
        hops: p.nodes.length - 1,
        costMs: round(p.cost),
        mtu: node.dataPlane.mtu.pathMtuOf(dst, now),
        ageMs: Math.round(now - p.since),
        lastChange: last ? describeSwitch(last) : undefined,
        why,
        alternatives: alternatives.map((a) => ({
          path: a.nodes.map(node.nameOf),
          costMs: round(a.cost),
          chosen: a.nodes.length === p.nodes.length && a.nodes.every((x, i) => x === p.nodes[i]),
        })),
      };
    }),
    changes: node.routeHistory.recent(50).map((r) => ({
      at: new Date(r.at).toISOString(),
      destination: node.nameOf(r.dst),
      from: r.from?.map(node.nameOf) ?? null,
      to: r.to?.map(node.nameOf) ?? null,
      reason: r.reason,
      summary: describeSwitch(r),
    })),
    subnets: node.subnets.view(now),
    gatewayChanges: node.subnets.history.recent(50).map((r) => ({
      at: new Date(r.at).toISOString(),
      subnet: r.subnet,
      from: r.from === null ? null : node.nameOf(r.from),
      to: r.to === null ? null : node.nameOf(r.to),
      reason: r.reason,
    })),
  };
}

export function buildStatus(node: OverlayNode, now: number): NodeStatus {
  const nameOf = node.nameOf;
  const members: MemberStatus[] = [];
  const mtuStatus = new Map(
    node.dataPlane.mtu
      .status()
      .map((l) => [l.member, { datagramBytes: l.datagramBytes, ipBytes: l.mtu, state: l.state }] as const),
  );
  for (const m of node.peers.all()) {
    const self = m.id === node.self.id;
    const path = self ? undefined : node.router.route(m.id);
    const link = self ? undefined : node.prober.link(m.id);
    const session = self ? undefined : node.sessions.stats(m.id, now);
    const t = node.counters.peers.get(m.id);
    const endpoints = self
      ? []
      : node.prober.endpoints(m.id).map((e) => ({
          endpoint: e.endpointKey,
          configured: e.configured,
          alive: e.alive,
          mtu: node.dataPlane.mtu.endpointMtu(m.id, e.endpointKey),
        }));
    const sessionStatus = {
      established: session?.established ?? false,
      ageMs: session?.sessionAgeMs === undefined ? null : Math.round(session.sessionAgeMs),
      handshakeAttempts: session?.handshakeAttempts ?? 0,
      lastHandshakeAgoMs:
        session?.lastHandshakeAt === undefined ? null : Math.round(now - session.lastHandshakeAt),
      lastHandshakeTookMs:
        session?.lastHandshakeTookMs === undefined ? null : Math.round(session.lastHandshakeTookMs),
    };
    const reachable = self || path !== undefined;
    const failure = self ? undefined : node.diagnostics.lastFailure(m.id, now);
    const duplicate = self ? undefined : node.diagnostics.duplicateKey(m.id, now);
    members.push({
      name: m.name,
      id: formatNodeId(m.id),
      address: m.address,
      address6: m.address6,
      self,
      reachable,
      path: path ? path.nodes.map(nameOf) : null,
      hops: path ? path.nodes.length - 1 : null,
      costMs: path ? round(path.cost) : null,
      pathAgeMs: path ? Math.round(now - path.since) : null,
      pathMtu: self ? undefined : node.dataPlane.mtu.pathMtuOf(m.id, now),
      lastChange: node.routeHistory.lastReason(m.id),
      direct: link
        ? {
            alive: link.alive,
            endpoint: link.endpointKey,
            transport: isWsEndpointKey(link.endpointKey) ? 'ws' : 'udp',
            origin: link.origin ?? 'listed',
            srttMs: round(link.srttMs),
            recentRttMs: round(link.recentRttMs),
            lossRatio: round(link.lossRatio),
            jitterMs: round(link.jitterMs),
            mtu: mtuStatus.get(m.id),
          }
        : null,
      endpoint: link?.alive ? link.endpointKey : null,
      endpoints,
      session: sessionStatus,
      unreachableReason: reachable
        ? undefined
        : unreachableReason({
            endpointsKnown: endpoints.length,
            sessionEstablished: sessionStatus.established,
            handshakeAttempts: sessionStatus.handshakeAttempts,
            everHandshaked: sessionStatus.lastHandshakeAgoMs !== null,
            directDead: link !== undefined && !link.alive,
            lastFailure: failure?.reason,
            ...node.router.graphFacts(m.id),
          }),
      lastHandshakeFailure: failure && {
        reason: failure.reason,
        detail: failure.detail,
        agoMs: Math.round(now - failure.at),
      },
      handshakeFailures: Object.fromEntries(node.diagnostics.failureCounts(m.id)),
      duplicateKeySuspected: duplicate && { addresses: duplicate.addresses },
      traffic: {
        txPackets: t?.txPackets ?? 0,
        txBytes: t?.txBytes ?? 0,
        rxPackets: t?.rxPackets ?? 0,
        rxBytes: t?.rxBytes ?? 0,
        relayedPackets: t?.relayedPackets ?? 0,
        relayedBytes: t?.relayedBytes ?? 0,
      },
    });
  }
  members.sort((a, b) => (a.self === b.self ? byText(a.name, b.name) : a.self ? -1 : 1));
  const c = node.counters;
  return {
    node: {
      name: node.self.name,
      id: formatNodeId(node.self.id),
      address: node.self.address,
      address6: node.self.address6,
      interface: node.tun.name,
      port: node.transport.port,
      uptimeMs: Math.round(now - node.startedAt),
      version: overlaydVersion(),
      config: node.configuration.file,
      configSha256: node.configuration.sha256,
      configLoadedAt: new Date(node.configLoadedAt).toISOString(),
    },
    members,
    drops: Object.fromEntries(c.drops),
    fastLane: {
      on: node.dataPlane.lanes.tx !== undefined,
      destinations: node.dataPlane.lanes.tx?.size ?? 0,
      packets: c.fastLanePackets,
      rxSessions: node.dataPlane.lanes.rx?.size ?? 0,
      rxPackets: c.fastLaneReceived,
    },
    handshakeRejects: Object.fromEntries(c.handshakeRejects),
    control: {
      probeBytesSent: c.probeBytesSent,
      probeBytesReceived: c.probeBytesReceived,
      controlBytesSent: c.controlBytesSent,
      controlBytesReceived: c.controlBytesReceived,
    },
    links: node.router
      .linkState()
      .map((l) => ({ a: nameOf(l.a), b: nameOf(l.b), costMs: round(l.costMs), own: l.own })),
    subnets: node.subnets.view(now),
    controlPlane: buildOverview(node, now),
    nat: natStatus(node, now),
    mtu: {
      tooBigIcmpSent: c.tooBigIcmpSent,
      tooBigIcmpLimited: c.tooBigIcmpLimited,
      fragmented: c.fragmented,
      mssClamped: c.mssClamped,
      probesSent: node.dataPlane.mtu.probesSent,
      repliesReceived: node.dataPlane.mtu.repliesReceived,
    },
  };
}

export function buildOverview(node: OverlayNode, now: number): ControlPlaneStatus {
  return {
    name: node.self.name,
    members: node.configuration.peers.length,
    routes: node.router.routes().size,
    probed: node.prober.probedMembers().length,
    wakeups: node.plane.scheduler.wakeups,
    wakeupsBy: { ...node.plane.wakeupsBy },
    uptimeMs: Math.round(now - node.startedAt),
    sent: node.plane.traffic.snapshot(),
    sealedBytesSent: node.counters.probeBytesSent + node.counters.controlBytesSent,
    memory: process.memoryUsage(),
    probes: node.prober.stats(),
    advertsOriginatedBy: { ...node.router.originatedBy },
    advertDriftBy: { ...node.router.driftBy },
    advertDriftFaded: node.router.driftFaded,
    flooding: floodingCounts(node.router.stats()),
  };
}

function floodingCounts(r: RouterStats): FloodingCounts {
  return {
    advertsReceived: r.advertsReceived,
    advertsAccepted: r.advertsAccepted,
    advertsDuplicate: r.advertsDuplicate,
    advertsForwarded: r.advertsForwarded,
    advertsPushed: r.advertsPushed,
    announcementsSent: r.announcementsSent,
    requestsSent: r.requestsSent,
    requestsUnanswered: r.rejected['request-unanswered'] ?? 0,
  };
}

function natStatus(node: OverlayNode, now: number): NodeStatus['nat'] {
  const nat = node.dataPlane.nat;
  return {
    reflexive: [...nat.reflexive.published()],
    observations: nat.reflexive.observations(now).map((o) => ({ endpoint: o.key, observers: o.observers })),
    punches: { ...nat.punches.counts },
    punchSuccessMs: [...nat.punches.successMs],
    keepalivesSent: nat.keepalivesSent,
  };
}

/** The member named by `target`: a name, an overlay address, or a node id in hex. */
export function resolveMember(node: OverlayNode, target: string): NodeId | undefined {
  for (const m of node.peers.all()) {
    if (m.name === target || m.address === target || m.address6 === target || formatNodeId(m.id) === target)
      return m.id;
  }
  return undefined;
}

function round(n: number): number {
  return Number.isFinite(n) ? Math.round(n * 1000) / 1000 : n;
}
