// Packets waiting for a session with their destination. Bounded per peer: when a handshake can't
// complete, the oldest packets go first (fresh ones are more useful once the session comes up).
import type { NodeId } from '../identity/node-id.js';

const MAX_PER_PEER = 64;

export class PendingQueue {
  private readonly queues = new Map<NodeId, Buffer[]>();

  /** Copies `plaintext` (the caller's buffer is reused). Returns false if an older packet was dropped. */
  push(peer: NodeId, plaintext: Uint8Array): boolean {
    let q = this.queues.get(peer);
    if (!q) {
      q = [];
      this.queues.set(peer, q);
    }
    q.push(Buffer.from(plaintext));
    if (q.length > MAX_PER_PEER) {
      q.shift();
      return false;
    }
    return true;
  }

  has(peer: NodeId): boolean {
    return this.queues.has(peer);
  }

  take(peer: NodeId): Buffer[] {
    const q = this.queues.get(peer);
    if (!q) return [];
    this.queues.delete(peer);
    return q;
  }

  /** Forget a peer removed from the configuration. */
  drop(peer: NodeId): void {
    this.queues.delete(peer);
  }
}
