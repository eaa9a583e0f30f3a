// What the data plane reports for diagnostics (src/node/member-diagnostics.ts implements it): events
// the operator asks about that only the packet path sees. Called off the per-packet hot path only
// (handshakes), except dataFrom, which must stay cheap.
import type { NodeId } from '../identity/node-id.js';

export interface ForwardObserver {
  /**
   * A handshake body claiming to come from member `src` was rejected by the session layer, for
   * `reason` (a HandshakeRejectReason of session/handshake-result.ts).
   */
  handshakeRejected(src: NodeId, reason: string, now: number): void;
  /**
   * An authenticated Data packet of `member`, sealed as direct, came from underlay address `key` on
   * our session `receiverIndex`: whoever sent it holds the member's keys. Called per such packet, so
   * an implementation must be cheap when nothing changed (duplicate-key detection).
   */
  dataFrom(member: NodeId, key: string, receiverIndex: number, now: number): void;
}

export const nullObserver: ForwardObserver = {
  handshakeRejected: () => {},
  dataFrom: () => {},
};
