// A tiny event loop for prober tests: a manual clock, a fake direct path per member with a fixed
// RTT (or none: everything is lost), and the prober driven by its own nextWakeAt().
import type { Beat } from '../../src/clock.js';
import type { NodeId } from '../../src/identity/node-id.js';
import type { ProbeParams } from '../../src/probe/probe-params.js';
import { Prober } from '../../src/probe/prober.js';

export interface SentProbe {
  member: NodeId;
  key: string;
  id: number;
  at: number;
}

export class ProbeHarness {
  now = 0;
  readonly sent: SentProbe[] = [];
  readonly prober: Prober;
  /** RTT per endpoint key; absent = the path drops everything. */
  readonly rtt = new Map<string, number>();
  /** When set, the RTT of each probe (undefined: lost), ahead of `rtt`. */
  rttOf: ((key: string, at: number) => number | undefined) | undefined;
  /** Members with no session: their probes cannot be sent at all. */
  readonly noSession = new Set<NodeId>();
  /** What the prober is told about its own event-loop lag (ProberPorts.loopLagMs). */
  lagMs = 0;
  private replies: Array<{ at: number; p: SentProbe }> = [];

  constructor(params: Partial<ProbeParams> = {}, seed = 1, beat?: Beat) {
    let s = seed;
    const random = (): number => {
      s = (s * 16807) % 2147483647;
      return s / 2147483647;
    };
    this.prober = new Prober({
      params: { jitterRatio: 0, ...params },
      ports: {
        random,
        loopLagMs: () => this.lagMs,
        beat,
        sendProbe: (member, key, id) => {
          if (this.noSession.has(member)) return false;
          const p = { member, key, id, at: this.now };
          this.sent.push(p);
          const r = this.rttOf ? this.rttOf(key, this.now) : this.rtt.get(key);
          if (r !== undefined) this.replies.push({ at: this.now + r, p });
          return true;
        },
      },
    });
  }

  /** Advances virtual time to `until`, delivering replies and running due ticks in order. */
  runUntil(until: number): void {
    for (let guard = 0; guard < 1_000_000; guard++) {
      const nextReply = this.replies.reduce((m, r) => Math.min(m, r.at), Infinity);
      const next = Math.min(this.prober.nextWakeAt(), nextReply);
      if (next > until) break;
      this.now = Math.max(this.now, next);
      const due = this.replies.filter((r) => r.at <= this.now);
      this.replies = this.replies.filter((r) => r.at > this.now);
      for (const r of due) this.prober.onReply(r.p.member, r.p.key, r.p.id, this.now);
      this.prober.tick(this.now);
    }
    this.now = until;
  }

  sentTo(key: string, from = -Infinity, to = Infinity): SentProbe[] {
    return this.sent.filter((p) => p.key === key && p.at >= from && p.at < to);
  }
}
