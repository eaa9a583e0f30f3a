// Timer and limit constants of the session layer, gathered in one object so tests and the simulator can
// shrink them. The defaults follow WireGuard (REKEY_AFTER_TIME, REJECT_AFTER_TIME, REKEY_TIMEOUT) except
// where noted.
import sodium from 'sodium-native';

export interface RateLimitParams {
  /** Handshakes per second allowed from one rate key (a source IP, say). */
  perKeyPerSecond: number;
  /** Handshakes one key may send back to back before the per-second rate applies. */
  perKeyBurst: number;
  /**
   * Handshakes per second accepted from everyone together, per lane (the initiation guard keeps
   * members' proven addresses in a lane apart from all others): bounds the DH work a flood can cause.
   */
  globalPerSecond: number;
  globalBurst: number;
  /** Keys remembered at most; the least recently used are forgotten first. */
  maxKeys: number;
}

/** A token bucket: `perSecond` refill, at most `burst` tokens (a fresh bucket starts full). */
export interface BucketRate {
  perSecond: number;
  burst: number;
}

/**
 * The defences of the responder against handshake floods (see initiation-guard.ts for the order they
 * run in). Every table has a cap and an expiry.
 */
export interface HandshakeGuardParams {
  /**
   * Initiations per second (after mac1 and the replay filter) above which we are "under load": then an
   * initiation without a valid mac2 gets a cookie reply instead of a Diffie-Hellman.
   */
  underLoad: BucketRate;
  /** We stay under load this long after the rate last went over (WireGuard: 1 s). */
  underLoadHoldMs: number;
  /** The cookie secret is replaced this often; the previous one stays valid one more period. */
  cookieRotationMs: number;
  /**
   * An initiator uses a cookie this long after receiving it. Below cookieRotationMs, so a cookie is
   * never used after the responder has stopped accepting it (it accepts one for ≥ one rotation period).
   */
  cookieLifetimeMs: number;
  /** mac1 values of recent initiations, so a replay costs a hash and a lookup (cap, expiry). */
  seenInitiations: number;
  /** mac1 values of initiations that reached Diffie-Hellman: a separate set junk cannot flush. */
  admittedInitiations: number;
  /** How long both replay sets remember a mac1: two cookie periods, as long as its mac2 can be valid. */
  replayMemoryMs: number;
  /** Relayed initiations, per (relay, claimed source member); their own budget, apart from direct. */
  relayedPerPair: BucketRate;
  /** Relayed initiations per relay, whatever sources it claims. */
  relayedPerRelay: BucketRate;
  /** All relayed initiations together. */
  relayedGlobal: BucketRate;
  /** Completed Diffie-Hellmans per member once its identity is known (any address, any path). */
  perMember: BucketRate;
  /** Cookie replies per destination IP: we are no reflector for a spoofed victim. */
  cookiesPerDestination: BucketRate;
  /** Cookie replies to addresses not proven to be members': bounds the work a spoofed flood can cause. */
  cookiesToStrangers: BucketRate;
  /** Cookie replies to members' proven addresses (a spoofer must know and use those addresses). */
  cookiesToMembers: BucketRate;
  /** Keys each keyed budget remembers at most (least recently used forgotten first). */
  maxKeys: number;
}

export interface SessionParams {
  /** The initiator of the current keypair starts a new handshake this long after it was made. */
  rekeyAfterMs: number;
  /**
   * A responder waits this much longer before rekeying itself, so normally only the initiator rekeys
   * and the two sides do not race (their jittered windows never overlap with the defaults).
   */
  responderRekeyExtraMs: number;
  /**
   * A keypair past its rekey time that carried nothing since it was confirmed is not renewed (it
   * expires at rejectAfterMs); it is looked at this often, so traffic that resumes renews it.
   */
  rekeyIdleCheckMs: number;
  /** Relative jitter on the rekey time (0.1 = ±10 %), so many peers do not rekey in lockstep. */
  rekeyJitter: number;
  /** No keypair seals or opens anything once this old; it is zeroed and forgotten. */
  rejectAfterMs: number;
  /** Rekey once this many packets were sealed with the current keypair. */
  rekeyAfterMessages: number;
  /** A keypair never seals, nor accepts, a counter at or above this (counters are JS numbers). */
  rejectAfterMessages: number;
  /**
   * Delay before retry n (the last entry repeats): 250 ms, 500 ms, 1 s, 2 s, 4 s, then every 8 s.
   * WireGuard waits 5 s; a flood that makes the kernel drop one initiation in three would then cost
   * seconds per handshake. The short first steps give three tries within a second, the doubling keeps
   * the total bounded (16 initiations over a 90 s want window, 19 at the shortest jitter; 14 and 17
   * with 1-2-4-8 s), and no retry
   * is caused by anything a stranger sends (a cookie reply's immediate retry has its own cap). A path
   * whose round trip exceeds a step orphans that try's response (the retry replaces it), so such a
   * path completes on the first try whose step exceeds its round trip: at most one doubling later.
   */
  retryDelaysMs: readonly number[];
  /** Relative jitter on each retry delay (0.2 = ±20 %). */
  retryJitter: number;
  /**
   * A retry (the second initiation of a round and later) is sent twice, the copy this long after the
   * first; 0 sends it once. A retry means something was lost, and under a flood the responder's full
   * socket queue drops ~40 % of what reaches it: one try in three then fails, two copies of it fail
   * together far less often, so a round gets through within the second a flood allows it. The copy is
   * the same bytes, the same try: its response completes the handshake as the first one's would (a
   * shorter retry step would instead orphan the responses of paths slower than the step). The spacing
   * lets the responder drain its queue between the copies; if both arrive, it drops the second as a
   * replay of a mac1 it has seen (in C, one lookup).
   */
  retryRepeatMs: number;
  /**
   * With no usable keypair we keep retrying only while the data plane wanted to send to the peer within
   * this window (WireGuard's REKEY_ATTEMPT_TIME): a dead, idle peer costs nothing.
   */
  wantTimeoutMs: number;
  /**
   * A keypair we made as responder waits for the initiator's first packet; while it is younger than
   * this we do not start our own handshake (the peer just did one), after that we stop waiting.
   */
  confirmTimeoutMs: number;
  /** An initiation without a response is forgotten (ephemeral key zeroed) after this long. */
  pendingTimeoutMs: number;
  /** Superseded keypairs kept receivable (until they expire) for packets still in flight. */
  maxPreviousKeypairs: number;
  /** Size of each keypair's replay bitmap in bits (a power of two, at least 64). */
  replayWindowBits: number;
  /**
   * Direct initiations per source IP, and per lane (members' proven addresses, other addresses) for
   * `global*`. Also handshake responses, in a limiter of their own.
   */
  rateLimit: RateLimitParams;
  guard: HandshakeGuardParams;
}

