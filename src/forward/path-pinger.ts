// Operator pings along a chosen path (`overlayd ping`, `overlayd trace`): an end-to-end sealed probe
// sent along an explicit source route; the destination echoes it back along the reverse route, so
// the RTT is that of the whole path, relays included.
import type { Clock } from '../clock.js';
import type { NodeId } from '../identity/node-id.js';

interface Waiting {
  sentAt: number;
  resolve: (rttMs: number | null) => void;
  timer: NodeJS.Timeout;
}

export class PathPinger {
  private readonly waiting = new Map<number, Waiting>();
  private nextId = (Math.random() * 0x1_0000_0000) >>> 0;

  constructor(
    private readonly clock: Clock,
    /** Sends probe `id` to `dst` along `relays`; false if it could not be sent (no session, no route). */
    private readonly send: (dst: NodeId, relays: readonly NodeId[], id: number) => boolean,
  ) {}

  /** Resolves to the round-trip time in ms, or null when no reply came within `timeoutMs`. */
  ping(dst: NodeId, relays: readonly NodeId[], timeoutMs: number): Promise<number | null> {
    const id = (this.nextId = (this.nextId + 1) >>> 0);
    return new Promise((resolve) => {
      const sentAt = this.clock.now();
      if (!this.send(dst, relays, id)) return resolve(null);
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve(null);
      }, timeoutMs);
      this.waiting.set(id, { sentAt, resolve, timer });
    });
  }

  /** A probe reply arrived; unknown ids (the prober's own probes) are ignored. */
  onReply(id: number, now: number): void {
    const w = this.waiting.get(id);
    if (!w) return;
    this.waiting.delete(id);
    clearTimeout(w.timer);
    w.resolve(now - w.sentAt);
  }

  close(): void {
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer);
      w.resolve(null);
    }
    this.waiting.clear();
  }
}
