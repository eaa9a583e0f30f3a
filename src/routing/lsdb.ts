// Link-state database: the latest advert of every origin, as received.
//
// Only a strictly newer seq replaces an entry; equal or older copies are duplicates of flooding and
// are dropped before anyone pays for a signature check. Each entry expires `lifetimeMs` after we
// RECEIVED it (not after the origin's clock said so: we never compare clocks across nodes), so an
// origin that vanishes without retracting its links is forgotten within one lifetime.
//
// Our own adverts live here too, so anti-entropy can hand them out like anyone else's. If the
// network shows us an advert for our own origin with a seq at or above ours — we restarted and a
// neighbour still remembers our previous life — we must jump above it and re-originate, or every
// node would keep ignoring our "older" new adverts until theirs expired (OSPF does the same).
//
// An entry that expires leaves its seq behind as the origin's high-water mark: without it, anyone
// holding an older signed advert of that origin could replay it the moment ours expired and have it
// accepted as news (links long gone, back for another lifetime). One number per member; the router
// forgets a mark once the wall-clock bound rejects everything below it anyway (see seq-bounds.ts).
import type { NodeId } from '../identity/node-id.js';
import { packLink, type Advert, type PackedLink } from './advert.js';
import { bucketOf, entryHash, type Digest, type SummaryEntry } from './control-codec.js';

export interface LsdbEntry {
  origin: NodeId;
  seq: number;
  lifetimeMs: number;
  /** The exact signed bytes, re-sent verbatim when flooding and on request. */
  bytes: Uint8Array;
  receivedAt: number;
  expiresAt: number;
  /** The advert's links by neighbour (see PackedLink), for the two-way check and flooding. */
  links: ReadonlyMap<NodeId, PackedLink>;
}

export type OfferResult = 'accepted' | 'stale' | 'replayed' | 'duplicate' | 'own-newer' | 'own-duplicate';

export class LinkStateDb {
  private readonly entries = new Map<NodeId, LsdbEntry>();
  /**
   * Origins in increasing order, rebuilt only when an origin comes or goes (not on a new seq):
   * anti-entropy walks ranges of it for every SUMMARY chunk, and scanning the whole map per chunk
   * made each summary cost O(N²/99) at N members.
   */
  private sorted: NodeId[] | undefined;
  /** Highest seq we have used or seen for our own origin. */
  private ownSeq = 0;
  /** Per origin, the highest seq ever accepted; outlives the entry (see the top of this file). */
  private readonly highWater = new Map<NodeId, number>();
  private totalBytes = 0;

  constructor(readonly self: NodeId) {}

