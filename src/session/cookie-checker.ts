// The responder's side of cookies (WireGuard's CookieChecker):
//
//   cookie = BLAKE2b-128(key = secret, source address)     secret: 32 random bytes
//   mac2   = BLAKE2b-128(key = cookie, initiation body before mac2)
//
// The source address is the 20-byte form of transport/cookie-address.ts (family, via, port, IPv6 or
// IPv4-mapped address), which the native handshake load step (native/handshake-load.c) builds the same
// way from a datagram's source: both check the same mac2. (Cookies from before this form, when the
// address was "ip:port" text, are not accepted: an initiator holding one gets a fresh cookie reply.)
// A cookie is only ever sent to the address it names, so a valid mac2 proves the initiator receives
// there: spoofed sources cannot make one. The port is part of it because that is the address replies
// go to; an initiator behind NAT keeps its mapping between the cookie and the retry milliseconds later.
// For a relayed initiation the underlay source is the relay, and the reply goes back through it.
//
// The secret is replaced every `rotationMs` (checked on use and on tick) and the previous one is still
// accepted until it is two periods old. A cookie is only minted under a secret younger than one period,
// so every cookie is accepted for at least `rotationMs` after it was made: the initiator's lifetime
// (cookieLifetimeMs, shorter) never outlives it. Nothing is kept per source.
//
// The secrets live in one buffer (`secrets`, layout below) that the native load step reads in place:
// rotating here is all it takes. A secret is marked invalid there once it is two periods old, when
// checked on use or on tick (the session table's tick runs at least every few seconds while anything
// happens), so the native step may accept an expired secret until the next tick: the guard checks mac2
// again.
import sodium from 'sodium-native';
import { COOKIE_BYTES, sealCookieReply } from './cookie-reply.js';
import { MAC_BYTES } from './mac.js';

const SECRET_BYTES = 32;
/** Layout of `secrets`, shared with native/handshake-load.h: two keys, then a valid flag for each. */
export const COOKIE_SECRETS_BYTES = 2 * SECRET_BYTES + 2;
const CURRENT = 0;
const PREVIOUS = 1;
// Scratch for one cookie and one MAC; valid only during a call (single-threaded, never re-entered).
// Checking mac2 runs for every initiation under load, so it allocates nothing.
const COOKIE_SCRATCH = Buffer.alloc(COOKIE_BYTES);
const expected = Buffer.alloc(MAC_BYTES);

export class CookieChecker {
  /** Current key, previous key, their valid flags (see above). JS writes it, native reads it. */
  readonly secrets = new Uint8Array(COOKIE_SECRETS_BYTES);
  private readonly keys = [0, 1].map((k) => this.secrets.subarray(k * SECRET_BYTES, (k + 1) * SECRET_BYTES));
  private readonly bornAt = [-Infinity, -Infinity];

  /**
   * @param replyKey cookieReplyKey(our public key): encrypts the cookies we send.
   */
  constructor(
    private readonly rotationMs: number,
    private readonly replyKey: Buffer,
  ) {}

  /** True if body[mac2Offset, +16) is the mac2 of body[0, mac2Offset) for a cookie of `address`. */
  verifyMac2(body: Uint8Array, mac2Offset: number, address: Uint8Array, now: number): boolean {
    if (body.byteLength < mac2Offset + MAC_BYTES) return false;
    this.tick(now);
    const mac2 = body.subarray(mac2Offset, mac2Offset + MAC_BYTES);
    const covered = body.subarray(0, mac2Offset);
    for (const k of [CURRENT, PREVIOUS]) {
      if (!this.valid(k)) continue;
      sodium.crypto_generichash(COOKIE_SCRATCH, address, this.keys[k]);
      sodium.crypto_generichash(expected, covered, COOKIE_SCRATCH);
      if (sodium.sodium_memcmp(expected, mac2)) return true;
    }
    return false;
  }

  /**
   * The CookieReply body for an initiation from `address` with this senderIndex and mac1: its cookie
   * under the current secret, sealed for that initiation.
   */
  reply(senderIndex: number, mac1: Uint8Array, address: Uint8Array, now: number): Buffer {
    this.tick(now);
    sodium.crypto_generichash(COOKIE_SCRATCH, address, this.keys[CURRENT]);
    return sealCookieReply(senderIndex, COOKIE_SCRATCH, this.replyKey, mac1);
  }

  /** Rotates the secret when due and retires a secret two periods old. */
  tick(now: number): void {
    if (now - this.bornAt[CURRENT]! >= this.rotationMs) {
      this.keys[PREVIOUS]!.set(this.keys[CURRENT]!);
      this.bornAt[PREVIOUS] = this.bornAt[CURRENT]!;
      sodium.randombytes_buf(this.keys[CURRENT]);
      this.bornAt[CURRENT] = now;
    }
    for (const k of [CURRENT, PREVIOUS])
      this.secrets[2 * SECRET_BYTES + k] = now - this.bornAt[k]! < 2 * this.rotationMs ? 1 : 0;
  }

  private valid(k: number): boolean {
    return this.secrets[2 * SECRET_BYTES + k] === 1;
  }
}
