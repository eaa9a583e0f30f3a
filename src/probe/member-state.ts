// Per-member and per-endpoint state of the prober, and the policies that only need that state: the
// probe schedule and the choice of a member's best endpoint.
import type { NodeId } from '../identity/node-id.js';
import { isWsEndpointKey } from '../transport/transport.js';
import { LinkEstimator } from './link-estimator.js';
import { jittered, type ProbeParams } from './probe-params.js';

/**
 * Where an endpoint came from: listed in peers.yaml, learned from the source address of a member's
 * packets (its NAT mapping as we see it: reflexive), or tried because of a punch (nat/).
 */
export type EndpointOrigin = 'listed' | 'reflexive' | 'punched';

export interface EndpointState {
  key: string;
  configured: boolean;
  origin: EndpointOrigin;
  /** A punch candidate: probed every punchIntervalMs rather than backing off (both ends at once). */
  punch: boolean;
  /**
   * Learned from a packet's source address and not yet proven by a reply from it: probed
   * `candidateProbes` times, backing off, then forgotten unless a reply came (Prober.learnEndpoint).
   */
  candidate: boolean;
  candidateProbesLeft: number;
  est: LinkEstimator;
  nextProbeAt: number;
  lastSentAt: number;
  /** When a probe from the member at this dead endpoint last moved our next probe up (Prober.reviveHint). */
  revivedAt: number;
  /** Probes sent since the endpoint was last alive: drives the dead backoff. */
  deadProbes: number;
  /** Alive but the last probe was lost: probe at the active rate until a reply settles it. */
  suspect: boolean;
  /** Probes still to send at the active rate since the link came (back) up: measure it quickly. */
  confirmProbes: number;
  /** Replies in a row with an RTT close to the smoothed one: stretches the idle interval. */
  steadyReplies: number;
  /** The last reply was off the steady band after steady ones: one more off it restarts the backoff. */
  offBand: boolean;
  /** Last reply from it (its creation time until then). */
  lastHeardAt: number;
  /** Bumped whenever nextProbeAt is rescheduled: older timer entries for it are stale. */
  gen: number;
}

export interface MemberState {
  endpoints: Map<string, EndpointState>;
  activeUntil: number;
  /**
   * End of the active window of traffic that uses the link (data, a relayed flow, a NAT punch), as
   * opposed to a look at it (a handshake, a suspicion): the member should probe us back meanwhile.
   */
  usedUntil: number;
  /** When we last relayed a data packet to the member, and its source and destination (see ProbeParams.relayedPairMs). */
  lastRelayedAt: number;
  lastRelayedSrc: NodeId;
  lastRelayedDst: NodeId;
  bestKey: string | undefined;
  probed: boolean;
  /** The last direct probe FROM the member that we echoed: when, and from which endpoint. */
  probedUs?: { at: number; key: string };
}

export function newEndpoint(
  key: string,
  configured: boolean,
  now: number,
  params: ProbeParams,
): EndpointState {
  return {
    key,
    configured,
    origin: configured ? 'listed' : 'reflexive',
    punch: false,
    candidate: false,
    candidateProbesLeft: 0,
    est: new LinkEstimator(params),
    nextProbeAt: now,
    lastSentAt: -Infinity,
    revivedAt: -Infinity,
    deadProbes: 0,
    suspect: false,
    confirmProbes: 0,
    steadyReplies: 0,
    offBand: false,
    lastHeardAt: now,
    gen: 0,
  };
}

/**
 * Time until the next probe of `ep` (see the schedule in prober.ts). Every alive endpoint of an
 * active member goes to the active rate, not only the best one: when a site's uplink dies, all its
 * endpoints (IPv4 and IPv6 alike) usually die together, and an alternate endpoint still believed
 * alive on the idle schedule would hold the member "reachable" for another second.
 */
/** Which schedule an endpoint is probed on, most urgent first (see probeInterval). */
export const PROBE_SCHEDULES = [
  'punch',
  'candidate',
  'dead',
  'suspect',
  'confirm',
  'active',
  'idle',
] as const;
export type ProbeSchedule = (typeof PROBE_SCHEDULES)[number];

export function probeSchedule(m: MemberState, ep: EndpointState, now: number): ProbeSchedule {
  if (ep.candidate) return ep.punch ? 'punch' : 'candidate';
  if (!ep.est.alive) return 'dead';
  if (ep.suspect) return 'suspect';
  if (ep.confirmProbes > 0) return 'confirm';
  if (now < m.activeUntil) return 'active';
  return 'idle';
}

