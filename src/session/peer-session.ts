// Everything this node keeps about its session with one member: the keypair slots, the pending
// initiation, the replay-protection timestamp, the cookie it gave us and the retry/rekey schedule. SessionTable owns the
// indices and runs the handshakes; this class decides which keypair sends and when to handshake.
//
// Keypair slots (WireGuard's current/previous/next, with `previous` a short list):
//   current   newest confirmed keypair; the only one we send with
//   next      made by us as responder, unconfirmed: the initiator may not have it (its copy of our
//             response may be lost, or the initiation may have been a replay after our restart), so we
//             do not send with it until a packet arrives on it, which promotes it to current
//   previous  superseded keypairs, still receivable for packets in flight until they expire
// An initiator's keypair is confirmed at birth: our initiation's response proved the peer has it.
//
// Simultaneous initiations: each side answers the other's (making a `next`) and then completes its own
// (making a `current`, which moves that `next` to `previous`). Each side then sends with the keypair it
// initiated and receives the other's on its `previous`: both work, nothing is lost.
import type { NodeId } from '../identity/node-id.js';
import type { InitiatorHandshake } from './handshake.js';
import type { DataKeypair } from './keypair.js';
import { cookieReplyKey, mac1Key } from './mac.js';
import { jittered, type RandomSource, type SessionParams } from './params.js';

/** A retry waits at least this many of the route's round trips (see noteInitiationSent). */
const RETRY_ROUND_TRIPS = 1.5;

export interface PendingInitiation {
  handshake: InitiatorHandshake;
  createdAt: number;
  /** A cookie reply for it was accepted: any further one is unsolicited. */
  cookieTaken: boolean;
}

/** A cookie from this peer as responder: bound to our underlay address as it sees it. */
interface HeldCookie {
  value: Buffer;
  receivedAt: number;
}

/** Operator view of one session (see SessionTable.stats). */
export interface PeerSessionStats {
  /** A keypair we may send with exists. */
  established: boolean;
  /** Age of that keypair. */
  sessionAgeMs?: number;
  /** When the last handshake completed (monotonic ms), either side initiating. */
  lastHandshakeAt?: number;
  /** Initiations sent since the last completed handshake (0 when healthy). */
  handshakeAttempts: number;
  /**
   * How long our last completed round of initiations took: from the first initiation sent after the
   * previous success (or quiet spell) to the response. Retries and cookie round trips included.
   */
  lastHandshakeTookMs?: number;
}

export class PeerSession {
  /** mac1 key for messages we send to this peer (keyed by its public key). */
  readonly mac1Key: Buffer;
  /** Opens the cookie replies this peer sends us (keyed by its public key). */
  readonly cookieReplyKey: Buffer;
  current: DataKeypair | undefined;
  next: DataKeypair | undefined;
  previous: DataKeypair[] = [];
  pending: PendingInitiation | undefined;
  /** Timestamp of the last initiation accepted from this peer. */
  lastTimestamp: Buffer | undefined;
  lastHandshakeAt: number | undefined;
  /** Initiations sent since the last success: drives the backoff. */
  attempts = 0;
  /** Immediate retries cookie replies caused since the last scheduled initiation. */
  cookieRetries = 0;
  private nextRetryAt = 0;
  /** When the copy of the latest retry is due (see SessionParams.retryRepeatMs); undefined for none. */
  private repeatAt: number | undefined;
  private wantedAt = -Infinity;
  private rekeyAt = Infinity;
  /**
   * The current keypair's send counter once it was confirmed: a count above it means the keypair
   * carried traffic (see carries). The initiator's confirming keepalive is not traffic.
   */
  private confirmedSends = 0;
  private cookie: HeldCookie | undefined;
  /** When the current round of initiations began; undefined when none is under way. */
  private roundStartedAt: number | undefined;
  private lastRoundMs: number | undefined;

  constructor(
    readonly id: NodeId,
    readonly publicKey: Buffer,
    private readonly params: SessionParams,
    private readonly random: RandomSource,
    /** Called for every keypair this session drops: the table zeroes it and frees its index. */
    private readonly release: (kp: DataKeypair) => void,
  ) {
    this.mac1Key = mac1Key(publicKey);
    this.cookieReplyKey = cookieReplyKey(publicKey);
  }

  /** Keeps the cookie from the peer's latest accepted cookie reply. */
  setCookie(value: Buffer, now: number): void {
    this.cookie = { value, receivedAt: now };
  }