  get(origin: NodeId): LsdbEntry | undefined {
    return this.entries.get(origin);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Signed bytes of every advert held: what a neighbour that lacks everything would pull. */
  get bytes(): number {
    return this.totalBytes;
  }

  /** High-water marks kept (one per origin ever accepted and still remembered). */
  get highWaterSize(): number {
    return this.highWater.size;
  }

  origins(): IterableIterator<NodeId> {
    return this.entries.keys();
  }

  values(): IterableIterator<LsdbEntry> {
    return this.entries.values();
  }

  /** Origins in [lo, hi], in increasing order. */
  *originsIn(lo: NodeId, hi: NodeId): IterableIterator<NodeId> {
    const s = (this.sorted ??= [...this.entries.keys()].sort((a, b) => a - b));
    for (let i = lowerBound(s, lo); i < s.length && s[i] <= hi; i++) yield s[i];
  }

  /** How many origins lie in [lo, hi]: two binary searches, whatever the range. */
  countIn(lo: NodeId, hi: NodeId): number {
    const s = (this.sorted ??= [...this.entries.keys()].sort((a, b) => a - b));
    return lowerBound(s, hi + 1) - lowerBound(s, lo);
  }

  /** Whether an advert (origin, seq) would be news to us; for our own origin, whether it forces a jump. */
  isNewer(origin: NodeId, seq: number): boolean {
    if (origin === this.self) return seq >= this.ownSeq && seq > 0;
    return seq > this.floorOf(origin);
  }

  /** The seq an advert of `origin` must beat: the entry's, else the high-water mark, else -1. */
  private floorOf(origin: NodeId): number {
    return this.entries.get(origin)?.seq ?? this.highWater.get(origin) ?? -1;
  }

  /** Next seq for our own advert: above anything used or seen, and at least the wall clock (ms). */
  nextOwnSeq(wallClockMs: number): number {
    return Math.max(this.ownSeq + 1, Math.floor(wallClockMs));
  }

  /** Stores our freshly originated advert. */
  installOwn(advert: Advert, bytes: Uint8Array, now: number): void {
    this.ownSeq = Math.max(this.ownSeq, advert.seq);
    this.put(advert, bytes, now);
  }

  /** Offers a verified advert received from the network. */
  offer(advert: Advert, bytes: Uint8Array, now: number): OfferResult {
    if (advert.origin === this.self) {
      const mine = this.entries.get(this.self);
      if (mine && advert.seq === mine.seq && equalBytes(bytes, mine.bytes)) return 'own-duplicate';
      if (advert.seq < this.ownSeq) return 'stale';
      this.ownSeq = advert.seq; // the next origination goes above it
      return 'own-newer';
    }
    const e = this.entries.get(advert.origin);
    if (e && advert.seq === e.seq) return 'duplicate';
    if (e && advert.seq < e.seq) return 'stale';
    if (!e && advert.seq <= (this.highWater.get(advert.origin) ?? -1)) return 'replayed';
    this.put(advert, bytes, now);
    return 'accepted';
  }

  /** Drops entries whose lifetime ran out; returns their origins (our own is refreshed, never dropped). */
  expire(now: number): NodeId[] {
    const gone: NodeId[] = [];
    for (const [origin, e] of this.entries) {
      if (origin !== this.self && e.expiresAt <= now) {
        this.remove(origin);
        gone.push(origin);
      }
    }
    return gone;
  }

  /** Drops origins that are no longer members; returns them. */
  retainMembers(isMember: (id: NodeId) => boolean): NodeId[] {
    const gone: NodeId[] = [];
    for (const origin of this.entries.keys()) {
      if (origin !== this.self && !isMember(origin)) {
        this.remove(origin);
        gone.push(origin);
      }
    }
    for (const origin of this.highWater.keys()) if (!isMember(origin)) this.highWater.delete(origin);
    return gone;
  }

  /**
   * Forgets the high-water marks of origins we hold no advert of whose mark is below `seq`: the
   * caller's wall-clock bound rejects such seqs anyway. Returns how many were forgotten.
   */
  forgetHighWaterBelow(seq: number): number {
    let n = 0;
    for (const [origin, mark] of this.highWater) {
      if (mark < seq && !this.entries.has(origin)) {
        this.highWater.delete(origin);
        n++;
      }
    }
    return n;
  }

  /** (origin, seq) of every entry in [lo, hi] (default: all), sorted by origin: a SUMMARY's body. */
  summary(lo: NodeId = 0, hi: NodeId = 0xffffffff): SummaryEntry[] {
    const out: SummaryEntry[] = [];
    for (const origin of this.originsIn(lo, hi))
      out.push({ origin, seq: (this.entries.get(origin) as LsdbEntry).seq });
    return out;
  }

  /** Our entries condensed into 2^bits buckets (see control-codec.ts, DIGEST). */
  digest(bits: number): Digest {
    const n = 2 ** bits;
    const counts = new Uint16Array(n);
    const hashes = new Uint32Array(n);
    for (const e of this.entries.values()) {
      const b = bucketOf(bits, e.origin);
      counts[b]++;
      hashes[b] = (hashes[b] + entryHash(e.origin, e.seq)) >>> 0;
    }
    return { bits, counts, hashes };
  }

  /**
   * Anti-entropy against one SUMMARY chunk covering [rangeLo, rangeHi]: origins the peer holds newer
   * (to REQUEST), and origins where we are newer or the peer has nothing (to send as ADVERTs).
   */
  compare(
    rangeLo: NodeId,
    rangeHi: NodeId,
    entries: readonly SummaryEntry[],
    isMember: (id: NodeId) => boolean,
  ): { request: SummaryEntry[]; send: NodeId[] } {
    const request: SummaryEntry[] = [];
    const send: NodeId[] = [];
    const listed = new Set<NodeId>();
    for (const e of entries) {
      listed.add(e.origin);
      if (!isMember(e.origin)) continue;
      const ours = this.entries.get(e.origin);
      const same = ours !== undefined && ours.seq === e.seq;
      if (this.isNewer(e.origin, e.seq) && !same) request.push(e);
      else if (ours && ours.seq > e.seq) send.push(e.origin);
    }
    for (const origin of this.originsIn(rangeLo, rangeHi)) if (!listed.has(origin)) send.push(origin);
    return { request, send };
  }

  private put(advert: Advert, bytes: Uint8Array, now: number): void {
    const links = new Map<NodeId, PackedLink>();
    for (const l of advert.links) links.set(l.neighbor, packLink(l));
    const old = this.entries.get(advert.origin);
    if (!old) this.sorted = undefined;
    this.totalBytes += bytes.byteLength - (old?.bytes.byteLength ?? 0);
    if (advert.origin !== this.self)
      this.highWater.set(advert.origin, Math.max(advert.seq, this.highWater.get(advert.origin) ?? -1));
    this.entries.set(advert.origin, {
      origin: advert.origin,
      seq: advert.seq,
      lifetimeMs: advert.lifetimeMs,
      bytes,
      receivedAt: now,
      expiresAt: now + advert.lifetimeMs,
      links,
    });
  }

  private remove(origin: NodeId): void {
    const e = this.entries.get(origin);
    if (!e) return;
    this.entries.delete(origin);
    this.totalBytes -= e.bytes.byteLength;
    this.sorted = undefined;
  }
}

/** First index in sorted `s` whose value is >= `x`. */
function lowerBound(s: readonly NodeId[], x: number): number {
  let i = 0;
  for (let j = s.length; i < j;) {
    const m = (i + j) >> 1;
    if (s[m] < x) i = m + 1;
    else j = m;
  }
  return i;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