export const DEFAULT_RATE_LIMIT: Readonly<RateLimitParams> = Object.freeze({
  perKeyPerSecond: 20,
  perKeyBurst: 40,
  globalPerSecond: 500,
  globalBurst: 500,
  maxKeys: 4096,
});

export const DEFAULT_HANDSHAKE_GUARD: Readonly<HandshakeGuardParams> = Object.freeze({
  // A node whose 1000 members all rekey every 2 minutes sees ~8 initiations/s; 100/s is a flood or a
  // mass restart, and either way one extra round trip for a cookie is cheap.
  underLoad: { perSecond: 100, burst: 100 },
  underLoadHoldMs: 1000,
  cookieRotationMs: 120_000,
  cookieLifetimeMs: 110_000,
  seenInitiations: 32_768,
  admittedInitiations: 16_384,
  replayMemoryMs: 240_000,
  relayedPerPair: { perSecond: 5, burst: 10 },
  relayedPerRelay: { perSecond: 20, burst: 40 },
  relayedGlobal: { perSecond: 200, burst: 200 },
  // Rekeys every 2 minutes, retries, crossing initiations and restarts stay far below this.
  perMember: { perSecond: 5, burst: 20 },
  cookiesPerDestination: { perSecond: 5, burst: 10 },
  cookiesToStrangers: { perSecond: 2000, burst: 2000 },
  cookiesToMembers: { perSecond: 10_000, burst: 10_000 },
  maxKeys: 4096,
});

export const DEFAULT_SESSION_PARAMS: Readonly<SessionParams> = Object.freeze({
  rekeyAfterMs: 120_000,
  responderRekeyExtraMs: 30_000,
  rekeyIdleCheckMs: 10_000,
  rekeyJitter: 0.1,
  rejectAfterMs: 180_000,
  rekeyAfterMessages: 2 ** 48,
  // 2^53 - 2^13: the highest counter plus the replay window still fits a JS number exactly.
  rejectAfterMessages: 2 ** 53 - 2 ** 13,
  retryDelaysMs: Object.freeze([250, 500, 1000, 2000, 4000, 8000]),
  retryJitter: 0.2,
  retryRepeatMs: 30,
  wantTimeoutMs: 90_000,
  confirmTimeoutMs: 5_000,
  pendingTimeoutMs: 90_000,
  maxPreviousKeypairs: 2,
  // 8192 bits like current WireGuard (older versions used 2048): a path switch reorders packets by
  // the RTT difference times the packet rate, which a 2048-bit window cannot absorb at high rates.
  replayWindowBits: 8192,
  rateLimit: DEFAULT_RATE_LIMIT,
  guard: DEFAULT_HANDSHAKE_GUARD,
});

/** Overrides for some parameters; rateLimit and guard too may be given in part. */
export type SessionParamsInput = Partial<Omit<SessionParams, 'rateLimit' | 'guard'>> & {
  rateLimit?: Partial<RateLimitParams>;
  guard?: Partial<HandshakeGuardParams>;
};

/** Fills in defaults for what `partial` leaves out (rateLimit and guard are merged field by field). */
export function sessionParams(partial: SessionParamsInput = {}): SessionParams {
  return {
    ...DEFAULT_SESSION_PARAMS,
    ...partial,
    rateLimit: { ...DEFAULT_RATE_LIMIT, ...partial.rateLimit },
    guard: { ...DEFAULT_HANDSHAKE_GUARD, ...partial.guard },
  };
}

/** A float in [0, 1), like Math.random. Injected so tests can pin jitter and index choice. */
export type RandomSource = () => number;

const randomScratch = Buffer.alloc(4);

/** Default RandomSource: libsodium's CSPRNG, because indices should not be predictable. */
export const cryptoRandom: RandomSource = () => {
  sodium.randombytes_buf(randomScratch);
  return randomScratch.readUInt32LE(0) / 0x1_0000_0000;
};

/** `base` scaled by a uniform factor in [1 - fraction, 1 + fraction). */
export function jittered(base: number, fraction: number, random: RandomSource): number {
  return base * (1 + fraction * (2 * random() - 1));
}
