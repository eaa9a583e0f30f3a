// End-to-end path liveness: does the path we send data on deliver data-sized packets? Link probes say
// each hop answers small packets; only a sealed round trip the size of the data, along the very route
// the data takes, says the path delivers it. Relays can't tell these probes from data (same size,
// sealed end to end) nor forge the answers, so a relay that drops data but passes probes, or a link
// that loses large packets (an MTU black hole), is caught like a broken link.
//
// Pure: time comes in as `now`, probes leave and failures are reported through the ports. Per
// destination that carries data:
//   - while data was sent within activeWindowMs, one probe every probeIntervalMs (4/s), padded to the
//     largest data packet sent since the previous probe, along the destination's current route;
//   - a probe unanswered within its timeout (srtt + 4·rttvar + slack, clamped; initialTimeoutMs before
//     any answer) is lost; lostToFail losses in a row mark the path failed, reported once;
//   - a reply clears the count; a new route starts the count afresh (old probes are forgotten).
// Worst case from the first dropped packet to the report: one interval until a probe meets the drop,
// lostToFail - 1 more intervals, then one timeout: 0.25 + 0.75 + 0.3…0.8 s on low-RTT paths, under 2 s.
import type { NodeId } from '../identity/node-id.js';

export interface PathLivenessParams {
  probeIntervalMs: number;
  /** Data sent within this long counts as "data flows" (TCP retransmits back off to ~1.6 s). */
  activeWindowMs: number;
  lostToFail: number;
  initialTimeoutMs: number;
  minTimeoutMs: number;
  maxTimeoutMs: number;
  timeoutSlackMs: number;
  /** How long routing avoids a failed path for its destination before trying it again. */
  avoidForMs: number;
  /** A destination with no data for this long is forgotten. */
  forgetAfterMs: number;
  maxDestinations: number;
}

export const DEFAULT_PATH_LIVENESS: Readonly<PathLivenessParams> = Object.freeze({
  // Four a second at most, only while data flows: ~6 kB/s of 1400-byte probes on a busy path, a small
  // fraction of the data they watch; four lost in a row spans a second, so random loss of a few
  // percent (p⁴ per probe) almost never trips it.
  probeIntervalMs: 250,
  activeWindowMs: 2000,
  lostToFail: 4,
  // Before any answer on this path: generous, still within the 2 s budget.
  initialTimeoutMs: 800,
  // The floor absorbs a busy host's scheduling hiccups; the ceiling lets queueing under load
  // (bufferbloat on a saturated uplink) stretch the RTT without calling the path dead.
  minTimeoutMs: 300,
  maxTimeoutMs: 2000,
  timeoutSlackMs: 50,
  avoidForMs: 30_000,
  forgetAfterMs: 30_000,
  maxDestinations: 4096,
});

/** Smallest probe: inner kind + u32 id. */
export const PATH_PROBE_MIN_BYTES = 5;

export interface PathFailure {
  dst: NodeId;
  /** The failed route's relays; empty for the direct path. */
  relays: readonly NodeId[];
  /** Probes lost in a row. */
  lost: number;
  /** Size of the probes (inner plaintext bytes), i.e. of the data they stood for. */
  bytes: number;
  /** Until when routing should avoid the path. */
  until: number;
}

export interface PathLivenessPorts {
  /** The route data to `dst` takes now (its relays; [] for direct), undefined when there is none. */
  pathOf(dst: NodeId, now: number): readonly NodeId[] | undefined;
  /** Sends probe `id` of `bytes` plaintext bytes to `dst` along `relays`; false if it could not be sent. */
  send(dst: NodeId, relays: readonly NodeId[], id: number, bytes: number, now: number): boolean;
  failed(f: PathFailure): void;
  /** A uniformly random u32 (crypto in the daemon: ids must not be guessable). */
  randomId(): number;
}

interface DstState {
  relays: readonly NodeId[] | undefined;
  lastDataAt: number;
  /** Largest data plaintext since the last probe (0: none). */
  bytesSinceProbe: number;
  lastProbeBytes: number;
  nextProbeAt: number;
  /** Probe id → sent at. */
  outstanding: Map<number, number>;
  lost: number;
  srttMs: number | undefined;
  rttvarMs: number;
  /** The current path's failure was reported (again only after it answers or the path changes). */
  failed: boolean;
}

export class PathLiveness {
  private readonly byDst = new Map<NodeId, DstState>();
  private readonly params: PathLivenessParams;

  constructor(
    private readonly ports: PathLivenessPorts,
    params: Partial<PathLivenessParams> = {},
  ) {
    this.params = { ...DEFAULT_PATH_LIVENESS, ...params };
  }

  /**
   * Data of `bytes` plaintext bytes was sent to `dst`. The per-packet path: a lookup and two stores.
   * True when `dst` starts being watched (its first probe is due now: the caller's timer must know).
   */
  noteData(dst: NodeId, bytes: number, now: number): boolean {
    let st = this.byDst.get(dst);
    const started = !st || now - st.lastDataAt > this.params.activeWindowMs;
    if (!st) {
      if (this.byDst.size >= this.params.maxDestinations) return false;
      st = {
        relays: undefined,
        lastDataAt: now,
        bytesSinceProbe: 0,
        lastProbeBytes: PATH_PROBE_MIN_BYTES,
        nextProbeAt: now,
        outstanding: new Map(),
        lost: 0,
        srttMs: undefined,
        rttvarMs: 0,
        failed: false,
      };
      this.byDst.set(dst, st);
    }
    st.lastDataAt = now;
    if (bytes > st.bytesSinceProbe) st.bytesSinceProbe = bytes;
    return started;
  }

