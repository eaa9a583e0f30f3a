// One WebSocket connection seen as a link: where its frames go, whether it has carried an
// authenticated packet yet, and the bounds on what may wait for it. The socket is behind a small
// interface (the part of `ws`'s WebSocket used here), so queue bounds are tested without a network.
//
// Two bounds, no unbounded queue anywhere:
//   - before the socket is open (dialling), at most `maxPendingFrames` frames wait; later ones are
//     dropped (a handshake or probe is retried by its owner, data by TCP inside the tunnel);
//   - once open, a frame is dropped when the socket already holds more than `maxBufferedBytes` not
//     yet written to the kernel (bufferedAmount): the TCP connection is congested, and queueing more
//     in user space only adds delay to every packet behind it (the same reason the UDP receive buffer
//     is small: DEVELOPERS.md, Queues).
import type { Endpoint } from './transport.js';

/** The part of `ws`'s WebSocket a link uses. readyState: 0 connecting, 1 open, 2 closing, 3 closed. */
export interface WsSocketLike {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: Buffer, opts: { binary: true }, cb?: (err?: Error) => void): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
}

export interface WsLinkLimits {
  maxBufferedBytes: number;
  maxPendingFrames: number;
}

export const DEFAULT_WS_LINK_LIMITS: Readonly<WsLinkLimits> = Object.freeze({
  // ~1.5 ms of a 1.4 Gbit/s flow: enough to keep the socket's writes full between event-loop turns.
  maxBufferedBytes: 256 * 1024,
  maxPendingFrames: 32,
});

export type WsSendResult = 'sent' | 'pending' | 'congested' | 'closed';

const OPEN = 1;
const CLOSED = 3;

export class WsLink {
  /** A packet that arrived on it opened (or answered) a Noise session: it belongs to a member. */
  authenticated = false;
  private pending: Buffer[] = [];
  /** Send errors (socket closed under a write): counted, never thrown. */
  sendErrors = 0;
  private readonly onSent = (err?: Error): void => {
    if (err) this.sendErrors++;
  };

  constructor(
    readonly socket: WsSocketLike,
    /** The endpoint frames from it are reported from, and that sends to it name. */
    readonly endpoint: Endpoint,
    /** We dialled it (to a configured member address), rather than accepted it. */
    readonly dialed: boolean,
    readonly openedAt: number,
    private readonly limits: WsLinkLimits = DEFAULT_WS_LINK_LIMITS,
  ) {}

  /** Sends (or, while dialling, queues) one frame; takes ownership of `data`. */
  send(data: Buffer): WsSendResult {
    const state = this.socket.readyState;
    if (state === OPEN) {
      if (this.socket.bufferedAmount > this.limits.maxBufferedBytes) return 'congested';
      this.socket.send(data, { binary: true }, this.onSent);
      return 'sent';
    }
    if (state > OPEN) return 'closed';
    if (this.pending.length >= this.limits.maxPendingFrames) return 'congested';
    this.pending.push(data);
    return 'pending';
  }

  /** The socket opened: what waited goes out now (subject to the same congestion bound). */
  opened(): number {
    const frames = this.pending;
    this.pending = [];
    let dropped = 0;
    for (const f of frames) if (this.send(f) !== 'sent') dropped++;
    return dropped;
  }

  /** Frames waiting for the socket to open. */
  get pendingFrames(): number {
    return this.pending.length;
  }

  get closed(): boolean {
    return this.socket.readyState === CLOSED;
  }

  close(code: number, reason: string): void {
    this.pending = [];
    this.socket.close(code, reason);
  }
}
