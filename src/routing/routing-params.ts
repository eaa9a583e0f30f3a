// Tunables of the routing core. Cost shape is in cost.ts; the rest is here with its reasoning.
import { DEFAULT_COST_PARAMS, type CostParams } from './cost.js';

export interface RoutingParams {
  cost: CostParams;
  /** Longest path in links (the routed header holds at most 7 relays). */
  maxHops: number;

  // --- path selection (path-selector.ts) ---
  /** A better path must beat the current one by this fraction... */
  switchRatio: number;
  /** ...and by this many ms: best < current·(1 - switchRatio) - switchMarginMs. */
  switchMarginMs: number;
  /** ...continuously for this long. */
  holdMs: number;
  /** A much better path (best < current / 2 - fastMarginMs) only needs to stay so for fastHoldMs. */
  fastMarginMs: number;
  fastHoldMs: number;

  // --- origination (originator.ts) ---
  advertLifetimeMs: number;
  refreshMs: number;
  /** Bad news (a link gone): at most this often. */
  minOriginationIntervalMs: number;
  /** Good news (new link, changed measurement): at most this often (see originator.ts). */
  goodNewsIntervalMs: number;
  /** While good news keeps coming, its spacing doubles up to this. */
  goodNewsMaxIntervalMs: number;
  /** Measurement drift alone (no link came or went) is advertised at most this often. */
  driftIntervalMs: number;
  /** After start, the first advert waits this long for links to come up. */
  firstAdvertDelayMs: number;
  /** An RTT change is significant when larger than both of these. */
  significantRttRatio: number;
  significantRttMs: number;
  significantLoss: number;

  // --- flooding and anti-entropy ---
  /** Non-urgent news is announced to each neighbour in batches this far apart (see announcer.ts). */
  announceIntervalMs: number;
  /** Drift (same links, new measurements) and refreshes are announced in batches this far apart. */
  driftAnnounceIntervalMs: number;
  /** An unanswered REQUEST is retried with another neighbour after this long. */
  requestTimeoutMs: number;
  antiEntropyMs: number;
  /** Periodic SUMMARYs, all neighbours together, at most one per this long on average (anti-entropy.ts). */
  summaryBudgetMs: number;
  /** Delay of the first SUMMARY to a neighbour whose link just came up (see anti-entropy.ts). */
  summaryDelayMs: number;
  /** Flood through multipoint relays (see flood-policy.ts); false = every node forwards to all. */
  floodRelays: boolean;
  /** Every two-hop node must be adjacent to this many of our relays (where it can be). */
  relayCoverage: number;
  /** A relay does not resend to its sender's neighbours, unless the sender's link to them is this lossy. */
  pruneMaxLoss: number;

  // --- recomputation ---
  /** After a topology change (link up/down, big cost change, expiry): at most this often. */
  spfMajorIntervalMs: number;
  /** Under a stream of topology changes the spacing doubles up to this. */
  spfMaxIntervalMs: number;
  /** After small cost drifts only. */
  spfMinorIntervalMs: number;
  /** Our own link's cost enters the graph when it moved by more than this fraction. */
  ownCostChangeRatio: number;
  jitterRatio: number;

  // --- hostile members (seq-bounds.ts, control-budgets.ts) ---
  /** Members' wall clocks agree within this: seqs outside [now − lifetime − skew, now + skew] are refused. */
  maxClockSkewMs: number;
}

