// What a hostile member sends, made with the project's own encoders (control-codec.ts, advert.ts)
// and a real member key: shared by the in-process adversary tests (routing-hostile-member.ts, on the routing
// mesh) and the hostile daemon of benchmarks/hostile-load.ts (over real sessions and UDP).
import type { NodeId } from '../../src/identity/node-id.js';
import { encodeAdvert, type Advert } from '../../src/routing/advert.js';
import {
  ControlKind,
  encodeAdvertMessage,
  encodeAnnounceChunks,
  encodeDigest,
  encodeSummaryChunks,
  type SummaryEntry,
} from '../../src/routing/control-codec.js';
import { DEFAULT_ROUTING_PARAMS } from '../../src/routing/routing-params.js';

/** The largest seq an ANNOUNCE or SUMMARY can carry: 2^53 − 1. */
export const MAX_SEQ = Number.MAX_SAFE_INTEGER;

/** How far ahead of the wall clock a claim may still be believed (seq-bounds.ts). */
export const SKEW_MS = DEFAULT_ROUTING_PARAMS.maxClockSkewMs;

export type Sign = (message: Uint8Array) => Uint8Array;

export class HostileCraft {
  /** `id` and `sign`: the hostile member's own identity and key. */
  constructor(
    readonly id: NodeId,
    private readonly sign: Sign,
  ) {}

  /** `origin`'s advert signed with `sign` — its own key (genuine) or ours (a forgery). */
  advert(
    origin: NodeId,
    sign: Sign,
    seq: number,
    links: readonly NodeId[] = [],
    lifetimeMs = 120_000,
  ): Uint8Array {
    const advert: Advert = {
      origin,
      seq,
      lifetimeMs,
      links: links.map((neighbor) => ({ neighbor, rttMs: 1, loss: 0, flags: 0 })),
    };
    return encodeAdvertMessage(encodeAdvert(advert, sign));
  }

  /** Our own advert, validly signed: any seq, any links we care to claim. */
  ownAdvert(seq: number, links: readonly NodeId[] = [], lifetimeMs = 120_000): Uint8Array {
    return this.advert(this.id, this.sign, seq, links, lifetimeMs);
  }

  /** An advert claiming to be `origin`'s, signed with our key: fails verification, costs a verify. */
  forgedAdvert(origin: NodeId, seq: number): Uint8Array {
    return this.advert(origin, this.sign, seq);
  }

  announce(entries: readonly SummaryEntry[]): Uint8Array[] {
    return encodeAnnounceChunks(entries);
  }

  /** SUMMARY chunks saying we hold exactly `entries` (any order; one per origin) in [lo, hi]. */
  summary(entries: readonly SummaryEntry[], lo = 0, hi = 0xffffffff): Uint8Array[] {
    const byOrigin = new Map(entries.map((e) => [e.origin, e]));
    return encodeSummaryChunks(
      [...byOrigin.values()].sort((a, b) => a.origin - b.origin),
      lo,
      hi,
    );
  }

  /** An 11-byte SUMMARY: "I hold nothing at all". */
  emptySummary(): Uint8Array {
    return this.summary([])[0];
  }

  /** One REQUEST naming `origins` as given, repeats included (at most 299: one message). */
  request(origins: readonly NodeId[]): Uint8Array {
    const out = new Uint8Array(3 + 4 * origins.length);
    const v = new DataView(out.buffer);
    v.setUint8(0, ControlKind.Request);
    v.setUint16(1, origins.length);
    origins.forEach((id, k) => v.setUint32(3 + 4 * k, id));
    return out;
  }

  /** A DIGEST of 2^bits buckets whose hashes match nothing: every bucket "differs". */
  junkDigest(bits: number, random: () => number): Uint8Array {
    const n = 2 ** bits;
    const hashes = new Uint32Array(n).map(() => Math.floor(random() * 0x1_0000_0000));
    return encodeDigest({ bits, counts: new Uint16Array(n).fill(1), hashes });
  }

  /**
   * One round of everything at once, ~6 kB in 10+ messages: summaries of random strangers (the
   * memory attack), claims of members at impossible and at plausible-but-unheld seqs (the freeze),
   * a request naming members and strangers with repeats, an empty summary and a junk digest (CPU and
   * amplification), our own next advert and a forgery of `victim`'s (signature CPU).
   */
  mixedRound(
    members: readonly NodeId[],
    victim: NodeId,
    wall: number,
    ownSeq: number,
    random: () => number,
  ): Uint8Array[] {
    const u32 = (): number => Math.floor(random() * 0x1_0000_0000);
    const member = (): NodeId => members[Math.floor(random() * members.length)];
    const strangers: SummaryEntry[] = Array.from({ length: 99 }, () => ({ origin: u32(), seq: u32() }));
    const claims: SummaryEntry[] = Array.from({ length: 99 }, (_, k) => ({
      origin: k % 3 === 0 ? u32() : member(),
      seq: k % 3 === 1 ? (k % 2 ? MAX_SEQ : wall + SKEW_MS + u32()) : wall + Math.floor(random() * SKEW_MS),
    }));
    const asks = Array.from({ length: 299 }, () => (random() < 0.5 ? member() : u32()));
    return [
      ...this.summary(strangers),
      ...this.announce(claims),
      this.request(asks),
      this.emptySummary(),
      this.junkDigest(Math.floor(random() * 8), random),
      this.ownAdvert(ownSeq, [victim]),
      this.forgedAdvert(victim, wall + 1),
      ...this.summary(members.map((origin) => ({ origin, seq: wall + 1 }))),
    ];
  }
}
