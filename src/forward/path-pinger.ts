// Operator pings along a chosen path (`overlayd ping`, `overlayd trace`): an end-to-end sealed probe
// sent along an explicit source route; the destination echoes it back along the reverse route, so
// the RTT is that of the whole path, relays included.
//
// Only the pinged node's own reply counts: a reply is sealed by its sender, and it must come from the
// member we pinged, with the id we chose. Ids are crypto-random, so a member on the path (which sees
// only ciphertext) can neither guess one nor answer in the destination's name.
import { randomInt } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { NodeId } from '../identity/node-id.js';

interface Waiting {
  dst: NodeId;
  sentAt: number;
  resolve: (rttMs: number | null) => void;
  timer: NodeJS.Timeout;
}

/** Pings in flight at most (the control socket is local, but a script could loop). */
const MAX_WAITING = 1024;

export class PathPinger {
  private readonly waiting = new Map<number, Waiting>();

  constructor(
    private readonly clock: Clock,
    /** Sends probe `id` to `dst` along `relays`; false if it could not be sent (no session, no route). */
    private readonly send: (dst: NodeId, relays: readonly NodeId[], id: number) => boolean,
    /** A uniformly random u32; crypto by default. */
    private readonly randomId: () => number = () => randomInt(0x1_0000_0000),
  ) {}

  /** Resolves to the round-trip time in ms, or null when no reply came within `timeoutMs`. */
  ping(dst: NodeId, relays: readonly NodeId[], timeoutMs: number): Promise<number | null> {
    if (this.waiting.size >= MAX_WAITING) return Promise.resolve(null);
    let id = this.randomId() >>> 0;
    while (this.waiting.has(id)) id = this.randomId() >>> 0;
    return new Promise((resolve) => {
      const sentAt = this.clock.now();
      if (!this.send(dst, relays, id)) return resolve(null);
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve(null);
      }, timeoutMs);
      this.waiting.set(id, { dst, sentAt, resolve, timer });
    });
  }

  /**
   * A probe reply sealed by `from` arrived. It resolves a ping only if `from` is the member that ping
   * was sent to; unknown ids (the prober's own probes) and replies from anyone else are ignored.
   */
  onReply(from: NodeId, id: number, now: number): boolean {
    const w = this.waiting.get(id);
    if (!w || w.dst !== from) return false;
    this.waiting.delete(id);
    clearTimeout(w.timer);
    w.resolve(now - w.sentAt);
    return true;
  }

  close(): void {
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer);
      w.resolve(null);
    }
    this.waiting.clear();
  }
}
