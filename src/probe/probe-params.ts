// Tunables of direct-link measurement, with the reasoning behind each default. Every value can be
// overridden (the simulator and the tests do), but the defaults are what the daemon ships with.

export interface ProbeParams {
  /** Probe interval for a member whose direct link carries data (marked active within `activeWindowMs`). */
  activeIntervalMs: number;
  /** How long a `markActive` keeps a member on the active interval. */
  activeWindowMs: number;
  /**
   * A relay marks its next hop active (Prober.noteRelayed) when it relays a second data packet of one
   * source and destination to it within this long: a flow. It cannot see inside what it relays, and the lone handshake, keepalive or NAT
   * punch it also carries would otherwise put the link on the 50 ms schedule for a whole window each.
   */
  relayedPairMs: number;
  /** Probe interval for an alive link nobody is using, when it just came up or just changed... */
  idleIntervalMs: number;
  /** ...doubling with every steady reply (see `steadyRtt*`) up to this: a stable idle link. */
  idleMaxIntervalMs: number;
  /** A reply is steady when its RTT is within this fraction OR this many ms of the smoothed RTT. */
  steadyRttRatio: number;
  steadyRttMs: number;
  /** First interval after a link is declared dead (or has never answered); doubles per probe... */
  deadFirstIntervalMs: number;
  /** ...up to this cap. */
  deadMaxIntervalMs: number;
  /** Every interval is multiplied by a uniform factor in [1 - jitterRatio, 1 + jitterRatio]. */
  jitterRatio: number;
  /** Per-probe timeout before the link has an RTT sample. */
  initialTimeoutMs: number;
  /** Timeout = clamp(srtt + 4·rttvar + timeoutSlackMs, minTimeoutMs, maxTimeoutMs). */
  timeoutSlackMs: number;
  minTimeoutMs: number;
  maxTimeoutMs: number;
  /** Probes sent at the active rate after a link comes (back) up, so its cost is known quickly. */
  confirmProbes: number;
  /** A probe that could not be sent (no session with the member yet) is retried after this long. */
  unsentRetryMs: number;
  /**
   * Links at most on the fast rate at once because they lost a probe (links carrying data are on it
   * anyway and do not count); the others confirm at idleIntervalMs until a slot frees.
   */
  maxFastLinks: number;
  /** Consecutive lost probes that make an alive link dead. */
  deadAfterLost: number;
  /** Sliding window, in probes, over which the loss ratio is computed. */
  lossWindow: number;
  /** Samples over which `recentRttMs` (the minimum) is taken. */
  recentWindow: number;
  /** Bytes one probe (or one reply) occupies on the wire, IP and UDP headers included: for overhead stats. */
  probeBytes: number;
  /** Endpoints learned from traffic (NAT, roaming) and proven by a reply, kept per member on top of the configured ones. */
  maxLearnedEndpoints: number;
  /** A learned endpoint that is dead and has not answered for this long is forgotten. */
  learnedEndpointTtlMs: number;
  /** Unproven source addresses (candidates) per member at a time; a new one replaces the oldest. */
  maxCandidateEndpoints: number;
  /** Probes sent to a candidate before it is forgotten for want of a reply... */
  candidateProbes: number;
  /** ...the first gap between them, doubling (the gap after the last one is its time to answer). */
  candidateFirstIntervalMs: number;
  /** Probe spacing of punch candidates (nat/): both ends probe each other at once, not backing off. */
  punchIntervalMs: number;
  /** Punch candidates per member at a time (a punch names at most 6 endpoints). */
  maxPunchEndpoints: number;
  /** Bound on probes awaiting a reply across all members; the oldest is counted lost when exceeded. */
  maxOutstanding: number;
  /** Another endpoint of the same member replaces the current one only when its score is lower than
   *  current·(1 - endpointSwitchRatio) - endpointSwitchMs (the same shape as path hysteresis). */
  endpointSwitchRatio: number;
  endpointSwitchMs: number;
  /** Endpoint score = srtt/2 + endpointLossPenaltyMs·loss; mirrors routing's link cost. */
  endpointLossPenaltyMs: number;
  /**
   * A WebSocket (TCP) endpoint scores as score·(1 + wsPenaltyRatio) + wsPenaltyMs when a member's
   * endpoints are ranked: UDP is kept when both work and cost about the same (TCP inside TCP suffers
   * from head-of-line blocking and double retransmission), ws is chosen when clearly better or alone.
   * Larger than the switch margin, so a UDP endpoint that comes back as good as ws takes over.
   */
  wsPenaltyRatio: number;
  wsPenaltyMs: number;
  /**
   * Bounded neighbour set for large networks: 0 probes every member (all pairs, O(N²) network-wide).
   * K > 0 keeps K "chosen" members (best measured plus `randomProbedMembers` random long links), one
   * rotating explorer, members in active use, and members that probe us (reciprocity).
   */
  maxProbedMembers: number;
  /** Of the chosen slots, how many are random members kept as long links (small-world shortcuts). */
  randomProbedMembers: number;
  /** Gap before the first exploration trial; doubles after each trial that found nothing better. */
  exploreIntervalMs: number;
  /** How long an explorer is measured before it is judged. */
  exploreTrialMs: number;
  exploreMaxIntervalMs: number;
  /** A chosen member dead (or silent) this long is replaced by another (see ProbeSet). */
  deadReplaceMs: number;
  /** A member that probed us within this window is probed back (see ProbeSet). */
  reciprocalTtlMs: number;
}

