// Reading `ping -D -O -n` logs for failover: which sequence numbers were answered, when each was sent, and
// the runs of unanswered ones around a cut. Send times are fitted from the replies (sent = reply stamp −
// rtt, least squares over seq), because ping's real interval is a little longer than -i and drifts; the
// anchors' analyze-ping.sh does the same.

export interface PingReply {
  seq: number;
  /** Reply arrival, epoch seconds (ping -D). */
  at: number;
  rttMs: number;
}

export interface PingLog {
  replies: Map<number, PingReply>;
  /** Highest sequence number seen sent (replies and "no answer yet" lines). */
  lastSeq: number;
}

const REPLY = /^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+) .*time=([\d.]+) ms/;
const NO_ANSWER = /no answer yet for icmp_seq=(\d+)/;

export function parsePingLog(text: string): PingLog {
  const replies = new Map<number, PingReply>();
  let lastSeq = 0;
  for (const line of text.split('\n')) {
    const m = REPLY.exec(line);
    if (m) {
      const seq = Number(m[2]);
      if (!replies.has(seq)) replies.set(seq, { seq, at: Number(m[1]), rttMs: Number(m[3]) });
      lastSeq = Math.max(lastSeq, seq);
      continue;
    }
    const n = NO_ANSWER.exec(line);
    if (n) lastSeq = Math.max(lastSeq, Number(n[1]));
  }
  return { replies, lastSeq };
}

/** sent(seq) = t0 + k·seq, epoch seconds. */
export interface SendFit {
  t0: number;
  k: number;
}

export function fitSendTimes(log: PingLog): SendFit | null {
  const pts = [...log.replies.values()];
  if (pts.length < 2) return null;
  // Relative to the first send time, so the sums keep their precision.
  const base = Math.min(...pts.map((p) => p.at - p.rttMs / 1000));
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  for (const p of pts) {
    const y = p.at - p.rttMs / 1000 - base;
    sx += p.seq;
    sy += y;
    sxx += p.seq * p.seq;
    sxy += p.seq * y;
  }
  const n = pts.length;
  const k = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  return { t0: base + (sy - k * sx) / n, k };
}

export interface Outage {
  /** Unanswered pings in the outage (the longest run starting between `from` and `until`). */
  lost: number;
  /**
   * Time between the send times of the last ping answered before the run and the first answered after it,
   * minus one ping interval: lost × interval when ping kept its pace, and still right when it did not (a
   * loaded machine stretches ping's intervals). 0 when nothing was lost; up to the end of the log when
   * the run never ended.
   */
  outageMs: number;
  /** Send time of the last ping answered before the run, minus the event time (≈ 0 for a cut). */
  lastGoodAfterMs: number | null;
  /** Send time of the first answered ping after the run minus the event time; null: never answered. */
  recoveredAfterMs: number | null;
  /** Unanswered pings after the outage (up to the end): later disruption, e.g. a move back. */
  lostLater: number;
  intervalMs: number;
}

/**
 * The outage caused by an event at `eventAt` (epoch s): the longest run of unanswered pings that starts
 * between `eventAt + fromS` and `until` (default: the end), followed to its end even past `until`.
 * `ignoreAfter` (epoch s): pings sent later are left out, e.g. those still in flight when ping was stopped.
 * Times come from the answered pings on either side of the run (their own send times), not from the fit,
 * which only places `eventAt` and `until` among the sequence numbers.
 */
export function analyzeOutage(
  log: PingLog,
  eventAt: number,
  opts: { fromS?: number; until?: number; ignoreAfter?: number } = {},
): Outage | null {
  const fit = fitSendTimes(log);
  if (!fit) return null;
  const seqAt = localSeqAt(log, fit);
  const sentAt = (seq: number): number | null => {
    const r = log.replies.get(seq);
    return r ? r.at - r.rttMs / 1000 : null;
  };
  const first = Math.max(1, Math.ceil(seqAt(eventAt + (opts.fromS ?? -1))));
  const lastStart = opts.until === undefined ? Infinity : seqAt(opts.until);
  const last =
    opts.ignoreAfter === undefined ? log.lastSeq : Math.min(log.lastSeq, Math.floor(seqAt(opts.ignoreAfter)));
  const intervalMs = fit.k * 1000;
  let best: { start: number; end: number } | null = null;
  for (let s = first; s <= last; s++) {
    if (log.replies.has(s)) continue;
    const start = s;
    while (s <= last && !log.replies.has(s)) s++;
    if (start > lastStart) break;
    if (!best || s - start > best.end - best.start) best = { start, end: s };
  }
  if (!best)
    return { lost: 0, outageMs: 0, lastGoodAfterMs: null, recoveredAfterMs: null, lostLater: 0, intervalMs };
  const before = sentAt(best.start - 1);
  const after = best.end <= last ? sentAt(best.end) : null;
  let lostLater = 0;
  for (let s = best.end; s <= last; s++) if (!log.replies.has(s)) lostLater++;
  const lost = best.end - best.start;
  // Without an answer on one side, the fit stands in for it (the run touches the start or end of the log).
  const from = before ?? fit.t0 + fit.k * (best.start - 1);
  const to = after ?? fit.t0 + fit.k * best.end;
  return {
    lost,
    outageMs: Math.max(0, (to - from) * 1000 - intervalMs),
    lastGoodAfterMs: before === null ? null : (before - eventAt) * 1000,
    recoveredAfterMs: after === null ? null : (after - eventAt) * 1000,
    lostLater,
    intervalMs,
  };
}

/**
 * The (fractional) sequence number sent at time t, from the nearest answered ping sent at or before t and
 * the mean interval: local, so a stretch where ping fell behind its pace does not shift the placement.
 */
function localSeqAt(log: PingLog, fit: SendFit): (t: number) => number {
  const pts = [...log.replies.values()]
    .map((r) => ({ seq: r.seq, sent: r.at - r.rttMs / 1000 }))
    .sort((a, b) => a.seq - b.seq);
  return (t) => {
    let lo = 0;
    let hi = pts.length - 1;
    if (pts.length === 0 || t < pts[0]!.sent) return (t - fit.t0) / fit.k;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (pts[mid]!.sent <= t) lo = mid;
      else hi = mid - 1;
    }
    return pts[lo]!.seq + (t - pts[lo]!.sent) / fit.k;
  };
}

/** Unanswered pings sent between two instants (epoch s). */
export function lostBetween(log: PingLog, from: number, to: number): number {
  const fit = fitSendTimes(log);
  if (!fit) return 0;
  const seqAt = localSeqAt(log, fit);
  const a = Math.max(1, Math.ceil(seqAt(from)));
  const b = Math.min(log.lastSeq, Math.floor(seqAt(to)));
  let n = 0;
  for (let s = a; s <= b; s++) if (!log.replies.has(s)) n++;
  return n;
}
