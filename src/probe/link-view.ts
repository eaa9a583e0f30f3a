// What the prober tells the rest of the daemon about a direct link. Routing imports these types only,
// so the prober stays independent of the router (and can be driven alone in tests).
import type { NodeId } from '../identity/node-id.js';
import type { EndpointOrigin, ProbeSchedule } from './member-state.js';
import type { SetChange } from './probe-set.js';

/**
 * What puts a member on the active schedule: data we sent, a flow we relay, a handshake completed while
 * its direct link is not known to work, a NAT punch, or outside suspicion (an advert no longer lists us).
 */
export const ACTIVE_CAUSES = ['data', 'relay', 'handshake', 'punch', 'suspect'] as const;
export type ActiveCause = (typeof ACTIVE_CAUSES)[number];

/** Measurements of one (member, endpoint) pair, as of the last probe outcome. */
export interface EndpointView {
  endpointKey: string;
  /** True when the endpoint was configured in peers.yaml, false when it was learned from traffic. */
  configured: boolean;
  /** listed (peers.yaml), reflexive (a member's source address, proven) or punched (nat/). */
  origin?: EndpointOrigin;
  /** Answered since it was last declared dead (and at least once). */
  alive: boolean;
  /** RFC 6298 smoothed RTT; 0 before the first sample. */
  srttMs: number;
  rttvarMs: number;
  /** Minimum of the last few samples: what the link can do right now, without queueing spikes. */
  recentRttMs: number;
  lastRttMs: number;
  /** Lost fraction of the last `lossWindow` resolved probes. */
  lossRatio: number;
  /** RFC 3550 interarrival-jitter style mean deviation of consecutive RTTs. */
  jitterMs: number;
  consecutiveLost: number;
  /** Monotonic ms of the last in-time reply; -Infinity when never answered. */
  lastReplyAt: number;
}

/** The best alive endpoint of a member: the one data and routing use. */
export interface LinkView {
  alive: boolean;
  srttMs: number;
  recentRttMs: number;
  lossRatio: number;
  jitterMs: number;
  endpointKey: string;
  /** Where the endpoint came from (member-state.ts EndpointOrigin). */
  origin?: EndpointOrigin;
  lastReplyAt: number;
  /** Member marked active (data sent or relayed over this link) within the active window. */
  active: boolean;
  /** Probes lost in a row since the last reply: > 0 means the link is in doubt right now. */
  consecutiveLost: number;
}

/**
 * The slice of the prober the router depends on. `Prober` implements it; tests may fake it.
 * `drainChanges` returns members whose `link()` may have changed since the previous call.
 */
export interface LinkSource {
  link(member: NodeId): LinkView | undefined;
  drainChanges(): NodeId[];
  /**
   * Outside evidence that a direct link may be broken (the neighbour's fresh advert no longer lists
   * us): probe it now, at the active interval, instead of waiting for the idle schedule.
   */
  suspect?(member: NodeId, now: number): void;
  /**
   * The endpoint `member` probed us from over the direct path within the last few idle probe
   * intervals, if it did: its side of a direct link to us works, whether or not ours has noticed yet
   * (a link just up, a dead link's backoff) or we probe it at all (bounded neighbour sets). The
   * router listens to such a member, and control replies can go back to that endpoint.
   */
  probedUs?(member: NodeId, now: number): string | undefined;
}

/** Probe traffic counters, for overhead reporting. */
export interface ProbeStats {
  probesSent: number;
  /** Probes not sent for want of a session with the member (neither sent nor lost). */
  probesUnsent: number;
  repliesReceived: number;
  /** Replies that arrived after the probe had timed out (still counted lost). */
  repliesLate: number;
  /** Replies matching no outstanding probe (stale, duplicated, forged or for another endpoint). */
  repliesUnknown: number;
  /** Probes from members that we echoed (reported via onProbeReceived). */
  probesAnswered: number;
  probesLost: number;
  /** Active windows started (markActive on an idle member), in all and by what started them. */
  activations: number;
  activationsBy: Record<ActiveCause, number>;
  bytesSent: number;
  bytesReceived: number;
  /** Probes sent, by the schedule their endpoint was on (member-state.ts probeSchedule): why it probes. */
  sentBySchedule: Record<ProbeSchedule, number>;
  /** Changes of the bounded probe set, by why (probe-set.ts SET_CHANGES). */
  setChangesBy: Record<SetChange, number>;
}
