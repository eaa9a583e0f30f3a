// What a HandshakeInit must get past before we spend a Diffie-Hellman on it, cheapest check first, and
// the one check after (WireGuard's cookie mechanism, plus a replay filter and per-class budgets):
//
//   1. length                 fixed size
//   2. mac1                   one hash: the sender knows our public key
//   3. replay filter          one lookup: a mac1 seen in the last replayMemoryMs is a replay. Two sets:
//                             every initiation that got this far, and (apart, so junk cannot flush it)
//                             those that reached step 6
//   4. load and mac2          count the initiation in its lane's meter; while that lane's rate is over
//                             the threshold, one without a valid mac2 for its source address is answered
//                             with a cookie reply (itself budgeted per destination and per lane) and goes
//                             no further. Lanes: members' proven addresses (direct), and all others. A
//                             flood from spoofed strangers so costs a member no extra round trip through
//                             the flooded queue; one that spoofs members' proven addresses loads theirs
//   5. budgets                direct: per source IP, and per lane (addresses the data plane has proven to
//                             be the claimed member's apart from all others); relayed, separately: per
//                             (relay, claimed member), per relay and in all, so a hostile relay or
//                             member only spends its own
//   6. Diffie-Hellman         (SessionTable) reveals the member
//   7. per-member budget      a member re-handshaking at a high rate is throttled, from any address
//
// Under load a spoofed source cannot pass step 4, and a replay never passes step 3, so a flood of either
// costs a hash and a lookup per packet, and no Diffie-Hellman. Every table has a cap and an expiry.
//
// Steps 1–4 run first in C on the native UDP transport (native/handshake-load.c: same parameters, the
// same cookie secrets read in place), which drops there what this guard would drop or only refuse a
// cookie: under load, a stranger's initiation without a valid mac2 once the strangers' cookie budget is
// spent ('cookie-filtered'). This guard stays the authority and repeats every check.
import type { NodeId } from '../identity/node-id.js';
import { CookieChecker } from './cookie-checker.js';
import { ExpiringSet } from './expiring-set.js';
import { INIT_BODY_BYTES, INIT_MAC1_OFFSET, INIT_MAC2_OFFSET, readU32 } from './handshake.js';
import { reject, type HandshakeReject, type HandshakeSource } from './handshake-result.js';
import { LoadMeter } from './load-meter.js';
import { cookieReplyKey, MAC_BYTES, verifyMac } from './mac.js';
import type { SessionParams } from './params.js';
import { RateLimiter } from './rate-limiter.js';
import { takeAll, TokenBuckets } from './token-buckets.js';

export type Admission = { ok: true } | HandshakeReject;

const ADMITTED: Admission = { ok: true };
const ALL = 'all';

export class InitiationGuard {
  private readonly seen: ExpiringSet;
  private readonly admitted: ExpiringSet;
  /** Initiations from anywhere but a member's proven address (step 4). */
  private readonly load: LoadMeter;
  /** Direct initiations from members' proven addresses: a lane a spoofed-stranger flood cannot load. */
  private readonly memberLoad: LoadMeter;
  private readonly cookies: CookieChecker;
  private readonly direct: RateLimiter;
  private readonly relayPairs: TokenBuckets;
  private readonly relays: TokenBuckets;
  private readonly relayedAll: TokenBuckets;
  private readonly members: TokenBuckets;
  private readonly cookieDestinations: TokenBuckets;
  private readonly cookiesToStrangers: TokenBuckets;
  private readonly cookiesToMembers: TokenBuckets;
  /** Cookie replies made (the caller sends each one). */
  cookieReplies = 0;

  constructor(
    params: SessionParams,
    localPublicKey: Buffer,
    private readonly localMac1Key: Buffer,
  ) {
    const g = params.guard;
    this.seen = new ExpiringSet(g.seenInitiations, g.replayMemoryMs);
    this.admitted = new ExpiringSet(g.admittedInitiations, g.replayMemoryMs);
    this.load = new LoadMeter(g.underLoad, g.underLoadHoldMs);
    this.memberLoad = new LoadMeter(g.underLoad, g.underLoadHoldMs);
    this.cookies = new CookieChecker(g.cookieRotationMs, cookieReplyKey(localPublicKey));
    this.direct = new RateLimiter(params.rateLimit);
    this.relayPairs = new TokenBuckets(g.relayedPerPair, g.maxKeys);
    this.relays = new TokenBuckets(g.relayedPerRelay, g.maxKeys);
    this.relayedAll = new TokenBuckets(g.relayedGlobal, 1);
    this.members = new TokenBuckets(g.perMember, g.maxKeys);
    this.cookieDestinations = new TokenBuckets(g.cookiesPerDestination, g.maxKeys);
    this.cookiesToStrangers = new TokenBuckets(g.cookiesToStrangers, 1);
    this.cookiesToMembers = new TokenBuckets(g.cookiesToMembers, 1);
  }

