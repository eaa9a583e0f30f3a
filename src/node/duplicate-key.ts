// Duplicate-key detection: two machines holding one member's private key (a cloned VM, a copied key
// file). Each completes its own handshake with us, so we hold two live sessions for the member, and
// authenticated packets arrive on session 1 from address A and on session 2 from address B, in turn:
// (1,A), (2,B), (1,A)… Nothing legitimate looks like that:
//   - a rekey changes the session, not the address: (1,A) → (2,A);
//   - a multihomed member or a NAT rebinding changes the address, not the session: (1,A) → (1,B);
//   - a member that moved changes both once, and does not go back.
// So the signal is a *return*: a packet on a (session, address) pair seen before, right after one
// whose session AND address both differ, within WINDOW_MS. RETURNS_TO_SUSPECT returns in the window
// raise the suspicion (reported once per episode); the episode ends after a quiet WINDOW_MS. Only
// packets that authenticated as the member count (the caller feeds direct, authenticated Data).
//
// Called per such packet: the common case (same pair as the last packet) is two comparisons. Pure:
// time comes in. Memory: a few pairs per member, members bounded by peers.yaml.
import type { NodeId } from '../identity/node-id.js';

export const WINDOW_MS = 30_000;
export const RETURNS_TO_SUSPECT = 3;
/** (session, address) pairs remembered per member: two clones need two; rekeys age out. */
const MAX_PAIRS = 6;

interface Pair {
  session: number;
  address: string;
  at: number;
}

interface MemberTrack {
  last: Pair;
  pairs: Pair[];
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
   * An authenticated packet of `member` came from `address` on our session (keypair) `session`.
   * Returns the suspicion when this packet starts a new episode (log it, count it), else undefined.
   */
  seen(member: NodeId, address: string, session: number, now: number): DuplicateKeySuspicion | undefined {
    const t = this.tracks.get(member);
    if (t !== undefined && t.last.session === session && t.last.address === address) {
      t.last.at = now;
      return undefined;
    }
    return this.changed(member, t, address, session, now);
  }

  /** Whether `member` is under suspicion now (status). */
  suspected(member: NodeId, now: number): DuplicateKeySuspicion | undefined {
    const t = this.tracks.get(member);
    if (t === undefined) return undefined;
    this.age(t, now);
    return t.suspectedSince === undefined ? undefined : suspicion(member, t);
  }

  forget(member: NodeId): void {
    this.tracks.delete(member);
  }

  private changed(
    member: NodeId,
    t: MemberTrack | undefined,
    address: string,
    session: number,
    now: number,
  ): DuplicateKeySuspicion | undefined {
    if (t === undefined) {
      const first = { session, address, at: now };
      this.tracks.set(member, { last: first, pairs: [first], returns: [], suspectedSince: undefined });
      return undefined;
    }
    this.age(t, now);
    let pair = t.pairs.find((p) => p.session === session && p.address === address);
    const differsInBoth = t.last.session !== session && t.last.address !== address;
    if (pair !== undefined && differsInBoth) t.returns.push(now);
    if (pair === undefined) {
      pair = { session, address, at: now };
      t.pairs.push(pair);
      if (t.pairs.length > MAX_PAIRS) t.pairs.shift();
    }
    pair.at = now;
    t.last = pair;
    if (t.returns.length < RETURNS_TO_SUSPECT || t.suspectedSince !== undefined) return undefined;
    t.suspectedSince = now;
    return suspicion(member, t);
  }

  private age(t: MemberTrack, now: number): void {
    while (t.returns.length > 0 && now - t.returns[0] >= WINDOW_MS) t.returns.shift();
    t.pairs = t.pairs.filter((p) => p === t.last || now - p.at < WINDOW_MS);
    if (t.returns.length === 0) t.suspectedSince = undefined;
  }
}

function suspicion(member: NodeId, t: MemberTrack): DuplicateKeySuspicion {
  const addresses = [...t.pairs].sort((a, b) => b.at - a.at).map((p) => p.address);
  return { member, addresses: [...new Set(addresses)], returns: t.returns.length };
}