export const DEFAULT_ROUTING_PARAMS: Readonly<RoutingParams> = Object.freeze({
  cost: DEFAULT_COST_PARAMS,
  maxHops: 8,
  // 10 % and 1 ms: a link jittering ±10 % around the value of an alternative never satisfies the
  // condition on both sides at once, so traffic does not flap between them (nebula #893); 3 s of
  // continuous advantage filters measurement noise and short spikes, which is all srtt smoothing
  // leaves. A path twice as good (typically: the current one turned lossy) moves after 0.5 s.
  switchRatio: 0.1,
  switchMarginMs: 1,
  holdMs: 3000,
  fastMarginMs: 5,
  fastHoldMs: 500,
  // Adverts live an hour (ADVERT_MAX_LIFETIME_MS) and are refreshed every 15 min: three refreshes may
  // be lost before an advert of a live node expires. A refresh says nothing new, and every one costs
  // every node a copy (plus the announcements and requests that carry it): at 30 s they were ~1.2 kB/s
  // per node at N = 100, the whole 10 kbit/s budget; at 5 min they were still 0.10 of an idle
  // overlay's 0.34 adverts per node per minute (simulator, N = 100: 695 B/s per node, 591 at 15 min)
  // and, since every node receives every refresh, would be ~1 kB/s per node at N = 1000.
  // Nothing else needs them often: a lost advert is found by the anti-entropy digests within
  // seconds, and links of a node that vanished without a word are dropped by its neighbours'
  // withdrawals and the two-way check (graph.ts), not by expiry, which only frees the memory (an
  // hour, for at most one advert per configured member). OSPF refreshes every 30 min.
  advertLifetimeMs: 3_600_000,
  refreshMs: 900_000,
  // At most 10 adverts/s per node, at most one a second (backing off to one per 4 s) for anything
  // but the loss of a link that carried data (see originator.ts): bursts of link changes (a node
  // starting, a partition, a heal) coalesce, while a broken path in use is announced at once.
  minOriginationIntervalMs: 100,
  goodNewsIntervalMs: 1000,
  goodNewsMaxIntervalMs: 4000,
  firstAdvertDelayMs: 1500,
  driftIntervalMs: 10_000,
  significantRttRatio: 0.2,
  significantRttMs: 2,
  significantLoss: 0.05,
  // 250 ms batches: per hop, lazy news costs ~¼ s plus a round trip, and a neighbour receives at
  // most four small ANNOUNCE messages a second from us whatever the network size.
  announceIntervalMs: 250,
  // Drift and refreshes batch for 2 s (announcer.ts): several entries share one envelope.
  driftAnnounceIntervalMs: 2000,
  requestTimeoutMs: 1000,
  antiEntropyMs: 15_000,
  // One DIGEST every 2 s per node, all neighbours together: each node still hears one from some
  // neighbour every ~2 s, which is what repairs a lost advert. At one a second, digests and the
  // SUMMARYs answering their differing buckets (mostly adverts still in flight) were 230 B/s per node
  // at N = 100, a fifth of the 1.25 kB/s budget; at 2 s the simulator's partition and heal times do
  // not move (four seeds at N = 200).
  summaryBudgetMs: 2000,
  summaryDelayMs: 500,
  // Urgent adverts are pushed through relays covering every two-hop node twice (flood-policy.ts).
  floodRelays: true,
  relayCoverage: 2,
  pruneMaxLoss: 0.02,
  // Topology changes are acted on within 50 ms (failover speed); cost drift at most every 2 s,
  // because at 1000 members every node accepts ~30 refreshed adverts per second and recomputing on
  // each would burn CPU for changes that the hysteresis would ignore anyway.
  spfMajorIntervalMs: 50,
  spfMaxIntervalMs: 500,
  spfMinorIntervalMs: 2000,
  ownCostChangeRatio: 0.05,
  jitterRatio: 0.1,
  // See seq-bounds.ts: Kerberos's 5 minutes.
  maxClockSkewMs: 300_000,
});

/** Params with overrides; `cost` may be partially overridden too. */
export function routingParams(
  over: Partial<Omit<RoutingParams, 'cost'>> & { cost?: Partial<CostParams> } = {},
): RoutingParams {
  return { ...DEFAULT_ROUTING_PARAMS, ...over, cost: { ...DEFAULT_COST_PARAMS, ...over.cost } };
}

/** `interval` scaled by a uniform random factor in [1 - ratio, 1 + ratio] (desynchronises nodes). */
export function jitter(interval: number, ratio: number, random: () => number): number {
  return interval * (1 + (random() * 2 - 1) * ratio);
}
