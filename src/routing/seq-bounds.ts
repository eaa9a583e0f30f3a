// Which advert sequence numbers are plausible right now, by the wall clock.
//
// Origins seed their seqs from their wall clock (lsdb.nextOwnSeq: max(last + 1, wall-clock ms)), and
// originate at most a few adverts a second, so an honest origin's current seq is within a few
// seconds of its clock. A receiver whose clock agrees with the origin's within maxClockSkewMs can
// therefore bound every seq it is shown:
//
//   above wall + skew                     no honest origin has said it yet. A claim like that
//                                         (ANNOUNCE/SUMMARY entries are unsigned) would make us
//                                         wait for an advert that cannot exist, and an advert like
//                                         that — signed by its origin, since the signature is the
//                                         only way in — would lock out the origin's own adverts
//                                         until its clock caught up;
//   below wall − lifetime − skew          the advert expired everywhere already: the origin refreshes
//                                         every refreshMs, so only a replay is that old.
//
// The skew is 5 minutes, Kerberos's default: wide enough for machines that keep time with NTP or
// an RTC but drift between syncs, or come back from a suspend a little behind, and narrow enough
// that a replayed advert is refused within lifetime + 5 minutes of being said. A member whose clock
// is off by more than that is refused everywhere (its adverts count as seq-in-future or stale-seq
// at every receiver): keep members' clocks synchronised.
import type { RoutingParams } from './routing-params.js';

export type SeqVerdict = 'seq-in-future' | 'stale-seq' | undefined;

/** Whether an advert (seq, lifetime in ms) is plausible at wall-clock time `wallMs`. */
export function seqVerdict(
  seq: number,
  lifetimeMs: number,
  wallMs: number,
  params: Pick<RoutingParams, 'maxClockSkewMs'>,
): SeqVerdict {
  if (seq > wallMs + params.maxClockSkewMs) return 'seq-in-future';
  if (seq < wallMs - lifetimeMs - params.maxClockSkewMs) return 'stale-seq';
  return undefined;
}
