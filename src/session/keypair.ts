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
import sodium from 'sodium-native';
import { AEAD_TAG_BYTES } from '../wire/constants.js';
import { ReplayWindow } from './replay-window.js';

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
  private readonly sendKey: Buffer;
  private readonly receiveKey: Buffer;
  private readonly replay: ReplayWindow;
  private readonly rejectAfterMs: number;
  private readonly rejectAfterMessages: number;
  private counter = 0;
  private destroyed = false;
  // Scratch nonces, rewritten for every packet; one each so seal and open never share one.
  private readonly sealNonce = Buffer.alloc(12);
  private readonly openNonce = Buffer.alloc(12);

  constructor(init: DataKeypairInit) {
    if (init.sendKey.byteLength !== KEY_BYTES || init.receiveKey.byteLength !== KEY_BYTES) {
      throw new RangeError('data keys must be 32 bytes');
    }
    this.sendKey = init.sendKey;
    this.receiveKey = init.receiveKey;
    this.localIndex = init.localIndex;
    this.remoteIndex = init.remoteIndex;
    this.createdAt = init.createdAt;
    this.isInitiator = init.isInitiator;
    this.rejectAfterMs = init.rejectAfterMs;
    this.rejectAfterMessages = init.rejectAfterMessages;
    this.replay = new ReplayWindow(init.replayWindowBits, init.rejectAfterMessages);
  }

  /** Packets sealed so far (the next counter). */
  get sendCounter(): number {
    return this.counter;
  }

  get isDestroyed(): boolean {
    return this.destroyed;
  }

  /** True if the keypair is older than REJECT_AFTER or was destroyed: it can neither seal nor open. */
  isExpired(now: number): boolean {
    return this.destroyed || now - this.createdAt >= this.rejectAfterMs;
  }

  /** True if `seal` would succeed now. */
  canSend(now: number): boolean {
    return !this.isExpired(now) && this.counter < this.rejectAfterMessages;
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
    if (!this.canSend(now)) return SEAL_REFUSED;
    const start = addrOffset + DATA_AD_BYTES;
    const end = start + plaintext.byteLength + AEAD_TAG_BYTES;
    if (end > out.byteLength) throw new RangeError(`packet buffer too small: need ${end} bytes`);
    const counter = this.counter++;
    const hi = Math.floor(counter / 0x1_0000_0000);
    const lo = counter >>> 0;
    out.writeUInt32BE(this.remoteIndex, addrOffset + 8);
    out.writeUInt32BE(hi, addrOffset + 12);
    out.writeUInt32BE(lo, addrOffset + 16);
    this.sealNonce.writeUInt32BE(pathFlags, 0);
    this.sealNonce.writeUInt32BE(hi, 4);
    this.sealNonce.writeUInt32BE(lo, 8);
    sodium.crypto_aead_chacha20poly1305_ietf_encrypt(
      out.subarray(start, end),
      plaintext,
      out.subarray(addrOffset, start),
      null,
      this.sealNonce,
      this.sendKey,
    );
    return end;
  }

  /**
   * Authenticates and decrypts the Data packet in buf[0, length) in place: on success the plaintext is
   * buf[addrOffset+20, addrOffset+20+result). Returns the plaintext length or a negative OpenError.
   * Never throws on bad input. On 'auth-failed' the ciphertext bytes are unspecified (libsodium zeroes
   * them). The caller has already matched receiverIndex to this keypair. `pathFlags` is the value the
   * packet's routeLen implies; one sealed with another fails as 'auth-failed'.
   */
  open(buf: Buffer, addrOffset: number, length: number, now: number, pathFlags: number): number {
    const start = addrOffset + DATA_AD_BYTES;
    const sealedBytes = length - start;
    if (addrOffset < 0 || sealedBytes < AEAD_TAG_BYTES || length > buf.byteLength) return OpenError.Truncated;
    if (this.isExpired(now)) return OpenError.Expired;
    const hi = buf.readUInt32BE(addrOffset + 12);
    const lo = buf.readUInt32BE(addrOffset + 16);
    // hi >= 2^21 means a counter >= 2^53: never sent by us, not representable, refuse before the math.
    if (hi >= 0x20_0000) return OpenError.Replayed;
    const counter = hi * 0x1_0000_0000 + lo;
    if (!this.replay.check(counter)) return OpenError.Replayed;
    this.openNonce.writeUInt32BE(pathFlags, 0);
    this.openNonce.writeUInt32BE(hi, 4);
    this.openNonce.writeUInt32BE(lo, 8);
    const plainBytes = sealedBytes - AEAD_TAG_BYTES;
    try {
      sodium.crypto_aead_chacha20poly1305_ietf_decrypt(
        buf.subarray(start, start + plainBytes),
        null,
        buf.subarray(start, length),
        buf.subarray(addrOffset, start),
        this.openNonce,
        this.receiveKey,
      );
    } catch {
      return OpenError.AuthFailed;
    }
    // Only now, authenticated, may the packet move the window.
    if (!this.replay.accept(counter)) return OpenError.Replayed;
    this.receivedAny = true;
    return plainBytes;
  }

  /** Zeroes both keys; every later seal/open fails. Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    sodium.sodium_memzero(this.sendKey);
    sodium.sodium_memzero(this.receiveKey);
  }
}
