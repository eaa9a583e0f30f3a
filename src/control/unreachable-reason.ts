// Why a member has no path, in words an operator can act on, from what this node already knows: the
// endpoints it has for the member, the handshakes it sent, and whether a session ever came up. Pure,
// so the wording is tested without a network.
//
// A member whose handshakes fail mac1 or Noise against our key (it has a stale key for us, or we for
// it) reads "key rejected", from the last handshake failure node/member-diagnostics.ts kept. A member
// that rejects *our* handshakes answers nothing, so on its own that reads as "no reply"; the hint
// names the case. Kept under ~60 characters so the sentence fits the 100-column status row.

export interface ReachabilityFacts {
  /** Endpoints known for the member: configured (resolved) or learned from its traffic. */
  endpointsKnown: number;
  /** A session we can send with exists. */
  sessionEstablished: boolean;
  /** Initiations sent since the last completed handshake. */
  handshakeAttempts: number;
  /** A handshake with the member completed at some point since start. */
  everHandshaked: boolean;
  /** The direct link was measured and declared dead. */
  directDead: boolean;
  /** Why the last handshake with the member failed, if it failed after the last one that completed. */
  lastFailure?: string;
  /** We hold the member's signed advert (its link state). */
  advertHeld?: boolean;
  /** Links of the member in our graph: own, or listed by both ends (the two-way check). */
  graphLinks?: number;
}

export function unreachableReason(f: ReachabilityFacts): string {
  if (f.endpointsKnown === 0 && !f.sessionEstablished) {
    return 'no endpoint known: none in peers.yaml, no contact, no relay path';
  }
  if (!f.sessionEstablished && f.lastFailure === 'key-rejected') {
    return 'key rejected: its handshakes fail our key; compare peers.yaml';
  }
  if (!f.sessionEstablished && f.lastFailure === 'rate-limited') {
    return 'handshakes rate-limited: it sends too many; see the log';
  }
  if (!f.sessionEstablished && f.handshakeAttempts > 0) {
    return (
      `no reply to ${f.handshakeAttempts} handshake${f.handshakeAttempts === 1 ? '' : 's'}: ` +
      `down, blocked, or lacks our key`
    );
  }
  if (!f.sessionEstablished && !f.everHandshaked) return 'no session yet: first handshake pending';
  // With a session and no path, the graph says which part is missing: its link state, a link both
  // ends confirm, or a relay on our side of the graph.
  if (f.advertHeld === false && f.graphLinks === 0)
    return 'no link state from it: its adverts do not reach us';
  if (f.graphLinks === 0) return 'its links are one-way: no neighbour of it lists it back';
  return f.directDead
    ? 'every path failed: direct link dead, no relay reaches it'
    : 'every path failed: no relay reaches it';
}