  /** The cookie to key our initiation's mac2 with, if we hold one younger than cookieLifetimeMs. */
  freshCookie(now: number): Buffer | undefined {
    const c = this.cookie;
    return c !== undefined && now - c.receivedAt < this.params.guard.cookieLifetimeMs ? c.value : undefined;
  }

  /** The keypair to seal with, if any: current, unless it has expired or exhausted its counter. */
  sendKeypair(now: number): DataKeypair | undefined {
    const kp = this.current;
    return kp !== undefined && kp.canSend(now) ? kp : undefined;
  }

  /** Records that the data plane has traffic for this peer (keeps handshake retries going). */
  noteWantToSend(now: number): void {
    // After a quiet spell, start over: the first attempt is immediate again.
    if (now - this.wantedAt > this.params.wantTimeoutMs) {
      this.attempts = 0;
      this.roundStartedAt = undefined;
    }
    this.wantedAt = now;
  }

  /**
   * Routing found a (new) path to the peer. Without a usable keypair, the backoff built up by
   * initiations sent where no path led (typically all of them, at start-up behind a broken direct
   * link) says nothing about this path: the next attempt may go at once.
   */
  notePathChanged(now: number): void {
    if (this.sendKeypair(now) === undefined) this.attempts = 0;
  }

  /**
   * Records that we sent an initiation now and schedules the retry after it: the retry step, but no
   * sooner than RETRY_ROUND_TRIPS of `roundTripMs` (the route's round trip, when known; at most the
   * last step). A retry replaces the try before it, so a retry sent before that try's response could
   * arrive orphans the response ("stale") and costs both sides another Diffie-Hellman: a path of
   * 300 ms then completed on the second try, at 550 ms, and 75 daemons on two cores (1.5 s round
   * trips) threw away 7 896 responses while every pair pinged.
   */
  noteInitiationSent(now: number, roundTripMs = 0): void {
    this.roundStartedAt ??= now;
    this.attempts += 1;
    this.cookieRetries = 0;
    const delays = this.params.retryDelaysMs;
    const base = delays[Math.min(this.attempts, delays.length) - 1];
    const floor = Math.min(delays[delays.length - 1], RETRY_ROUND_TRIPS * roundTripMs);
    this.nextRetryAt = now + Math.max(floor, jittered(base, this.params.retryJitter, this.random));
    const repeat = this.params.retryRepeatMs;
    this.repeatAt = this.attempts >= 2 && repeat > 0 ? now + repeat : undefined;
  }

  /**
   * True once, when the copy of the latest retry is due and that try is still unanswered (the caller
   * resends `pending`'s bytes).
   */
  takeRepeat(now: number): boolean {
    if (this.repeatAt === undefined) return false;
    if (this.pending === undefined) {
      this.repeatAt = undefined; // answered (or given up): nothing to repeat
      return false;
    }
    if (now < this.repeatAt) return false;
    this.repeatAt = undefined;
    return true;
  }

  /**
   * True if we should send an initiation now: no usable keypair while traffic wants one, or the current
   * keypair is due for rekey; in both cases only once the retry backoff has elapsed, and not while a
   * handshake the peer just made with us awaits its confirming packet.
   */
  handshakeDue(now: number): boolean {
    if (this.attempts > 0 && now < this.nextRetryAt) return false;
    if (this.next !== undefined && now - this.next.createdAt < this.params.confirmTimeoutMs) return false;
    const kp = this.sendKeypair(now);
    if (kp === undefined) return now - this.wantedAt <= this.params.wantTimeoutMs;
    return (now >= this.rekeyAt && this.carries(kp)) || kp.sendCounter >= this.params.rekeyAfterMessages;
  }

  /**
   * Whether `kp` sealed anything beyond its confirmation. Only a keypair in use is renewed, as in
   * WireGuard (which rekeys on a send after REKEY_AFTER_TIME): an idle session simply expires at
   * rejectAfterMs, and traffic after that starts a handshake again. Renewed on a timer alone, every
   * session that ever carried a packet (an ssh login, a ping of every member) was rekeyed every two
   * minutes for the daemon's lifetime: in an idle 100-daemon lab, after one round of pings between
   * all pairs, handshakes were ~130 B/s per node, a tenth of the control-traffic budget.
   */
  private carries(kp: DataKeypair): boolean {
    return kp.sendCounter > this.confirmedSends;
  }

  /** Installs a keypair from our own completed initiation: it becomes current at once. */
  installInitiated(kp: DataKeypair): void {
    // A `next` from the peer's crossing initiation stays receivable: the peer sends with it.
    if (this.next !== undefined) this.previous.push(this.next);
    this.next = undefined;
    this.makeCurrent(kp);
  }

