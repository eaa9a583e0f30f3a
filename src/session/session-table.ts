// All sessions of this node, sans I/O: the data plane feeds it handshake bodies and Data packets with
// the current monotonic time, and sends what it returns. Nothing here reads a clock (except the injected
// wall clock for handshake timestamps) or touches a socket.
//
// Handshake flow (the data plane writes and parses the routed header around each body):
//   1. tick(now) lists peers due for a handshake; createInitiation(peer) returns a HandshakeInit body.
//   2. The responder's consumeInitiation(src, body, source) runs the initiation guard (mac1, replay
//      filter, load and mac2, budgets: initiation-guard.ts), then Noise, then the per-member budget, and
//      returns a HandshakeResponse body to send back. It keeps the new keypair unconfirmed: it will not
//      send with it until a packet arrives on it. Under load, an initiation without a valid mac2 is
//      refused with a CookieReply body to send back instead.
//   2'. The initiator's consumeCookieReply(src, body) keeps the cookie and asks for a fresh initiation
//      at once, which carries mac2 (if the cookie is new to that initiation, at most twice per
//      scheduled attempt; otherwise the retry timer goes on).
//   3. The initiator's consumeResponse(src, body, source) makes the keypair current; the data plane must
//      then send a Keepalive on it at once, which confirms it at the responder.
// Data: seal(peer, ...) seals with the current keypair; open(buf, ...) finds the keypair by the packet's
// receiverIndex, checks that it belongs to the header's src, opens, and confirms a pending keypair.
import type { KeyPair } from '../identity/keys.js';
import type { NodeId } from '../identity/node-id.js';
import { AEAD_TAG_BYTES } from '../wire/constants.js';
import { COOKIE_REPLY_BODY_BYTES, cookieReplyIndex, openCookieReply } from './cookie-reply.js';
import {
  InitiatorHandshake,
  readU32,
  RESPONSE_BODY_BYTES,
  RESPONSE_MAC1_OFFSET,
  ResponderHandshake,
} from './handshake.js';
import type { SessionKeys } from './handshake.js';
import {
  reject,
  type CookieResult,
  type HandshakeSource,
  type HandshakeStats,
  type InitiationResult,
  type ResponseResult,
} from './handshake-result.js';
import { IndexMap } from './index-map.js';
import { InitiationGuard } from './initiation-guard.js';
import { DATA_AD_BYTES, DataKeypair, OpenError, SEAL_REFUSED } from './keypair.js';
import { mac1Key, verifyMac } from './mac.js';
import {
  cryptoRandom,
  sessionParams,
  type HandshakeGuardParams,
  type RandomSource,
  type SessionParams,
  type SessionParamsInput,
} from './params.js';
import { PeerSession, type PeerSessionStats } from './peer-session.js';
import { RateLimiter } from './rate-limiter.js';
import { compareTai64n, TimestampSource } from './timestamp.js';

/** Immediate retries cookie replies may cause per scheduled initiation. */
const MAX_COOKIE_RETRIES = 2;

export interface PeerKey {
  id: NodeId;
  publicKey: Buffer;
}

/** See SessionTable.handshakeLoad. */
export type HandshakeLoadParams = Pick<
  HandshakeGuardParams,
  'underLoad' | 'underLoadHoldMs' | 'cookiesToStrangers'
> & { self: NodeId; mac1Key: Buffer; cookieSecrets: Uint8Array };

export interface SessionTableOptions {
  localKeyPair: KeyPair;
  localId: NodeId;
  /** Members we accept handshakes from (our own entry, if listed, is skipped). */
  peers: Iterable<PeerKey>;
  params?: SessionParamsInput;
  /** Wall clock in ms since the epoch, only for handshake timestamps. Default Date.now. */
  wallClock?: () => number;
  /** Float in [0, 1) for jitter and indices. Default: libsodium's CSPRNG. */
  random?: RandomSource;
}

