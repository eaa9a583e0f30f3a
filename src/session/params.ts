// Timer and limit constants of the session layer, gathered in one object so tests and the simulator can
// shrink them. The defaults follow WireGuard (REKEY_AFTER_TIME, REJECT_AFTER_TIME, REKEY_TIMEOUT) except
// where noted.
import sodium from 'sodium-native';

export interface RateLimitParams {
  /** Handshakes per second allowed from one rate key (a source IP, say). */
  perKeyPerSecond: number;
  /** Handshakes one key may send back to back before the per-second rate applies. */
  perKeyBurst: number;
  /** Handshakes per second accepted from everyone together: bounds the DH work a flood can cause. */
  globalPerSecond: number;
  globalBurst: number;
  /** Keys remembered at most; the least recently used are forgotten first. */
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
  /** Relative jitter on the rekey time (0.1 = ±10 %), so many peers do not rekey in lockstep. */
  rekeyJitter: number;
  /** No keypair seals or opens anything once this old; it is zeroed and forgotten. */
  rejectAfterMs: number;
  /** Rekey once this many packets were sealed with the current keypair. */
  rekeyAfterMessages: number;
  /** A keypair never seals, nor accepts, a counter at or above this (counters are JS numbers). */
  rejectAfterMessages: number;
  /** Delay before retry n (the last entry repeats): 1 s, 2 s, 4 s, then every 8 s. */
  retryDelaysMs: readonly number[];
  /** Relative jitter on each retry delay (0.2 = ±20 %). */
  retryJitter: number;
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
  rateLimit: RateLimitParams;
}

export const DEFAULT_RATE_LIMIT: Readonly<RateLimitParams> = Object.freeze({
  perKeyPerSecond: 20,
  perKeyBurst: 40,
  globalPerSecond: 500,
  globalBurst: 500,
  maxKeys: 4096,
});

export const DEFAULT_SESSION_PARAMS: Readonly<SessionParams> = Object.freeze({
  rekeyAfterMs: 120_000,
  responderRekeyExtraMs: 30_000,
  rekeyJitter: 0.1,
  rejectAfterMs: 180_000,
  rekeyAfterMessages: 2 ** 48,
  // 2^53 - 2^13: the highest counter plus the replay window still fits a JS number exactly.
  rejectAfterMessages: 2 ** 53 - 2 ** 13,
  retryDelaysMs: Object.freeze([1000, 2000, 4000, 8000]),
  retryJitter: 0.2,
  wantTimeoutMs: 90_000,
  confirmTimeoutMs: 5_000,
  pendingTimeoutMs: 90_000,
  maxPreviousKeypairs: 2,
  // 8192 bits like current WireGuard (older versions used 2048): a path switch reorders packets by
  // the RTT difference times the packet rate, which a 2048-bit window cannot absorb at high rates.
  replayWindowBits: 8192,
  rateLimit: DEFAULT_RATE_LIMIT,
});

/** Overrides for some parameters; rateLimit too may be given in part. */
export type SessionParamsInput = Partial<Omit<SessionParams, 'rateLimit'>> & {
  rateLimit?: Partial<RateLimitParams>;
};

/** Fills in defaults for what `partial` leaves out (rateLimit is merged field by field). */
export function sessionParams(partial: SessionParamsInput = {}): SessionParams {
  return {
    ...DEFAULT_SESSION_PARAMS,
    ...partial,
    rateLimit: { ...DEFAULT_RATE_LIMIT, ...partial.rateLimit },
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
