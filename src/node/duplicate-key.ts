// Duplicate-key detection: two machines holding one member's private key (a cloned VM, a copied key
// file). Both complete handshakes with us, each replacing the other's session, so the member's
// handshakes come from two addresses in turn: A, B, A, B… A member that merely moved (roaming, a NAT
// rebinding, a new ISP) goes A → B and stays; a multihomed member handshakes over its one route.
//
// So the signal is a *return*: a handshake from an address that this member used before, after a
// handshake from another one, within WINDOW_MS. RETURNS_TO_SUSPECT returns in the window raise the
// suspicion (reported once per episode); the episode ends after a quiet WINDOW_MS. Handshakes are the
// evidence because only a holder of the key can complete one (relayed ones and ones from another
// member's proven address are filtered by the caller). Pure: time comes in.
import type { NodeId } from '../identity/node-id.js';

export const WINDOW_MS = 60_000;
export const RETURNS_TO_SUSPECT = 2;
/** Addresses remembered per member: two clones need two; a roaming member's old ones age out. */
const MAX_ADDRESSES = 4;

interface MemberTrack {
  last: string;
  /** Address → last handshake from it. */
  seen: Map<string, number>;
  /** Times of returns within the window. */
  returns: number[];
  suspectedSince: number | undefined;
}

export interface DuplicateKeySuspicion {
  member: NodeId;
  /** The addresses taking turns, most recent first. */
  addresses: string[];
  /** Returns counted in the window. */
  returns: number;
}

export class DuplicateKeyDetector {
  private readonly tracks = new Map<NodeId, MemberTrack>();

  /**
   * A handshake with `member` came from `address`. Returns the suspicion when this handshake starts a
   * new episode (log it, count it), else undefined.
   */
  handshakeFrom(member: NodeId, address: string, now: number): DuplicateKeySuspicion | undefined {
    let t = this.tracks.get(member);
    if (t === undefined) {
      t = { last: address, seen: new Map([[address, now]]), returns: [], suspectedSince: undefined };
      this.tracks.set(member, t);
      return undefined;
    }
    this.age(t, now);
    const before = t.seen.get(address);
    if (address !== t.last && before !== undefined) t.returns.push(now);
    t.seen.delete(address); // re-inserted last: Map order is recency order
    t.seen.set(address, now);
    while (t.seen.size > MAX_ADDRESSES) t.seen.delete(t.seen.keys().next().value as string);
    t.last = address;
    if (t.returns.length < RETURNS_TO_SUSPECT || t.suspectedSince !== undefined) return undefined;
    t.suspectedSince = now;
    return { member, addresses: [...t.seen.keys()].reverse(), returns: t.returns.length };
  }

  /** Whether `member` is under suspicion now (status, and learning no new endpoints for it). */
  suspected(member: NodeId, now: number): DuplicateKeySuspicion | undefined {
    const t = this.tracks.get(member);
    if (t === undefined) return undefined;
    this.age(t, now);
    if (t.suspectedSince === undefined) return undefined;
    return { member, addresses: [...t.seen.keys()].reverse(), returns: t.returns.length };
  }

  forget(member: NodeId): void {
    this.tracks.delete(member);
  }

  private age(t: MemberTrack, now: number): void {
    while (t.returns.length > 0 && now - t.returns[0] >= WINDOW_MS) t.returns.shift();
    for (const [a, at] of t.seen) if (now - at >= WINDOW_MS && a !== t.last) t.seen.delete(a);
    if (t.returns.length === 0) t.suspectedSince = undefined;
  }
}
