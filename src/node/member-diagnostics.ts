// The events an operator asks about afterwards, per member, logged once each (EventLog: structured and
// rate-limited) and kept for `status` and the metrics:
//
//   link-up / link-down            the direct link, with the measurement that decided it
//   endpoint-learned / -changed    the underlay address the direct link uses (old → new)
//   handshake-completed            a session (re)keyed, either side initiating
//   handshake-failed reason=…      no-reply (an initiation was given up for the next), key-rejected
//                                  (the member's handshake failed mac1 or Noise with our key, or
//                                  presented a key that isn't its own), rate-limited, malformed
//   session-expired                the keys ran out and no handshake replaced them
//   duplicate-key-suspected        two sessions at two addresses take turns (duplicate-key.ts)
//
// Failures reported by the data plane (ForwardObserver) arrive as they happen; the rest is read by
// polling the prober and the session table every POLL_MS, which keeps those cores free of hooks.
// Whom a rejected handshake is charged to comes from its cleartext header, so a forger can make a
// member look "key rejected" — only in diagnostics, never in what the daemon does.
import type { ForwardObserver } from '../forward/observer.js';
import type { NodeId } from '../identity/node-id.js';
import type { EventLog, LogLevel } from '../log.js';
import type { LinkView } from '../probe/link-view.js';
import type { HandshakeRejectReason } from '../session/handshake-result.js';
import type { PeerSessionStats } from '../session/peer-session.js';
import { DuplicateKeyDetector, type DuplicateKeySuspicion } from './duplicate-key.js';

/** An event is logged at most this late; each poll walks every member (a link view and session stats). */
export const POLL_MS = 500;

/** Why a handshake with a member failed. A bounded set: it is a metric label. */
export type HandshakeFailureReason =
  | 'no-reply'
  | 'key-rejected'
  | 'rate-limited'
  | 'malformed'
  | 'cookie' // the responder is under load and asked for a cookie round trip (or a cookie reply was bad)
  | 'replayed' // a copy of an initiation already accepted (sent to every endpoint at once, or replayed)
  | 'stale'; // a response to an initiation we had already given up

export const HANDSHAKE_FAILURE_REASONS: readonly HandshakeFailureReason[] = [
  'no-reply',
  'key-rejected',
  'rate-limited',
  'malformed',
  'cookie',
  'replayed',
  'stale',
];

const CATEGORY: Record<HandshakeRejectReason, HandshakeFailureReason> = {
  truncated: 'malformed',
  oversized: 'malformed',
  'unknown-index': 'stale',
  'bad-mac': 'key-rejected',
  'rate-limited': 'rate-limited',
  'bad-handshake': 'key-rejected',
  'unknown-key': 'key-rejected',
  'id-mismatch': 'key-rejected',
  'replayed-handshake': 'replayed',
  'replayed-initiation': 'replayed',
  'cookie-required': 'cookie',
  'cookie-rate-limited': 'cookie',
  'cookie-filtered': 'cookie',
  'unsolicited-cookie': 'cookie',
  'bad-cookie': 'cookie',
  'relay-rate-limited': 'rate-limited',
  'member-rate-limited': 'rate-limited',
};

/** Failures that say something is wrong (logged, shown in status); the others happen in normal operation. */
const NOTEWORTHY: Record<HandshakeFailureReason, LogLevel | undefined> = {
  'no-reply': 'info',
  'key-rejected': 'warn',
  'rate-limited': 'warn',
  malformed: 'info',
  // Under load the first try of every initiator is answered with a cookie: normal, but worth a line.
  cookie: 'info',
  replayed: undefined,
  stale: undefined,
};

export interface HandshakeFailure {
  reason: HandshakeFailureReason;
  /** The session layer's own reason (bad-mac, unknown-key…), when it came from a rejected message. */
  detail?: string;
  at: number;
}

/** What the diagnostics read; OverlayNode's components fit as they are. */
export interface DiagnosticsSources {
  members(): Iterable<NodeId>;
  nameOf(id: NodeId): string;
  link(id: NodeId): LinkView | undefined;
  session(id: NodeId, now: number): PeerSessionStats | undefined;
}

interface Seen {
  alive: boolean;
  endpoint: string | undefined;
  established: boolean;
  lastHandshakeAt: number | undefined;
  attempts: number;
}

export class MemberDiagnostics implements ForwardObserver {
  private readonly failures = new Map<NodeId, Map<HandshakeFailureReason, number>>();
  private readonly lastFailures = new Map<NodeId, HandshakeFailure>();
  private readonly duplicates = new DuplicateKeyDetector();
  /** Duplicate-key episodes per member since start. */
  readonly duplicateSuspicions = new Map<NodeId, number>();
  private readonly seen = new Map<NodeId, Seen>();
  private nextPollAt = -Infinity;

  constructor(
    private readonly src: DiagnosticsSources,
    private readonly events: EventLog,
  ) {}

  // ---- from the data plane --------------------------------------------------------------------