  /**
   * Steps 1–5 for an initiation claiming to come from member `src`. Admitted means: run Noise on it.
   * A 'cookie-required' refusal carries the CookieReply body to send back.
   */
  beforeDh(src: NodeId, body: Uint8Array, source: HandshakeSource, now: number): Admission {
    if (body.byteLength < INIT_BODY_BYTES) return reject('truncated');
    if (body.byteLength > INIT_BODY_BYTES) return reject('oversized');
    if (!verifyMac(body, INIT_MAC1_OFFSET, this.localMac1Key)) return reject('bad-mac');
    const mac1 = body.subarray(INIT_MAC1_OFFSET, INIT_MAC2_OFFSET);
    const key = Buffer.from(mac1.buffer, mac1.byteOffset, MAC_BYTES).toString('latin1');
    if (this.seen.has(key, now) || this.admitted.has(key, now)) return reject('replayed-initiation');
    this.seen.add(key, now);
    const meter = source.proven === true && source.relay === undefined ? this.memberLoad : this.load;
    const underLoad = meter.note(now);
    if (underLoad && !this.cookies.verifyMac2(body, INIT_MAC2_OFFSET, source.address, now)) {
      return this.cookieReply(src, body, source, now);
    }
    const refusal = this.spendBudget(src, source, now);
    if (refusal !== undefined) return refusal;
    this.admitted.add(key, now);
    return ADMITTED;
  }

  /** Step 7, once Noise has shown the initiation is `member`'s: undefined if it may go on. */
  afterDh(member: NodeId, now: number): HandshakeReject | undefined {
    return this.members.allow(String(member), now) ? undefined : reject('member-rate-limited');
  }

  /** Either lane asks for cookies. */
  underLoad(now: number): boolean {
    return this.load.underLoad(now) || this.memberLoad.underLoad(now);
  }

  /** The cookie secrets, rotated in place (CookieChecker.secrets): the native load step reads them. */
  get cookieSecrets(): Uint8Array {
    return this.cookies.secrets;
  }

  /** Housekeeping: forgets expired entries and refilled buckets (every table is capped regardless). */
  sweep(now: number): void {
    this.cookies.tick(now);
    this.seen.sweep(now);
    this.admitted.sweep(now);
    this.direct.sweep(now);
    for (const b of [this.relayPairs, this.relays, this.members, this.cookieDestinations]) b.sweep(now);
  }

  private cookieReply(src: NodeId, body: Uint8Array, source: HandshakeSource, now: number): Admission {
    const lane = source.proven === true ? this.cookiesToMembers : this.cookiesToStrangers;
    // Relayed: all replies go to the relay, so the per-destination budget is per (relay, source) too.
    const destination = source.relay === undefined ? source.host : relayPair(source.relay, src);
    if (!takeAll(now, [lane, ALL], [this.cookieDestinations, destination])) {
      return reject('cookie-rate-limited');
    }
    this.cookieReplies++;
    const mac1 = body.subarray(INIT_MAC1_OFFSET, INIT_MAC2_OFFSET);
    const reply = this.cookies.reply(readU32(body, 0), mac1, source.address, now);
    return { ok: false, reason: 'cookie-required', cookieReply: reply };
  }

  private spendBudget(src: NodeId, source: HandshakeSource, now: number): HandshakeReject | undefined {
    if (source.relay === undefined) {
      const lane = source.proven === true ? 'members' : 'others';
      return this.direct.allow(source.host, now, lane) ? undefined : reject('rate-limited');
    }
    const ok = takeAll(
      now,
      [this.relayedAll, ALL],
      [this.relays, String(source.relay)],
      [this.relayPairs, relayPair(source.relay, src)],
    );
    return ok ? undefined : reject('relay-rate-limited');
  }
}

function relayPair(relay: NodeId, src: NodeId): string {
  return `${relay}>${src}`;
}
