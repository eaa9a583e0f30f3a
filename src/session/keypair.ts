// One direction-pair of data keys from one handshake, and the per-packet seal/open on the wire layout
// the data plane uses. The body of a Data packet, after the routed header's src and dst:
//
//   A+0   u32  src              written by the data plane
//   A+4   u32  dst              written by the data plane
//   A+8   u32  receiverIndex    the receiver's index for this keypair
//   A+12  u64  counter          big-endian, like the rest of our wire
//   A+20  ...  ciphertext, then the 16-byte Poly1305 tag
//
// (A = addrOffset.) ChaCha20-Poly1305 IETF, nonce = u32 BE pathFlags || the 8 counter bytes exactly as
// they sit in the header (so also big-endian; WireGuard uses little-endian, but nothing else here does).
// pathFlags (wire/constants.ts PathFlags) is 1 when the packet was sealed for direct delivery (routeLen
// 0), 0 when sealed with a relay route; the receiver passes the value implied by the routeLen it sees.
// Associated data = [A, A+20): src, dst, receiverIndex and counter are bound to the ciphertext, so a
// relay can rewrite the route but not who the packet is from, for, which packet it is, or whether it
// was sealed as direct.
//
// The keys, the send counter and the replay window live in one native state buffer (native/aead.c), so
// the batch paths of forward/ seal and open whole batches in one call with the same state this class
// uses for single packets (probes, control).
import sodium from 'sodium-native';
import { packetBinding, type PacketBinding } from '../native/packet-binding.js';

/** Bytes from addrOffset to the ciphertext: src, dst, receiverIndex, counter. */
export const DATA_AD_BYTES = 20;
export const KEY_BYTES = 32;

/** Negative results of `open` (and of the session-level wrappers). */
export const OpenError = {
  Truncated: -1,
  Replayed: -2,
  AuthFailed: -3,
  Expired: -4,
  /** session level: no keypair has this receiver index */
  UnknownIndex: -5,
  /** session level: the keypair belongs to another member than the header's src */
  WrongSource: -6,
} as const;
export type OpenError = (typeof OpenError)[keyof typeof OpenError];

const OPEN_REASONS: Record<number, string> = {
  [OpenError.Truncated]: 'truncated',
  [OpenError.Replayed]: 'replayed',
  [OpenError.AuthFailed]: 'auth-failed',
  [OpenError.Expired]: 'expired',
  [OpenError.UnknownIndex]: 'unknown-index',
  [OpenError.WrongSource]: 'wrong-source',
};

/** The drop reason (a metric label) for a negative `open` result. */
export function openErrorReason(code: number): string {
  return OPEN_REASONS[code] ?? 'unknown';
}

/** `seal` result when the keypair may not send any more (expired, counter exhausted, destroyed). */
export const SEAL_REFUSED = -1;

export interface DataKeypairInit {
  /** 32 bytes each; the keypair takes ownership and zeroes them in destroy(). */
  sendKey: Buffer;
  receiveKey: Buffer;
  /** Our index: peers put it in receiverIndex of packets for us. */
  localIndex: number;
  /** The peer's index: we put it in receiverIndex of packets we send. */
  remoteIndex: number;
  createdAt: number;
  isInitiator: boolean;
  rejectAfterMs: number;
  rejectAfterMessages: number;
  replayWindowBits: number;
}

export class DataKeypair {
  readonly localIndex: number;
  readonly remoteIndex: number;
  readonly createdAt: number;
  readonly isInitiator: boolean;
  /** True once a packet opened with this keypair: for a responder, proof the initiator has it too. */
  receivedAny = false;
  /**
   * Native state: keys, send counter, replay window (native/aead.h kp_t). forward/ hands it to the batch
   * seal and open calls; nothing else may touch it.
   */
  readonly state: Buffer;
  private readonly b: PacketBinding;
  private readonly sendKey: Buffer;
  private readonly receiveKey: Buffer;
  private readonly rejectAfterMs: number;
  private readonly rejectAfterMessages: number;
  private destroyed = false;