  handshakeRejected(src: NodeId, reason: string, now: number): void {
    const category = (CATEGORY as Record<string, HandshakeFailureReason | undefined>)[reason];
    this.fail(src, category ?? 'malformed', now, reason);
  }

  dataFrom(member: NodeId, key: string, receiverIndex: number, now: number): void {
    const s = this.duplicates.seen(member, key, receiverIndex, now);
    if (s === undefined) return;
    this.duplicateSuspicions.set(member, (this.duplicateSuspicions.get(member) ?? 0) + 1);
    this.events.emit(
      'error',
      'duplicate-key-suspected',
      this.src.nameOf(member),
      {
        addresses: s.addresses.join(','),
        returns: s.returns,
      },
      `DUPLICATE KEY suspected for ${this.src.nameOf(member)}: two sessions, from ` +
        `${s.addresses.join(' and ')} in turn; two machines hold its private key (cloned VM?), give each its own key`,
    );
  }

  // ---- read side ------------------------------------------------------------------------------

  /** Failures per reason for `member` since start. */
  failureCounts(member: NodeId): ReadonlyMap<HandshakeFailureReason, number> {
    return this.failures.get(member) ?? new Map();
  }

  /** The last noteworthy failure, if it happened after the last completed handshake. */
  lastFailure(member: NodeId, now: number): HandshakeFailure | undefined {
    const f = this.lastFailures.get(member);
    const done = this.src.session(member, now)?.lastHandshakeAt;
    return f && (done === undefined || f.at > done) ? f : undefined;
  }

  duplicateKey(member: NodeId, now: number): DuplicateKeySuspicion | undefined {
    return this.duplicates.suspected(member, now);
  }

  forget(member: NodeId): void {
    this.failures.delete(member);
    this.lastFailures.delete(member);
    this.duplicates.forget(member);
    this.duplicateSuspicions.delete(member);
    this.seen.delete(member);
  }

  // ---- polling --------------------------------------------------------------------------------

  /** The node's tick; compares the prober's and the session table's view with the last poll's. */
  tick(now: number): void {
    if (now < this.nextPollAt) return;
    this.nextPollAt = now + POLL_MS;
    for (const id of this.src.members()) this.poll(id, now);
  }

  private poll(id: NodeId, now: number): void {
    let was = this.seen.get(id);
    if (was === undefined) {
      was = {
        alive: false,
        endpoint: undefined,
        established: false,
        lastHandshakeAt: undefined,
        attempts: 0,
      };
      this.seen.set(id, was);
    }
    const name = this.src.nameOf(id);
    const link = this.src.link(id);
    const alive = link?.alive ?? false;
    if (alive && link && link.endpointKey !== was.endpoint) {
      if (was.endpoint === undefined)
        this.events.emit('info', 'endpoint-learned', name, { endpoint: link.endpointKey });
      else this.events.emit('warn', 'endpoint-changed', name, { from: was.endpoint, to: link.endpointKey });
      was.endpoint = link.endpointKey;
    }
    if (alive !== was.alive) {
      if (alive && link) {
        this.events.emit('info', 'link-up', name, {
          endpoint: link.endpointKey,
          srtt_ms: link.srttMs,
          loss: link.lossRatio,
        });
      } else {
        this.events.emit('warn', 'link-down', name, {
          endpoint: was.endpoint,
          probes_lost: link?.consecutiveLost,
          loss: link?.lossRatio,
          last_srtt_ms: link?.srttMs,
          why: link ? undefined : 'no longer probed',
        });
      }
      was.alive = alive;
    }
    const st = this.src.session(id, now);
    if (st === undefined) return;
    if (st.lastHandshakeAt !== undefined && st.lastHandshakeAt !== was.lastHandshakeAt) {
      this.events.emit('info', 'handshake-completed', name, { attempts: was.attempts || undefined });
      was.lastHandshakeAt = st.lastHandshakeAt;
    } else if (st.handshakeAttempts > was.attempts && was.attempts > 0) {
      // A new initiation abandons the pending one: that one got no reply in time.
      this.fail(id, 'no-reply', now, undefined, st.handshakeAttempts - was.attempts, st.handshakeAttempts);
    }
    was.attempts = st.handshakeAttempts;
    if (was.established && !st.established) this.events.emit('warn', 'session-expired', name);
    was.established = st.established;
  }

  private fail(
    id: NodeId,
    reason: HandshakeFailureReason,
    now: number,
    detail?: string,
    count = 1,
    attempts?: number,
  ): void {
    let m = this.failures.get(id);
    if (m === undefined) {
      m = new Map();
      this.failures.set(id, m);
    }
    m.set(reason, (m.get(reason) ?? 0) + count);
    const level = NOTEWORTHY[reason];
    if (level === undefined) return;
    this.lastFailures.set(id, { reason, detail, at: now });
    this.events.emit(level, 'handshake-failed', this.src.nameOf(id), { reason, detail, attempts });
  }
}