export class SessionTable {
  readonly localId: NodeId;
  readonly params: SessionParams;
  private readonly localKeyPair: KeyPair;
  /** mac1 key for messages sent to us. */
  private readonly localMac1Key: Buffer;
  private readonly random: RandomSource;
  private readonly timestamps: TimestampSource;
  private readonly guard: InitiationGuard;
  /** Responses have a budget of their own: an initiation flood does not spend it. */
  private readonly responseLimiter: RateLimiter;
  private readonly indices: IndexMap;
  private responderDh = 0;
  private initiatorDh = 0;
  private cookiesAccepted = 0;
  private readonly peersById = new Map<NodeId, PeerSession>();
  private readonly peersByKey = new Map<string, PeerSession>();
  /** Cached nextWakeAt(): exact after tick(), lowered by every change since; undefined = recompute. */
  private wakeAt: number | undefined;
  /** See repeatsDue. */
  private repeats: { peer: NodeId; body: Buffer }[] = [];

  constructor(opts: SessionTableOptions) {
    this.localKeyPair = opts.localKeyPair;
    this.localId = opts.localId;
    this.params = sessionParams(opts.params);
    this.random = opts.random ?? cryptoRandom;
    this.timestamps = new TimestampSource(opts.wallClock ?? Date.now);
    this.responseLimiter = new RateLimiter(this.params.rateLimit);
    this.indices = new IndexMap(this.random);
    this.localMac1Key = mac1Key(this.localKeyPair.publicKey);
    this.guard = new InitiationGuard(this.params, this.localKeyPair.publicKey, this.localMac1Key);
    this.setPeers(opts.peers);
  }

  /** Reloads the member list: adds new peers, drops removed ones (zeroing their keys), keeps the rest. */
  setPeers(peers: Iterable<PeerKey>): void {
    const wanted = new Map<NodeId, PeerKey>();
    for (const p of peers) {
      if (p.id !== this.localId && !p.publicKey.equals(this.localKeyPair.publicKey)) wanted.set(p.id, p);
    }
    for (const [id, session] of this.peersById) {
      const p = wanted.get(id);
      if (p === undefined || !p.publicKey.equals(session.publicKey)) this.dropPeer(session);
    }
    for (const [id, p] of wanted) {
      if (this.peersById.has(id)) continue;
      const session = new PeerSession(id, Buffer.from(p.publicKey), this.params, this.random, (kp) =>
        this.releaseKeypair(kp),
      );
      this.peersById.set(id, session);
      this.peersByKey.set(session.publicKey.toString('hex'), session);
    }
    this.wakeAt = undefined;
  }

  /**
   * Starts a fresh handshake with `peer` and returns the HandshakeInit body (owned by the caller), with
   * mac2 if we hold a fresh cookie from the peer. A previous pending initiation is abandoned. Counts as
   * an attempt for the retry backoff unless `countAttempt` is false (the retry a cookie reply asks for:
   * the backoff stays as the cookie's trigger set it). `roundTripMs`: the round trip of the route the
   * initiation takes, when known (no retry before its response could be back). Throws RangeError for
   * a peer not in the table.
   */
  createInitiation(peer: NodeId, now: number, countAttempt = true, roundTripMs = 0): Buffer {
    const session = this.mustGet(peer);
    this.dropPending(session);
    const index = this.indices.allocate(session);
    const hs = new InitiatorHandshake(
      this.localKeyPair,
      session.publicKey,
      index,
      this.timestamps.next(),
      session.mac1Key,
      session.freshCookie(now),
    );
    session.pending = { handshake: hs, createdAt: now, cookieTaken: false };
    if (countAttempt) session.noteInitiationSent(now, roundTripMs);
    this.changed(session, now);
    return hs.body;
  }

  /**
   * Processes a HandshakeInit body that claims to come from member `src`, received from `source`. On
   * success returns the HandshakeResponse body to send back the way it came; a refusal may carry a
   * CookieReply body to send back instead. Never throws on bad input.
   */
  consumeInitiation(src: NodeId, body: Uint8Array, source: HandshakeSource, now: number): InitiationResult {
    const admission = this.guard.beforeDh(src, body, source, now);
    if (!admission.ok) return admission;
    this.responderDh++;
    const hs = ResponderHandshake.read(this.localKeyPair, body);
    if (hs === null) return reject('bad-handshake');
    const session = this.peersByKey.get(hs.remoteStatic.toString('hex'));
    if (session === undefined) return reject('unknown-key');
    if (session.id !== src) return reject('id-mismatch');
    if (session.lastTimestamp !== undefined && compareTai64n(hs.timestamp, session.lastTimestamp) <= 0) {
      return reject('replayed-handshake');
    }
    const throttled = this.guard.afterDh(session.id, now);
    if (throttled !== undefined) return throttled;
    const index = this.indices.allocate(session);
    const made = hs.respond(index, session.mac1Key);
    if (made === null) {
      this.indices.release(index);
      return reject('bad-handshake');
    }
    session.lastTimestamp = hs.timestamp;
    const kp = this.makeKeypair(made.keys, index, hs.senderIndex, false, now);
    session.installResponded(kp);
    this.changed(session, now);
    return { ok: true, peer: session.id, response: made.body };
  }