  /** Until when `dst` counts as carrying data without another noteData (-Infinity: not watched). */
  dataUntil(dst: NodeId): number {
    const st = this.byDst.get(dst);
    return st === undefined ? -Infinity : st.lastDataAt + this.params.activeWindowMs;
  }

  /**
   * When tick() next has work: a due probe of an active destination, an outstanding probe's timeout,
   * or forgetting an idle destination. Infinity when nothing is watched (an idle node sleeps).
   */
  nextWakeAt(): number {
    let at = Infinity;
    for (const st of this.byDst.values()) {
      const activeUntil = st.lastDataAt + this.params.activeWindowMs;
      at = Math.min(
        at,
        st.nextProbeAt <= activeUntil ? st.nextProbeAt : st.lastDataAt + this.params.forgetAfterMs,
      );
      if (st.outstanding.size === 0) continue;
      const timeout = this.timeoutMs(st);
      for (const sentAt of st.outstanding.values()) at = Math.min(at, sentAt + timeout);
    }
    return at;
  }

  /** Times out probes, reports failed paths and sends the probes that are due. */
  tick(now: number): void {
    for (const [dst, st] of this.byDst) {
      if (now - st.lastDataAt > this.params.forgetAfterMs) {
        this.byDst.delete(dst);
        continue;
      }
      const relays = this.ports.pathOf(dst, now);
      if (relays === undefined) {
        this.restart(st, undefined, now); // no route: nothing to judge
        continue;
      }
      if (st.relays === undefined || !sameRelays(relays, st.relays)) this.restart(st, relays, now);
      this.expire(dst, st, now);
      const active = now - st.lastDataAt <= this.params.activeWindowMs;
      if (active && now >= st.nextProbeAt) this.probe(dst, st, now);
      // The window closed before a (late) timer sent the probe due in it: due again only when data
      // resumes, or nextWakeAt() would answer that moment in the past until the destination is forgotten.
      else if (!active && st.nextProbeAt <= st.lastDataAt + this.params.activeWindowMs) st.nextProbeAt = now;
    }
  }

  /** A reply to probe `id` came from `dst` (sealed by it: nobody else can answer for it). */
  onReply(dst: NodeId, id: number, now: number): boolean {
    const st = this.byDst.get(dst);
    const sentAt = st?.outstanding.get(id);
    if (!st || sentAt === undefined) return false;
    st.outstanding.delete(id);
    const rtt = now - sentAt;
    if (st.srttMs === undefined) {
      st.srttMs = rtt;
      st.rttvarMs = rtt / 2;
    } else {
      st.rttvarMs = 0.75 * st.rttvarMs + 0.25 * Math.abs(st.srttMs - rtt);
      st.srttMs = 0.875 * st.srttMs + 0.125 * rtt;
    }
    st.lost = 0;
    st.failed = false;
    return true;
  }

  /** Destinations watched (for tests and status). */
  get size(): number {
    return this.byDst.size;
  }

  /** Probes lost in a row on the current path to `dst` (for tests and status). */
  lostInARow(dst: NodeId): number {
    return this.byDst.get(dst)?.lost ?? 0;
  }

  private restart(st: DstState, relays: readonly NodeId[] | undefined, now: number): void {
    st.relays = relays === undefined ? undefined : [...relays];
    st.outstanding.clear();
    st.lost = 0;
    st.srttMs = undefined;
    st.rttvarMs = 0;
    st.failed = false;
    st.nextProbeAt = now;
  }

  private timeoutMs(st: DstState): number {
    const p = this.params;
    if (st.srttMs === undefined) return p.initialTimeoutMs;
    const t = st.srttMs + 4 * st.rttvarMs + p.timeoutSlackMs;
    return Math.min(p.maxTimeoutMs, Math.max(p.minTimeoutMs, t));
  }

  private expire(dst: NodeId, st: DstState, now: number): void {
    const timeout = this.timeoutMs(st);
    for (const [id, sentAt] of st.outstanding) {
      if (now - sentAt < timeout) continue;
      st.outstanding.delete(id);
      st.lost++;
    }
    if (st.lost < this.params.lostToFail || st.failed || st.relays === undefined) return;
    st.failed = true;
    this.ports.failed({
      dst,
      relays: st.relays,
      lost: st.lost,
      bytes: st.lastProbeBytes,
      until: now + this.params.avoidForMs,
    });
  }

  private probe(dst: NodeId, st: DstState, now: number): void {
    st.nextProbeAt = now + this.params.probeIntervalMs;
    const bytes = Math.max(PATH_PROBE_MIN_BYTES, st.bytesSinceProbe || st.lastProbeBytes);
    let id = this.ports.randomId() >>> 0;
    while (st.outstanding.has(id)) id = this.ports.randomId() >>> 0;
    // Not sent (no session, no route right now): nothing was measured, nothing is counted.
    if (!this.ports.send(dst, st.relays ?? [], id, bytes, now)) return;
    st.outstanding.set(id, now);
    st.lastProbeBytes = bytes;
    st.bytesSinceProbe = 0;
  }
}

export function sameRelays(a: readonly NodeId[], b: readonly NodeId[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
