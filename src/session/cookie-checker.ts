// The responder's side of cookies (WireGuard's CookieChecker):
//
//   cookie = BLAKE2b-128(key = secret, "ip:port" of the underlay source)     secret: 32 random bytes
//   mac2   = BLAKE2b-128(key = cookie, initiation body before mac2)
//
// A cookie is only ever sent to the address it names, so a valid mac2 proves the initiator receives
// there: spoofed sources cannot make one. The port is part of it because that is the address replies
// go to; an initiator behind NAT keeps its mapping between the cookie and the retry milliseconds later.
// For a relayed initiation the underlay source is the relay, and the reply goes back through it.
//
// The secret is replaced every `rotationMs` (checked lazily, on use) and the previous one is still
// accepted until it is two periods old. A cookie is only minted under a secret younger than one period,
// so every cookie is accepted for at least `rotationMs` after it was made: the initiator's lifetime
// (cookieLifetimeMs, shorter) never outlives it. Nothing is kept per source.
import sodium from 'sodium-native';
import { COOKIE_BYTES, sealCookieReply } from './cookie-reply.js';
import { MAC_BYTES } from './mac.js';

const SECRET_BYTES = 32;
// Scratch for one address, one cookie and one MAC; valid only during a call (single-threaded, never
// re-entered). Checking mac2 runs for every initiation under load, so it allocates nothing.
const ADDRESS_SCRATCH = Buffer.alloc(64);
const COOKIE_SCRATCH = Buffer.alloc(COOKIE_BYTES);
const expected = Buffer.alloc(MAC_BYTES);

interface Secret {
  key: Buffer;
  bornAt: number;
}

export class CookieChecker {
  private current: Secret = { key: Buffer.alloc(SECRET_BYTES), bornAt: -Infinity };
  private previous: Secret | null = null;

  /**
   * @param replyKey cookieReplyKey(our public key): encrypts the cookies we send.
   */
  constructor(
    private readonly rotationMs: number,
    private readonly replyKey: Buffer,
  ) {}

  /** True if body[mac2Offset, +16) is the mac2 of body[0, mac2Offset) for a cookie of `address`. */
  verifyMac2(body: Uint8Array, mac2Offset: number, address: string, now: number): boolean {
    if (body.byteLength < mac2Offset + MAC_BYTES) return false;
    this.rotate(now);
    const mac2 = body.subarray(mac2Offset, mac2Offset + MAC_BYTES);
    const covered = body.subarray(0, mac2Offset);
    const n = ADDRESS_SCRATCH.write(address, 'latin1');
    const addressBytes = ADDRESS_SCRATCH.subarray(0, n);
    for (const secret of [this.current, this.previous]) {
      if (secret === null || now - secret.bornAt >= 2 * this.rotationMs) continue;
      sodium.crypto_generichash(COOKIE_SCRATCH, addressBytes, secret.key);
      sodium.crypto_generichash(expected, covered, COOKIE_SCRATCH);
      if (sodium.sodium_memcmp(expected, mac2)) return true;
    }
    return false;
  }

  /**
   * The CookieReply body for an initiation from `address` with this senderIndex and mac1: its cookie
   * under the current secret, sealed for that initiation.
   */
  reply(senderIndex: number, mac1: Uint8Array, address: string, now: number): Buffer {
    this.rotate(now);
    const n = ADDRESS_SCRATCH.write(address, 'latin1');
    sodium.crypto_generichash(COOKIE_SCRATCH, ADDRESS_SCRATCH.subarray(0, n), this.current.key);
    return sealCookieReply(senderIndex, COOKIE_SCRATCH, this.replyKey, mac1);
  }

  private rotate(now: number): void {
    if (now - this.current.bornAt < this.rotationMs) return;
    this.previous = this.current;
    const key = Buffer.alloc(SECRET_BYTES);
    sodium.randombytes_buf(key);
    this.current = { key, bornAt: now };
  }
}