  /**
   * Processes a HandshakeResponse body from `src`. On success the new keypair is current: the data
   * plane should send a Keepalive to `src` right away so the responder can start using it.
   */
  consumeResponse(src: NodeId, body: Uint8Array, source: HandshakeSource, now: number): ResponseResult {
    if (body.byteLength < RESPONSE_BODY_BYTES) return reject('truncated');
    if (body.byteLength > RESPONSE_BODY_BYTES) return reject('oversized');
    const receiverIndex = readU32(body, 4);
    const entry = this.indices.get(receiverIndex);
    const pending = entry?.peer.pending;
    if (entry === undefined || entry.keypair !== null || pending?.handshake.localIndex !== receiverIndex) {
      return reject('unknown-index');
    }
    if (entry.peer.id !== src) return reject('id-mismatch');
    if (!verifyMac(body, RESPONSE_MAC1_OFFSET, this.localMac1Key)) return reject('bad-mac');
    if (!this.responseLimiter.allow(source.host, now)) return reject('rate-limited');
    this.initiatorDh++;
    const done = pending.handshake.readResponse(body);
    if (done === null) return reject('bad-handshake');
    const session = entry.peer;
    session.pending = undefined;
    const kp = this.makeKeypair(done.keys, receiverIndex, done.senderIndex, true, now);
    session.installInitiated(kp);
    this.changed(session, now);
    return { ok: true, peer: session.id };
  }

  /**
   * Processes a CookieReply body from `src`: accepted only for the initiation we have pending with that
   * index, once, and only if it decrypts with the mac1 we sent. `retry` asks the data plane for a fresh
   * initiation at once (it will carry mac2 with the new cookie). Anything else is dropped and changes
   * nothing.
   */
  consumeCookieReply(src: NodeId, body: Uint8Array, now: number): CookieResult {
    if (body.byteLength < COOKIE_REPLY_BODY_BYTES) return reject('truncated');
    if (body.byteLength > COOKIE_REPLY_BODY_BYTES) return reject('oversized');
    const index = cookieReplyIndex(body);
    const entry = this.indices.get(index);
    const pending = entry?.peer.pending;
    if (entry === undefined || pending?.handshake.localIndex !== index || pending.cookieTaken) {
      return reject('unsolicited-cookie');
    }
    if (entry.peer.id !== src) return reject('id-mismatch');
    const cookie = openCookieReply(body, entry.peer.cookieReplyKey, pending.handshake.mac1);
    if (cookie === null) return reject('bad-cookie');
    pending.cookieTaken = true;
    const session = entry.peer;
    session.setCookie(cookie, now);
    this.cookiesAccepted++;
    // A new cookie (none before, or our address on this path differs from the one the old cookie was
    // for) is worth an immediate retry; the same one again means our mac2 was refused for another
    // reason, and the retry timer will do. The cap bounds a NAT that changes our port every packet.
    const changed =
      pending.handshake.mac2Cookie === undefined || !pending.handshake.mac2Cookie.equals(cookie);
    const retry = changed && session.cookieRetries < MAX_COOKIE_RETRIES;
    if (retry) session.cookieRetries++;
    return { ok: true, peer: src, retry };
  }

  /** Handshake work done so far (see HandshakeStats). */
  handshakeStats(): HandshakeStats {
    return {
      responderDh: this.responderDh,
      initiatorDh: this.initiatorDh,
      cookieRepliesSent: this.guard.cookieReplies,
      cookiesAccepted: this.cookiesAccepted,
    };
  }

  /** True while initiations arrive faster than the guard's threshold (mac2 required). */
  underLoad(now: number): boolean {
    return this.guard.underLoad(now);
  }

