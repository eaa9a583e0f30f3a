// Why a member has no path, in words an operator can act on, from what this node already knows: the
// endpoints it has for the member, the handshakes it sent, and whether a session ever came up. Pure,
// so the wording is tested without a network.
//
// Not told apart yet (the data isn't kept per member): a member that rejects our key answers nothing,
// so it reads as "no reply to handshakes"; the hint names that case. Kept under ~60 characters so the
// sentence fits the 100-column status row.

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
}

export function unreachableReason(f: ReachabilityFacts): string {
  if (f.endpointsKnown === 0 && !f.sessionEstablished) {
    return 'no endpoint known: none in peers.yaml, no contact, no relay path';
  }
  if (!f.sessionEstablished && f.handshakeAttempts > 0) {
    return (
      `no reply to ${f.handshakeAttempts} handshake${f.handshakeAttempts === 1 ? '' : 's'}: ` +
      `down, blocked, or lacks our key`
    );
  }
  if (!f.sessionEstablished && !f.everHandshaked) return 'no session yet: first handshake pending';
  return f.directDead
    ? 'every path failed: direct link dead, no relay reaches it'
    : 'every path failed: no relay reaches it';
}
