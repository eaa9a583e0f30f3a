// The two handshake messages: Noise IK (Ed25519 static keys via noise-curve-ed, ChaChaPoly, BLAKE2b,
// prologue "overlayd v1"), framed with the indices and mac1 of our wire format:
//
//   HandshakeInit      u32 senderIndex | noise msg1 (108) | mac1 (16) | mac2 (16)        = 144 bytes
//                      msg1 = e (32) | enc s (32+16) | enc TAI64N timestamp (12+16)
//   HandshakeResponse  u32 senderIndex | u32 receiverIndex | noise msg2 (48) | mac1 (16)  = 72 bytes
//                      msg2 = e (32) | enc empty payload (16)
//
// mac2 is MAC(cookie, everything before it) when the initiator holds a fresh cookie from the responder,
// else zeros (see mac.ts, cookie-checker.ts). A response needs no mac2: it is only read if it names the
// index of an initiation we have pending, which a stranger cannot guess.
//
// The cleartext indices are bound into the Noise transcript: MixHash(senderIndex) right after the
// prologue, and MixHash(responder senderIndex || receiverIndex) before msg2. The encrypted payloads are
// authenticated with the transcript hash, so a rewritten index fails Noise like any other forgery
// (without this, one tampered response would leave the initiator sending to an index nobody owns
// until the next rekey; WireGuard leaves its indices unbound).
//
// Nothing here checks mac1 or mac2, rate limits or decides whether a peer is welcome: SessionTable does, in
// that order, before and after calling in. Every function turns a Noise failure (bad ciphertext, a
// small-order point, which libsodium reports by throwing) into a null result.
//
// noise-handshake zeroes the ephemeral keys and the `re` it read when a handshake completes; `re` is a
// view of the message passed to recv, so we always hand it a private copy of the caller's bytes.
import Noise from 'noise-handshake';
import type { KeyPair as NoiseKeyPair } from 'noise-handshake';
import curve from 'noise-curve-ed';
import sodium from 'sodium-native';
import type { KeyPair } from '../identity/keys.js';
import { MAC_BYTES, writeMac } from './mac.js';
import { TIMESTAMP_BYTES } from './timestamp.js';

export const HANDSHAKE_PROLOGUE = Buffer.from('overlayd v1');
export const NOISE_INIT_BYTES = 32 + 48 + TIMESTAMP_BYTES + 16;
export const NOISE_RESPONSE_BYTES = 32 + 16;
/** Offsets of the MACs: each covers the body before it. */
export const INIT_MAC1_OFFSET = 4 + NOISE_INIT_BYTES;
export const INIT_MAC2_OFFSET = INIT_MAC1_OFFSET + MAC_BYTES;
export const INIT_BODY_BYTES = INIT_MAC2_OFFSET + MAC_BYTES;
export const RESPONSE_MAC1_OFFSET = 8 + NOISE_RESPONSE_BYTES;
export const RESPONSE_BODY_BYTES = RESPONSE_MAC1_OFFSET + MAC_BYTES;

/** The two data keys a completed handshake yields, in fresh buffers owned by the caller. */
export interface SessionKeys {
  send: Buffer;
  receive: Buffer;
}

/**
 * Initiator side of one handshake: builds the HandshakeInit body, then consumes at most one valid
 * response. A response that fails Noise does not spoil the handshake (whoever saw the cleartext index
 * could otherwise cancel it with one forged packet): the state is rebuilt from the kept ephemeral key.
 */
export class InitiatorHandshake {
  /** The HandshakeInit body to send; owned by the caller once read. */
  readonly body: Buffer;
  /** Our copy of the body's mac1: a cookie reply for this initiation is authenticated with it. */
  readonly mac1: Buffer;
  /** The cookie the body's mac2 is keyed with (a copy), or undefined if mac2 is zeros. */
  readonly mac2Cookie: Buffer | undefined;
  private noise: Noise | null;
  private readonly ephemeral: NoiseKeyPair;

  constructor(
    private readonly local: KeyPair,
    private readonly remoteStatic: Buffer,
    readonly localIndex: number,
    private readonly timestamp: Buffer,
    mac1Key: Buffer,
    /** A fresh cookie from the responder, or undefined: mac2 stays zero. */
    cookie?: Uint8Array,
  ) {
    this.ephemeral = { publicKey: Buffer.alloc(32), secretKey: Buffer.alloc(64) };
    sodium.crypto_sign_keypair(this.ephemeral.publicKey, this.ephemeral.secretKey);
    const { noise, message } = this.start();
    this.noise = noise;
    this.body = Buffer.alloc(INIT_BODY_BYTES);
    this.body.writeUInt32BE(localIndex, 0);
    this.body.set(message, 4);
    writeMac(this.body, INIT_MAC1_OFFSET, mac1Key);
    if (cookie !== undefined) writeMac(this.body, INIT_MAC2_OFFSET, cookie);
    this.mac1 = copy(this.body.subarray(INIT_MAC1_OFFSET, INIT_MAC2_OFFSET));
    this.mac2Cookie = cookie === undefined ? undefined : copy(cookie);
  }