  /**
   * What a transport needs to run the guard's first steps natively (Transport.handshakeLoad): our id
   * and mac1 key, the guard's load and strangers' cookie parameters, and its cookie secrets, which stay
   * the guard's and rotate in place.
   */
  handshakeLoad(): HandshakeLoadParams {
    const { underLoad, underLoadHoldMs, cookiesToStrangers } = this.params.guard;
    return {
      self: this.localId,
      mac1Key: this.localMac1Key,
      cookieSecrets: this.guard.cookieSecrets,
      underLoad,
      underLoadHoldMs,
      cookiesToStrangers,
    };
  }

  /** The keypair to seal with for `peer`: the newest confirmed one that can still send. */
  sendKeypair(peer: NodeId, now: number): DataKeypair | undefined {
    return this.peersById.get(peer)?.sendKeypair(now);
  }

  /** Finds a keypair (current, previous or pending-confirmation) by our receiver index. */
  receiveKeypair(receiverIndex: number): { peer: NodeId; keypair: DataKeypair } | undefined {
    const entry = this.indices.get(receiverIndex);
    if (entry === undefined || entry.keypair === null) return undefined;
    return { peer: entry.peer.id, keypair: entry.keypair };
  }

  /** Call after `keypair.open` succeeded: a responder's unconfirmed keypair becomes the one we send with. */
  confirmReceived(peer: NodeId, keypair: DataKeypair): void {
    this.peersById.get(peer)?.confirmReceived(keypair);
  }

  /**
   * Seals a Data packet to `peer` with its send keypair (see DataKeypair.seal for the layout and buffer
   * rules). Returns the end offset, or SEAL_REFUSED if there is no usable keypair; then the peer is
   * marked as wanting a handshake, and the caller should queue or drop the packet.
   */
  seal(
    peer: NodeId,
    out: Buffer,
    addrOffset: number,
    plaintext: Uint8Array,
    now: number,
    pathFlags: number,
  ): number {
    const session = this.peersById.get(peer);
    if (session === undefined) return SEAL_REFUSED;
    const kp = session.sendKeypair(now);
    const end = kp === undefined ? SEAL_REFUSED : kp.seal(out, addrOffset, plaintext, now, pathFlags);
    if (end === SEAL_REFUSED) {
      session.noteWantToSend(now);
      this.changed(session, now);
    }
    return end;
  }

  /**
   * Opens the Data packet buf[0, length) in place: looks up receiverIndex, checks the keypair belongs
   * to the header's src, authenticates, decrypts, and confirms a pending keypair. Returns the plaintext
   * length (plaintext at addrOffset + 20) or a negative OpenError. Never throws on bad input.
   * `pathFlags`: what the packet's routeLen implies (see DataKeypair.open).
   */
  open(buf: Buffer, addrOffset: number, length: number, now: number, pathFlags: number): number {
    if (addrOffset < 0 || length > buf.byteLength || length < addrOffset + DATA_AD_BYTES + AEAD_TAG_BYTES) {
      return OpenError.Truncated;
    }
    const entry = this.indices.get(buf.readUInt32BE(addrOffset + 8));
    if (entry === undefined || entry.keypair === null) return OpenError.UnknownIndex;
    if (buf.readUInt32BE(addrOffset) !== entry.peer.id) return OpenError.WrongSource;
    const n = entry.keypair.open(buf, addrOffset, length, now, pathFlags);
    if (n >= 0) entry.peer.confirmReceived(entry.keypair);
    return n;
  }

  /** The data plane has traffic for `peer` (keeps handshakes going while it has no keypair). */
  noteWantToSend(peer: NodeId, now: number): void {
    const session = this.peersById.get(peer);
    if (session === undefined) return;
    session.noteWantToSend(now);
    this.changed(session, now);
  }

  /** Routing has a new path to `peer`: see PeerSession.notePathChanged. */
  notePathChanged(peer: NodeId, now: number): void {
    const session = this.peersById.get(peer);
    if (session === undefined) return;
    session.notePathChanged(now);
    this.changed(session, now);
  }

  /** True if an initiation to `peer` should be sent now (see PeerSession.handshakeDue). */
  handshakeDue(peer: NodeId, now: number): boolean {
    return this.peersById.get(peer)?.handshakeDue(now) ?? false;
  }