  constructor(init: DataKeypairInit) {
    if (init.sendKey.byteLength !== KEY_BYTES || init.receiveKey.byteLength !== KEY_BYTES) {
      throw new RangeError('data keys must be 32 bytes');
    }
    this.b = packetBinding();
    const bytes = this.b.kp_bytes(init.replayWindowBits);
    if (bytes < 0) {
      throw new RangeError(`replay window bits must be a power of two >= 64, got ${init.replayWindowBits}`);
    }
    this.sendKey = init.sendKey;
    this.receiveKey = init.receiveKey;
    this.localIndex = init.localIndex;
    this.remoteIndex = init.remoteIndex;
    this.createdAt = init.createdAt;
    this.isInitiator = init.isInitiator;
    this.rejectAfterMs = init.rejectAfterMs;
    this.rejectAfterMessages = Math.min(init.rejectAfterMessages, Number.MAX_SAFE_INTEGER + 1);
    this.state = Buffer.alloc(bytes);
    this.b.kp_init(
      this.state,
      this.sendKey,
      this.receiveKey,
      this.remoteIndex >>> 0,
      this.rejectAfterMessages,
      init.replayWindowBits,
    );
  }

  /** Packets sealed so far (the next counter). */
  get sendCounter(): number {
    return this.b.kp_counter(this.state);
  }

  get isDestroyed(): boolean {
    return this.destroyed;
  }

  /** Until when it may seal and open (REJECT_AFTER; counters aside): -Infinity once destroyed. */
  get expiresAt(): number {
    return this.destroyed ? -Infinity : this.createdAt + this.rejectAfterMs;
  }

  /** True if the keypair is older than REJECT_AFTER or was destroyed: it can neither seal nor open. */
  isExpired(now: number): boolean {
    return this.destroyed || now - this.createdAt >= this.rejectAfterMs;
  }

  /** True if `seal` would succeed now. */
  canSend(now: number): boolean {
    return !this.isExpired(now) && this.sendCounter < this.rejectAfterMessages;
  }

  /**
   * Writes receiverIndex and the next counter at out[addrOffset+8, addrOffset+20), then encrypts
   * `plaintext` to out[addrOffset+20, ...) followed by the tag. src and dst must already be at
   * out[addrOffset, addrOffset+8). `pathFlags` goes into the nonce (see the top of this file).
   * Returns the end offset of the packet, or SEAL_REFUSED.
   *
   * `plaintext` is only read during the call. It may be any buffer not overlapping the output, or
   * exactly out[addrOffset+20, ...) to seal in place; any other overlap corrupts the packet.
   * Throws RangeError if `out` is too small (a caller bug, not a bad packet).
   */
  seal(out: Buffer, addrOffset: number, plaintext: Uint8Array, now: number, pathFlags: number): number {
    if (this.isExpired(now)) return SEAL_REFUSED;
    const end = this.b.kp_seal(this.state, out, addrOffset, plaintext, pathFlags);
    return end < 0 ? SEAL_REFUSED : end;
  }

  /**
   * Authenticates and decrypts the Data packet in buf[0, length) in place: on success the plaintext is
   * buf[addrOffset+20, addrOffset+20+result). Returns the plaintext length or a negative OpenError.
   * Never throws on bad input. On 'auth-failed' the ciphertext bytes are unspecified (zeroed). The
   * caller has already matched receiverIndex to this keypair. `pathFlags` is the value the packet's
   * routeLen implies; one sealed with another fails as 'auth-failed'.
   */
  open(buf: Buffer, addrOffset: number, length: number, now: number, pathFlags: number): number {
    if (!Number.isInteger(addrOffset) || !Number.isInteger(length)) return OpenError.Truncated;
    if (this.isExpired(now)) return OpenError.Expired;
    const n = this.b.kp_open(this.state, buf, addrOffset, length, pathFlags);
    if (n >= 0) this.receivedAny = true;
    return n;
  }

  /** Zeroes both keys (here and in the native state); every later seal/open fails. Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.b.kp_destroy(this.state);
    sodium.sodium_memzero(this.sendKey);
    sodium.sodium_memzero(this.receiveKey);
  }
}
