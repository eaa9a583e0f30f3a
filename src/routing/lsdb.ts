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

export type OfferResult = 'accepted' | 'stale' | 'duplicate' | 'own-newer' | 'own-duplicate';

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

  constructor(readonly self: NodeId) {}

  get(origin: NodeId): LsdbEntry | undefined {
    return this.entries.get(origin);
  }

  get size(): number {
    return this.entries.size;
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
    let i = 0;
    for (let j = s.length; i < j;) {
      const m = (i + j) >> 1;
      if (s[m] < lo) i = m + 1;
      else j = m;
    }
    for (; i < s.length && s[i] <= hi; i++) yield s[i];
  }

  /** Whether an advert (origin, seq) would be news to us; for our own origin, whether it forces a jump. */
  isNewer(origin: NodeId, seq: number): boolean {
    if (origin === this.self) return seq >= this.ownSeq && seq > 0;
    const e = this.entries.get(origin);
    return !e || seq > e.seq;
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
    this.put(advert, bytes, now);
    return 'accepted';
  }

  /** Drops entries whose lifetime ran out; returns their origins (our own is refreshed, never dropped). */
  expire(now: number): NodeId[] {
    const gone: NodeId[] = [];
    for (const [origin, e] of this.entries) {
      if (origin !== this.self && e.expiresAt <= now) {
        this.entries.delete(origin);
        this.sorted = undefined;
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
        this.entries.delete(origin);
        this.sorted = undefined;
        gone.push(origin);
      }
    }
    return gone;
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
    if (!this.entries.has(advert.origin)) this.sorted = undefined;
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
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