  /**
   * Housekeeping, a few times per second: zeroes and forgets expired keypairs and stale initiations,
   * and returns the peers that need an initiation now (call createInitiation for each).
   */
  tick(now: number): NodeId[] {
    const due: NodeId[] = [];
    this.repeats = [];
    for (const session of this.peersById.values()) {
      session.expire(now);
      if (session.pending !== undefined && now - session.pending.createdAt >= this.params.pendingTimeoutMs) {
        this.dropPending(session);
      }
      if (session.handshakeDue(now)) due.push(session.id);
      else if (session.takeRepeat(now))
        this.repeats.push({ peer: session.id, body: session.pending!.handshake.body });
    }
    this.guard.sweep(now);
    this.responseLimiter.sweep(now);
    // The caller sends an initiation to each due peer (createInitiation lowers wakeAt again).
    this.wakeAt = this.earliestDue(now, due);
    return due;
  }

  /**
   * The retry copies the last tick() found due (SessionParams.retryRepeatMs): the caller sends each body
   * again the way it sent the original. Cleared by the next tick().
   */
  repeatsDue(): readonly { peer: NodeId; body: Buffer }[] {
    return this.repeats;
  }

  /**
   * When tick() next has work (monotonic ms), Infinity for none: the daemon's scheduler sleeps until
   * the earliest of this and the prober's and router's. Never late; early only after a change that
   * postponed something (a tick then finds nothing and computes the exact time again).
   */
  nextWakeAt(now: number): number {
    this.wakeAt ??= this.earliestDue(now, []);
    return this.wakeAt;
  }

  /** Operator view of the session with `peer`, or undefined if it is not a member. */
  stats(peer: NodeId, now: number): PeerSessionStats | undefined {
    return this.peersById.get(peer)?.stats(now);
  }

  /** Member ids known to the table. */
  peers(): NodeId[] {
    return [...this.peersById.keys()];
  }

  /** Zeroes every key and forgets all peers (shutdown). */
  close(): void {
    for (const session of [...this.peersById.values()]) this.dropPeer(session);
  }

  private makeKeypair(
    keys: SessionKeys,
    localIndex: number,
    remoteIndex: number,
    isInitiator: boolean,
    now: number,
  ): DataKeypair {
    const p = this.params;
    const kp = new DataKeypair({
      sendKey: keys.send,
      receiveKey: keys.receive,
      localIndex,
      remoteIndex,
      createdAt: now,
      isInitiator,
      rejectAfterMs: p.rejectAfterMs,
      rejectAfterMessages: p.rejectAfterMessages,
      replayWindowBits: p.replayWindowBits,
    });
    this.indices.bind(localIndex, kp);
    return kp;
  }

  private earliestDue(now: number, skip: readonly NodeId[]): number {
    let t = Infinity;
    for (const session of this.peersById.values())
      if (!skip.includes(session.id)) t = Math.min(t, session.nextDueAt(now));
    return t;
  }

  /** Something about `session` changed: its next due time may now be the earliest. */
  private changed(session: PeerSession, now: number): void {
    if (this.wakeAt !== undefined) this.wakeAt = Math.min(this.wakeAt, session.nextDueAt(now));
  }

  private releaseKeypair(kp: DataKeypair): void {
    kp.destroy();
    if (this.indices.get(kp.localIndex)?.keypair === kp) this.indices.release(kp.localIndex);
  }

  private dropPending(session: PeerSession): void {
    const pending = session.pending;
    if (pending === undefined) return;
    pending.handshake.destroy();
    this.indices.release(pending.handshake.localIndex);
    session.pending = undefined;
  }

  private dropPeer(session: PeerSession): void {
    this.dropPending(session);
    for (const kp of session.keypairs()) this.releaseKeypair(kp);
    session.current = undefined;
    session.next = undefined;
    session.previous = [];
    this.peersById.delete(session.id);
    this.peersByKey.delete(session.publicKey.toString('hex'));
  }

  private mustGet(peer: NodeId): PeerSession {
    const session = this.peersById.get(peer);
    if (session === undefined) throw new RangeError(`peer ${peer} is not a member`);
    return session;
  }
}