  /**
   * Completes the handshake with a HandshakeResponse body (length already checked, mac1 verified).
   * Returns the responder's index and the keys, or null if Noise rejects it (the handshake stays open).
   */
  readResponse(body: Uint8Array): { senderIndex: number; keys: SessionKeys } | null {
    if (this.noise === null || body.byteLength !== RESPONSE_BODY_BYTES) return null;
    const noise = this.noise;
    try {
      noise.mixHash(body.subarray(0, 8));
      noise.recv(copy(body.subarray(8, 8 + NOISE_RESPONSE_BYTES)));
    } catch {
      this.noise = this.start().noise;
      return null;
    }
    if (!noise.complete) return null;
    const keys = takeKeys(noise);
    this.noise = null;
    this.destroy();
    return { senderIndex: readU32(body, 0), keys };
  }

  /** Zeroes the ephemeral secret; the handshake can no longer complete. */
  destroy(): void {
    // An unfinished Noise state holds a copy of the ephemeral secret too (a finished one zeroed it).
    const e = this.noise?.e;
    if (e) sodium.sodium_memzero(e.secretKey);
    this.noise = null;
    sodium.sodium_memzero(this.ephemeral.secretKey);
  }

  // Runs the initiator up to msg1 with our kept ephemeral key. Deterministic for the same inputs, which
  // is what lets us rebuild the exact state after a bad response.
  private start(): { noise: Noise; message: Uint8Array } {
    const noise = new Noise('IK', true, this.local, { curve });
    noise.initialise(HANDSHAKE_PROLOGUE, this.remoteStatic);
    noise.mixHash(u32(this.localIndex));
    // Copies: noise-handshake zeroes its ephemeral buffers when it completes.
    noise.e = { publicKey: copy(this.ephemeral.publicKey), secretKey: copy(this.ephemeral.secretKey) };
    const message = noise.send(this.timestamp);
    return { noise, message };
  }
}

/** Responder side after a successful read of msg1: who the initiator claims to be, and when. */
export class ResponderHandshake {
  private constructor(
    private readonly noise: Noise,
    /** The initiator's index (goes into receiverIndex of our response and our data packets). */
    readonly senderIndex: number,
    /** The initiator's static public key, authenticated by Noise (it holds the secret key). */
    readonly remoteStatic: Buffer,
    /** The decrypted TAI64N timestamp. */
    readonly timestamp: Buffer,
  ) {}

  /** Runs Noise on an initiation body (length checked, MACs verified); null if it is not valid. */
  static read(local: KeyPair, body: Uint8Array): ResponderHandshake | null {
    if (body.byteLength !== INIT_BODY_BYTES) return null;
    const noise = new Noise('IK', false, local, { curve });
    noise.initialise(HANDSHAKE_PROLOGUE);
    noise.mixHash(body.subarray(0, 4));
    let payload: Uint8Array;
    try {
      payload = noise.recv(copy(body.subarray(4, 4 + NOISE_INIT_BYTES)));
    } catch {
      return null;
    }
    if (payload.byteLength !== TIMESTAMP_BYTES || noise.rs === null) return null;
    return new ResponderHandshake(noise, readU32(body, 0), copy(noise.rs), copy(payload));
  }

  /** Builds the HandshakeResponse body with our new index; null if Noise fails (it should not). */
  respond(localIndex: number, mac1Key: Buffer): { body: Buffer; keys: SessionKeys } | null {
    const body = Buffer.alloc(RESPONSE_BODY_BYTES);
    body.writeUInt32BE(localIndex, 0);
    body.writeUInt32BE(this.senderIndex, 4);
    let message: Uint8Array;
    try {
      this.noise.mixHash(body.subarray(0, 8));
      message = this.noise.send();
    } catch {
      return null;
    }
    if (!this.noise.complete) return null;
    body.set(message, 8);
    writeMac(body, RESPONSE_MAC1_OFFSET, mac1Key);
    return { body, keys: takeKeys(this.noise) };
  }
}

/** Reads a big-endian u32 from any Uint8Array (handshake bodies may be views of a receive buffer). */
export function readU32(buf: Uint8Array, offset: number): number {
  return ((buf[offset] << 24) | (buf[offset + 1] << 16) | (buf[offset + 2] << 8) | buf[offset + 3]) >>> 0;
}

function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value, 0);
  return out;
}

// A private, non-pooled copy (Buffer.from may share a pool slab; secrets must be zeroable alone).
function copy(src: Uint8Array): Buffer {
  const out = Buffer.alloc(src.byteLength);
  out.set(src);
  return out;
}

// Moves the split keys out of the Noise state into buffers we own, and wipes Noise's copies.
function takeKeys(noise: Noise): SessionKeys {
  if (noise.tx === null || noise.rx === null) throw new Error('noise handshake incomplete');
  const keys = { send: copy(noise.tx), receive: copy(noise.rx) };
  sodium.sodium_memzero(noise.tx);
  sodium.sodium_memzero(noise.rx);
  return keys;
}
