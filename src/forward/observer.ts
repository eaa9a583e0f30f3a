// What the data plane reports for diagnostics (src/node/member-diagnostics.ts implements it): events
// the operator asks about that only the packet path sees. Called off the per-packet hot path only
// (handshakes), so an implementation may log and count.
import type { NodeId } from '../identity/node-id.js';

export interface ForwardObserver {
  /**
   * A handshake body claiming to come from member `src` was rejected by the session layer, for
   * `reason` (a HandshakeRejectReason of session/handshake-result.ts).
   */
  handshakeRejected(src: NodeId, reason: string, now: number): void;
  /**
   * A handshake with `member` completed on a message that came straight from underlay address `key`
   * (not relayed, and not from an address proven to be another member's): whoever sent it holds the
   * member's private key.
   */
  handshakeFrom(member: NodeId, key: string, now: number): void;
}

export const nullObserver: ForwardObserver = {
  handshakeRejected: () => {},
  handshakeFrom: () => {},
};