export const DEFAULT_PROBE_PARAMS: Readonly<ProbeParams> = Object.freeze({
  // 50 ms while data flows: four lost probes then span ~150 ms of sending plus one timeout, so a cut
  // path is declared dead ≈ 250–350 ms after the cut, which is what makes sub-second failover possible.
  // At 60 bytes per probe that is 1.2 kB/s each way per link in use, a fair price for a link carrying data.
  activeIntervalMs: 50,
  activeWindowMs: 2000,
  // At N = 25 on this VM, relayed punches and keepalives started 1.4 active windows a second per node
  // (40 probes each): 55 of its 77 probes a second while no data flowed.
  relayedPairMs: 1000,
  // Idle links only need to be known good when traffic moves onto them, and data moving onto one
  // probes it at once (Prober.markActive: evidence older than four active intervals is re-checked
  // before the link can be called dead or alive). A link that just came up, lost a probe or changed
  // its RTT is probed once a second; each steady reply doubles the gap up to 8 s. With a bounded
  // neighbour set (~20 probed members, each probing us back) that is ~0.3 kB/s of probes and echoes
  // per node instead of ~2.4 kB/s at 1 s, which is what fits the 10 kbit/s control budget at N = 100
  // (benchmarks/README.md, scale.ts). The price: an idle link that dies is noticed within ~8 s
  // instead of ~1 s — routes over it that nobody uses stay wrong for that long (a partition's
  // convergence), while a link carrying data is on the active schedule whatever its history.
  idleIntervalMs: 1000,
  idleMaxIntervalMs: 8000,
  // The same "significant" band as routing's advert threshold (20 % and 2 ms): a change smaller
  // than that would not be advertised either, so it is no reason to look more often. A reply within
  // the link's own spread (2·rttvar) is steady too: on a busy host the daemons' scheduling puts
  // several ms of noise on sub-ms links, and with the fixed band alone no idle link ever backed off
  // (N = 10 on this VM: 18 probes/s per node instead of 2.4; benchmarks/README.md).
  steadyRttRatio: 0.2,
  steadyRttMs: 2,
  // Dead links back off 1 s → 2 s → 4 s and then stay at 5 s: a healed path (usually the cheapest
  // one, since it was direct) is noticed within ~5 s, while a member that is simply gone costs one
  // small probe per 5 s. A longer cap would save almost nothing and keep traffic on detours longer.
  deadFirstIntervalMs: 1000,
  deadMaxIntervalMs: 5000,
  // Without jitter, members started together probe in lockstep and their bursts line up forever.
  jitterRatio: 0.1,
  initialTimeoutMs: 1000,
  // Five quick probes (a quarter second) after a link comes up replace a single first sample by a
  // small average before the path selector starts its hold on it.
  confirmProbes: 5,
  // Until a session exists there is nothing to measure: the probe is not sent (and not counted
  // lost, which would price the link as lossy once it works), and the handshake it asked for
  // usually completes within a round trip, so look again soon.
  unsentRetryMs: 200,
  // RFC 6298's RTO shape (srtt + 4·rttvar) plus slack for the echoing host's scheduling delay; the
  // floor keeps a 1 ms LAN link from calling a 2 ms hiccup a loss, the ceiling bounds dead detection.
  // A link is alive again only on a reply in time, so a link whose round trips exceed the ceiling
  // can never come back: at 2 s that was most links of 100 daemons on two cores (64 % of probes
  // answered late, the rest of the overlay saw "one-way" links and no route). 4 s leaves every
  // link under ~1 s of round trip as it was (its timeout is far below either ceiling).
  timeoutSlackMs: 20,
  minTimeoutMs: 100,
  maxTimeoutMs: 4000,
  // Four in a row, not one: with independent random loss p a healthy link is falsely declared dead
  // with probability p⁴ per probe — 10⁻⁸ at 1 % loss, 6·10⁻⁶ at 5 % (once per ~2 h of active probing),
  // 1.6·10⁻³ at 20 % (every ~30 s active): a link that lossy is a bad path anyway, and its cost already
  // pushed traffic elsewhere. Three would halve detection time but make 10 %-loss links flap; five
  // would add another 50 ms to every failover for little gain.
  deadAfterLost: 4,
  // A lost probe on an idle link is re-probed at 50 ms to confirm or clear it fast. When many links
  // lose probes at once the likeliest cause is our own side (a stalled or starved daemon, a busy
  // uplink), and 20 links at 50 ms is 400 probes and echoes a second — more load on a node that is
  // already late. Eight covers a real failure's first links (a partition usually takes a few of a
  // node's ~20 neighbours; the first death also re-probes all the others, see recheckIdleLinks) and
  // bounds the storm at ~160 packets a second; the rest still die, within ~4 s instead of ~0.3 s.
  maxFastLinks: 8,
  lossWindow: 20,
  recentWindow: 5,
  // Sealed probe on a direct path (DEVELOPERS.md, wire format): routed header 4 + src/dst 8 +
  // receiver index/counter 12 + kind 1 + probe id 4 + tag 16 = 45 bytes of UDP payload, + 28 bytes of
  // IPv4/UDP header = 73 (93 over IPv6). The daemon counts the real bytes; this is for the simulator.
  probeBytes: 73,
  maxLearnedEndpoints: 4,
  learnedEndpointTtlMs: 120_000,
  // A source address seen on an authenticated packet is only a claim (a member can spoof it, so can an
  // on-path attacker replaying a capture first): three probes at 0, 0.5 and 1.5 s, forgotten at 3.5 s
  // without a reply. A genuine NAT mapping answers the first; a victim address costs three small
  // probes, and two candidates per member bound what one member can aim at others.
  maxCandidateEndpoints: 2,
  candidateProbes: 3,
  candidateFirstIntervalMs: 500,
  punchIntervalMs: 200,
  maxPunchEndpoints: 6,
  maxOutstanding: 8192,
  endpointSwitchRatio: 0.1,
  endpointSwitchMs: 1,
  endpointLossPenaltyMs: 400,
  wsPenaltyRatio: 0.25,
  wsPenaltyMs: 2,
  maxProbedMembers: 0,
  randomProbedMembers: 3,
  // The first trial waits 30 s: exploring while the network is still converging after a start would
  // only add churn to a busy moment.
  exploreIntervalMs: 30_000,
  exploreTrialMs: 5000,
  exploreMaxIntervalMs: 300_000,
  deadReplaceMs: 3000,
  reciprocalTtlMs: 30_000,
});

/** `interval` scaled by a uniform random factor in [1 - ratio, 1 + ratio]. */
export function jittered(interval: number, ratio: number, random: () => number): number {
  return interval * (1 + (random() * 2 - 1) * ratio);
}

/** RFC 6298-style retransmission timeout for one probe, clamped (see the defaults above). */
export function probeTimeoutMs(
  hasSample: boolean,
  srttMs: number,
  rttvarMs: number,
  p: Pick<ProbeParams, 'initialTimeoutMs' | 'timeoutSlackMs' | 'minTimeoutMs' | 'maxTimeoutMs'>,
): number {
  if (!hasSample) return p.initialTimeoutMs;
  const t = srttMs + 4 * rttvarMs + p.timeoutSlackMs;
  return Math.min(p.maxTimeoutMs, Math.max(p.minTimeoutMs, t));
}
