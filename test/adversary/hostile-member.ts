// A hostile member for the adversary tests: it holds a real member key (one of the mesh's members,
// run as an external node: no router of its own) and speaks only through the real codecs
// (control-codec.ts, advert.ts) into real Routers, in-process, on the mesh's virtual clock. It can
// sign its own adverts (any seq, any links), forge others' (signed with its own key), claim adverts
// it does not hold, ask for anything, and never answer. What the victims send it lands in its inbox.
import type { NodeId } from '../../src/identity/node-id.js';
import { encodeAdvert, peekAdvert, type Advert } from '../../src/routing/advert.js';
import {
  ControlKind,
  decodeControl,
  encodeAdvertMessage,
  encodeAnnounceChunks,
  encodeDigest,
  encodeSummaryChunks,
  type ControlMessage,
  type SummaryEntry,
} from '../../src/routing/control-codec.js';
import { DEFAULT_ROUTING_PARAMS } from '../../src/routing/routing-params.js';
import { Mesh } from '../unit/routing-mesh.js';

/** The largest seq an ANNOUNCE or SUMMARY can carry: 2^53 − 1. */
export const MAX_SEQ = Number.MAX_SAFE_INTEGER;

export class HostileMember {
  constructor(
    readonly mesh: Mesh,
    readonly index: number,
  ) {
    if (!mesh.external.has(index)) throw new Error(`mesh node ${index} runs a router: make it external`);
  }

  get id(): NodeId {
    return this.mesh.id(this.index);
  }

  /** Our wall clock (the mesh's: members' clocks agree). */
  wall(): number {
    return this.mesh.wallOf(this.index);
  }

  // --- crafting, through the real encoders ----------------------------------------------------

  /** Member `origin`'s advert signed with ITS key: an honest advert (or one captured earlier). */
  advertOf(origin: number, seq: number, links: readonly number[] = [], lifetimeMs = 120_000): Uint8Array {
    const advert = this.advert(this.mesh.id(origin), seq, links, lifetimeMs);
    return encodeAdvertMessage(encodeAdvert(advert, this.mesh.members[origin].sign));
  }

  /** Our own advert, validly signed: any seq, any links we care to claim. */
  ownAdvert(seq: number, links: readonly number[] = [], lifetimeMs = 120_000): Uint8Array {
    return this.advertOf(this.index, seq, links, lifetimeMs);
  }

  /** An advert claiming to be `origin`'s, signed with our key: fails verification, costs the victim one. */
  forgedAdvert(origin: number, seq: number): Uint8Array {
    const advert = this.advert(this.mesh.id(origin), seq, [], 120_000);
    return encodeAdvertMessage(encodeAdvert(advert, this.mesh.members[this.index].sign));
  }

  announce(entries: readonly SummaryEntry[]): Uint8Array[] {
    return encodeAnnounceChunks(entries);
  }

  /** SUMMARY chunks saying we hold exactly `entries` (sorted by origin) in [lo, hi]. */
  summary(entries: readonly SummaryEntry[], lo = 0, hi = 0xffffffff): Uint8Array[] {
    return encodeSummaryChunks(
      [...entries].sort((a, b) => a.origin - b.origin),
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

  // --- talking to a victim --------------------------------------------------------------------

  /**
   * Delivers each message to router `to` now, as if over a direct link (the victim decides), and
   * what the victims send in return. Returns the bytes sent.
   */
  send(to: number, ...messages: Uint8Array[]): number {
    let bytes = 0;
    for (const m of messages) {
      this.mesh.inject(this.index, to, m);
      bytes += m.byteLength;
    }
    this.mesh.flush();
    return bytes;
  }

  /** Everything the victims sent us so far, decoded, with its size and sender. */
  received(since = 0): Array<{ from: number; at: number; bytes: number; msg: ControlMessage }> {
    const out: Array<{ from: number; at: number; bytes: number; msg: ControlMessage }> = [];
    for (const r of this.mesh.inbox[this.index]) {
      if (r.at < since) continue;
      const msg = decodeControl(r.msg);
      if (typeof msg !== 'string') out.push({ from: r.from, at: r.at, bytes: r.msg.byteLength, msg });
    }
    return out;
  }

  /** Bytes the victims sent us since `since` (virtual ms). */
  bytesReceived(since = 0): number {
    return this.received(since).reduce((a, r) => a + r.bytes, 0);
  }

  /** The last advert of `origin` a victim sent us (captured for a replay later), as a message. */
  captured(origin: number): Uint8Array | undefined {
    const id = this.mesh.id(origin);
    let out: Uint8Array | undefined;
    for (const r of this.mesh.inbox[this.index]) {
      const msg = decodeControl(r.msg);
      if (typeof msg === 'string' || msg.kind !== 'advert') continue;
      const head = peekAdvert(msg.advert);
      if (typeof head !== 'string' && head.origin === id) out = r.msg.slice();
    }
    return out;
  }

  private advert(origin: NodeId, seq: number, links: readonly number[], lifetimeMs: number): Advert {
    return {
      origin,
      seq,
      lifetimeMs,
      links: links.map((n) => ({ neighbor: this.mesh.id(n), rttMs: 1, loss: 0, flags: 0 })),
    };
  }
}

/** How far ahead of the wall clock a claim may still be believed (seq-bounds.ts). */
export const SKEW_MS = DEFAULT_ROUTING_PARAMS.maxClockSkewMs;

/** The victim world's nodes: victim, its honest neighbour, an origin behind it, the hostile member. */
export const [V, G, X, H] = [0, 1, 2, 3];

/**
 * The world most attacks run in: the victim V reaches X through its honest neighbour G (V–G–X), and
 * the hostile member H is V's direct neighbour. Converged (every route selected) when returned.
 */
export function victimWorld(): { mesh: Mesh; h: HostileMember } {
  const mesh = new Mesh(4, undefined, { external: [H] });
  mesh.setLink(V, G, 10);
  mesh.setLink(G, X, 10);
  mesh.setLink(V, H, 10);
  mesh.advance(5000);
  if (mesh.route(V, X)?.join() !== [V, G, X].join()) throw new Error('the victim world did not converge');
  return { mesh, h: new HostileMember(mesh, H) };
}