  /** Installs a keypair we made as responder: receivable now, sendable once confirmed. */
  installResponded(kp: DataKeypair): void {
    // An older unconfirmed `next` is dead: its initiator has moved on to the newer initiation.
    if (this.next !== undefined) this.release(this.next);
    this.next = kp;
  }

  /** A packet authenticated with `kp`: if it is our pending `next`, the peer has it, so send with it. */
  confirmReceived(kp: DataKeypair): void {
    if (kp !== this.next) return;
    this.next = undefined;
    this.makeCurrent(kp);
  }

  /** Drops expired keypairs and a stale pending initiation. */
  expire(now: number): void {
    if (this.current?.isExpired(now)) {
      this.release(this.current);
      this.current = undefined;
      this.rekeyAt = Infinity;
    }
    if (this.next?.isExpired(now)) {
      this.release(this.next);
      this.next = undefined;
    }
    const live = this.previous.filter((kp) => !kp.isExpired(now));
    for (const kp of this.previous) if (!live.includes(kp)) this.release(kp);
    this.previous = live;
  }

  /**
   * The earliest time at which tick() has work for this session (an expiry, a stale initiation, a
   * retry, a rekey, the end of a confirmation wait), Infinity for none. May be early (a tick then
   * finds nothing to do), never late: the daemon sleeps until the earliest of these.
   */
  nextDueAt(now: number): number {
    const p = this.params;
    let t = Infinity;
    for (const kp of this.keypairs()) t = Math.min(t, kp.createdAt + p.rejectAfterMs);
    if (this.pending !== undefined) t = Math.min(t, this.pending.createdAt + p.pendingTimeoutMs);
    if (this.pending !== undefined && this.repeatAt !== undefined) t = Math.min(t, this.repeatAt);
    const kp = this.sendKeypair(now);
    const wanted = kp === undefined && now - this.wantedAt <= p.wantTimeoutMs;
    if (!wanted && kp === undefined) return t;
    let due = kp === undefined || kp.sendCounter >= p.rekeyAfterMessages ? now : this.rekeyAt;
    // Past its rekey time an idle keypair is looked at every rekeyIdleCheckMs until it expires: the
    // data plane seals without telling us, so traffic that resumes is seen on the next look. The looks
    // are on one grid for all sessions (multiples of the interval), so that the hundred idle sessions
    // an all-pairs ping leaves behind cost one wake-up per interval, not one each.
    if (kp !== undefined && now >= due && !this.carries(kp))
      due = (Math.floor(now / p.rekeyIdleCheckMs) + 1) * p.rekeyIdleCheckMs;
    if (this.attempts > 0) due = Math.max(due, this.nextRetryAt);
    if (this.next !== undefined) due = Math.max(due, this.next.createdAt + p.confirmTimeoutMs);
    return Math.min(t, due);
  }

  /** Every keypair (for teardown). */
  keypairs(): DataKeypair[] {
    const all = [...this.previous];
    if (this.current !== undefined) all.push(this.current);
    if (this.next !== undefined) all.push(this.next);
    return all;
  }

  stats(now: number): PeerSessionStats {
    const kp = this.sendKeypair(now);
    return {
      established: kp !== undefined,
      sessionAgeMs: kp === undefined ? undefined : now - kp.createdAt,
      lastHandshakeAt: this.lastHandshakeAt,
      handshakeAttempts: this.attempts,
      lastHandshakeTookMs: this.lastRoundMs,
    };
  }

  private makeCurrent(kp: DataKeypair): void {
    if (this.current !== undefined) this.previous.push(this.current);
    this.current = kp;
    while (this.previous.length > this.params.maxPreviousKeypairs) {
      this.release(this.previous.shift() as DataKeypair);
    }
    const p = this.params;
    const after = kp.isInitiator ? p.rekeyAfterMs : p.rekeyAfterMs + p.responderRekeyExtraMs;
    this.rekeyAt = kp.createdAt + jittered(after, p.rekeyJitter, this.random);
    // The initiator confirms its new keys with a keepalive right after this (control-channel.ts).
    this.confirmedSends = kp.sendCounter + (kp.isInitiator ? 1 : 0);
    this.attempts = 0;
    if (kp.isInitiator && this.roundStartedAt !== undefined)
      this.lastRoundMs = kp.createdAt - this.roundStartedAt;
    this.roundStartedAt = undefined;
    // The handshake completed when the keypair was derived, even if confirmation came later.
    this.lastHandshakeAt = kp.createdAt;
  }
}