export function probeInterval(
  m: MemberState,
  ep: EndpointState,
  now: number,
  p: ProbeParams,
  random: () => number,
): number {
  let base: number;
  switch (probeSchedule(m, ep, now)) {
    case 'punch':
      base = p.punchIntervalMs;
      break;
    case 'candidate':
      base = p.candidateFirstIntervalMs * 2 ** Math.max(0, p.candidateProbes - ep.candidateProbesLeft - 1);
      break;
    case 'dead':
      base = Math.min(p.deadFirstIntervalMs * 2 ** Math.max(0, ep.deadProbes - 1), p.deadMaxIntervalMs);
      break;
    case 'suspect':
    case 'confirm':
    case 'active':
      base = fastInterval(ep, p);
      break;
    case 'idle':
      base = idleInterval(ep.steadyReplies, p);
  }
  return jittered(base, p.jitterRatio, random);
}

/**
 * Probes on the fast schedules (suspect, confirm, active) go every activeIntervalMs, but no more than
 * FAST_PROBES_PER_TIMEOUT per probe timeout of the link. On links of a few tens of ms that is the
 * 50 ms it always was. On a saturated machine whose round trips are 1–2 s (N = 100 daemons on 2
 * cores), 50 ms put 20–40 probes in flight per suspect link, each answered late and suspecting it
 * again; the cap keeps that to 8. The death of such a link is declared a few hundred ms later: its
 * fourth loss is sent 3/8 of a timeout after the first, not 150 ms.
 */
export const FAST_PROBES_PER_TIMEOUT = 8;

export function fastInterval(ep: EndpointState, p: ProbeParams): number {
  if (!ep.est.sampled) return p.activeIntervalMs;
  return Math.max(p.activeIntervalMs, ep.est.timeoutMs(p) / FAST_PROBES_PER_TIMEOUT);
}

/** Starts the idle backoff over: the next probes go at 1 s, doubling again on steady replies. */
export function restartIdleBackoff(ep: EndpointState): void {
  ep.steadyReplies = 0;
  ep.offBand = false;
}

/** Idle interval after `steadyReplies` steady replies in a row: 1 s doubling up to the cap. */
export function idleInterval(
  steadyReplies: number,
  p: Pick<ProbeParams, 'idleIntervalMs' | 'idleMaxIntervalMs'>,
): number {
  return Math.min(p.idleMaxIntervalMs, p.idleIntervalMs * 2 ** Math.min(steadyReplies, 30));
}

/**
 * Whether a reply's RTT is within the steady band of the smoothed RTT (see ProbeParams.steadyRtt*), or
 * within the link's own spread (2·rttvar): a change inside the noise is no reason to look more often.
 */
export function isSteadyRtt(
  rttMs: number,
  srttMs: number,
  p: Pick<ProbeParams, 'steadyRttRatio' | 'steadyRttMs'>,
  rttvarMs: number,
): boolean {
  const d = Math.abs(rttMs - srttMs);
  return d <= p.steadyRttRatio * srttMs || d <= p.steadyRttMs || d <= 2 * rttvarMs;
}

/**
 * Half the RTT plus the loss penalty: the shape of routing's link cost, for ranking endpoints. A
 * WebSocket endpoint pays the ws penalty on top (see ProbeParams.wsPenaltyRatio). `rttMs` is the
 * smoothed RTT unless the caller ranks on another figure (the probe set: the recent minimum).
 */
export function endpointScore(ep: EndpointState, p: ProbeParams, rttMs = ep.est.srttMs): number {
  if (!ep.est.alive) return Infinity;
  const score = rttMs / 2 + p.endpointLossPenaltyMs * ep.est.lossRatio;
  return isWsEndpointKey(ep.key) ? score * (1 + p.wsPenaltyRatio) + p.wsPenaltyMs : score;
}

/**
 * Best alive endpoint, sticky: another one must be clearly better to take over (the same margin as
 * path hysteresis), so two NAT mappings of similar quality do not swap back and forth. With none
 * alive the previous choice stays, so the view still names the endpoint that was last good.
 */
export function selectBestEndpoint(m: MemberState, p: ProbeParams): void {
  let best: EndpointState | undefined;
  for (const ep of m.endpoints.values()) {
    if (!ep.est.alive) continue;
    if (!best || endpointScore(ep, p) < endpointScore(best, p)) best = ep;
  }
  const cur = m.bestKey === undefined ? undefined : m.endpoints.get(m.bestKey);
  if (!best) {
    if (!cur) m.bestKey = m.endpoints.keys().next().value;
    return;
  }
  if (!cur || !cur.est.alive) {
    m.bestKey = best.key;
    return;
  }
  const c = endpointScore(cur, p);
  if (best !== cur && endpointScore(best, p) < c * (1 - p.endpointSwitchRatio) - p.endpointSwitchMs)
    m.bestKey = best.key;
}
