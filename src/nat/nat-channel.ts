// NAT traversal through members, without a coordination server (issue 12 part 1). The data plane's
// side of it; the decisions are pure (reflexive-table.ts, punch-scheduler.ts, keepalive-schedule.ts).
//
//   1. reflexive  an authenticated reply to one of our direct probes carries where its sender saw the
//                 probe come from (wire/probe-layout.ts): our address:port after our NAT. The table
//                 publishes the best few (in our adverts, router.ts, and in punch requests).
//   2. punch      a member we hold a session with but have no working direct link to, reached through
//                 a relay (a common member): we send it a sealed punch request through that relay
//                 with our endpoints and at once probe its endpoints (listed, and those its signed
//                 advert publishes); it answers with its endpoints and probes ours at the same moment.
//                 Each side's outgoing probes open its own NAT for the other's. Nothing is bound by
//                 the punch itself: the prober probes the named endpoints as candidates, and only an
//                 authenticated reply to a probe sent to an address binds it (path-learning.ts), after
//                 which it is one more measured direct link the router may choose.
//   3. keepalive  links through a NAT that are in use or were used recently get a sealed keepalive
//                 every network.natKeepalive seconds (keepalive-schedule.ts).
import { NO_BEAT } from '../clock.js';
import type { NodeId } from '../identity/node-id.js';
import type { ForwardContext } from '../forward/context.js';
import type { NextHops } from '../forward/next-hop.js';
import { reverseRelays, type PathLearning } from '../forward/path-learning.js';
import type { Sealer } from '../forward/sealer.js';
import type { Endpoint } from '../transport/transport.js';
import { endpointKey } from '../transport/transport.js';
import type { RoutedHeader } from '../wire/routed-header.js';
import { InnerKind } from '../wire/constants.js';
import { KeepaliveSchedule } from './keepalive-schedule.js';
import { parseEndpointKey } from './endpoint-bytes.js';
import { decodePunch, encodePunch, PUNCH_MAX_ENDPOINTS, PunchType } from './punch-message.js';
import { PunchScheduler, type PunchParams } from './punch-scheduler.js';
import { ReflexiveTable, type ReflexiveParams } from './reflexive-table.js';

/** How often members are looked over for punches and keepalives. */
const CHECK_INTERVAL_MS = 1000;
/** A link used within this long still gets NAT keepalives. */
const RECENT_USE_MS = 120_000;
const KEEPALIVE = Buffer.from([InnerKind.Keepalive]);

export interface NatOptions {
  /** network.natKeepalive in ms (default 25 s). */
  keepaliveMs?: number;
  /** This node's own listed endpoints (peers.yaml), offered in punch requests. */
  listedSelf?: () => readonly string[];
  /** Reflexive endpoints another member publishes in its signed advert (router.ts). */
  advertisedEndpoints?: (member: NodeId) => readonly string[];
  /** Our published reflexive endpoints changed: re-originate our advert. */
  onPublishedChange?: (published: readonly string[]) => void;
  reflexive?: Partial<ReflexiveParams>;
  punch?: Partial<PunchParams>;
}

export class NatChannel {
  readonly reflexive: ReflexiveTable;
  readonly punches: PunchScheduler;
  private readonly keepalive: KeepaliveSchedule;
  private nextCheckAt = -Infinity;
  private nonce: number;
  keepalivesSent = 0;

  constructor(
    private readonly ctx: ForwardContext,
    private readonly nextHops: NextHops,
    private readonly sealer: Sealer,
    private readonly learning: PathLearning,
    private readonly opts: NatOptions = {},
  ) {
    this.reflexive = new ReflexiveTable(opts.reflexive);
    this.reflexive.setListed(opts.listedSelf?.() ?? []);
    this.punches = new PunchScheduler(opts.punch, ctx.clock.now());
    this.keepalive = new KeepaliveSchedule(opts.keepaliveMs ?? 25_000, RECENT_USE_MS);
    this.nonce = Math.floor(Math.random() * 0x1_0000_0000);
  }

  /** `member` answered our direct probe and saw it come from `observed` (already authenticated). */
  observed(member: NodeId, observed: string, now: number): void {
    if (!this.reflexive.observe(member, observed, now)) return;
    const published = this.reflexive.published();
    this.ctx.log.info(`reflexive endpoints now [${published.join(', ')}] (seen by ${this.nameOf(member)})`);
    this.opts.onPublishedChange?.(published);
  }

  /**
   * When tick() next has work: its once-a-second check (punches to start or expire, keepalives). Punches
   * in flight are probed by the prober, whose own wake-ups run tick() too, so their success is seen then.
   */
  nextWakeAt(): number {
    return this.nextCheckAt;
  }

  tick(now: number): void {
    // Attempts in flight are looked at every tick, so the time to a direct link is measured in ms.
    for (const id of this.punches.pendingMembers()) if (this.ctx.prober.link(id)?.alive) this.linkUp(id, now);
    if (now < this.nextCheckAt) return;
    this.nextCheckAt = (this.ctx.beat ?? NO_BEAT).at(now + CHECK_INTERVAL_MS);
    if (this.reflexive.sweep(now)) this.opts.onPublishedChange?.(this.reflexive.published());
    for (const id of this.punches.expire(now))
      this.ctx.log.info(
        `punch to ${this.nameOf(id)} failed: no direct round trip within ${this.punches.params.timeoutMs} ms`,
      );
    const links = [];
    for (const m of this.ctx.peers.all()) {
      if (m.id === this.ctx.self) continue;
      const link = this.ctx.prober.link(m.id);
      if (link?.alive) {
        links.push({
          member: m.id,
          throughNat: (link.origin ?? 'listed') !== 'listed',
          inUse: link.active === true,
        });
        continue;
      }
      this.maybePunch(m.id, now);
    }
    const behindNat = this.reflexive.published().length > 0;
    for (const id of this.keepalive.due(links, behindNat, now)) this.sendKeepalive(id, now);
  }

  private linkUp(member: NodeId, now: number): void {
    const ms = this.punches.linkUp(member, now);
    const link = this.ctx.prober.link(member);
    if (ms !== undefined && link)
      this.ctx.log.info(
        `punched a direct link to ${this.nameOf(member)} at ${link.endpointKey} (${link.origin}) in ${Math.round(ms)} ms`,
      );
  }

  /** A Punch message from `h.src` (authenticated: opened in its session). */
  onPunch(data: Buffer, h: RoutedHeader, pt: number, n: number, now: number): void {
    const { ctx } = this;
    const msg = decodePunch(data, pt, n);
    if (msg === 'bad-inner') return ctx.counters.drop('bad-inner');
    if (msg.type === PunchType.Request) {
      if (!this.punches.allowIncoming(h.src, now)) return;
      this.probeEndpoints(h.src, msg.endpoints, now);
      this.send(h.src, PunchType.Answer, msg.nonce, now, reverseRelays(data, h));
      return;
    }
    if (!this.punches.answerMatches(h.src, msg.nonce)) return;
    this.probeEndpoints(h.src, msg.endpoints, now);
  }

  /** No working direct link to `member`: start a simultaneous open through a common member if due. */
  private maybePunch(member: NodeId, now: number): void {
    const { ctx } = this;
    // Only members we talk to (a session exists: someone sent data), reached through a relay.
    if (!ctx.sessions.sendKeypair(member, now)) return;
    const target = this.nextHops.target(member, now);
    if (!target || target.relays.length === 0) return;
    // A member a bounded probe set leaves to relays has no direct link by choice, not for a NAT: at
    // 25 members (8 chosen neighbours), punches to them were a relayed flow every ~6 s per node, and
    // each put a link on the 50 ms schedule for 2 s: half of an idle node's control bytes.
    if (!ctx.prober.wantsDirectLink(member, now)) return;
    if (!this.punches.due(member, now)) return;
    const nonce = (this.nonce = (this.nonce + 1) >>> 0);
    if (!this.send(member, PunchType.Request, nonce, now)) return;
    this.punches.started(member, nonce, now);
    const theirs = [
      ...(ctx.peers.get(member)?.endpointKeys ?? []),
      ...(this.opts.advertisedEndpoints?.(member) ?? []),
    ];
    this.probeEndpoints(member, theirs, now);
    ctx.log.debug(`punch to ${this.nameOf(member)} via ${target.relays.map(this.nameOf).join(' → ')}`);
  }

  /** Our endpoints to `member` in a sealed punch message, along the route (or the way it came). */
  private send(member: NodeId, type: PunchType, nonce: number, now: number, back?: NodeId[]): boolean {
    const { ctx } = this;
    const keypair = ctx.sessions.sendKeypair(member, now);
    if (!keypair) return false;
    let target = this.nextHops.target(member, now);
    if (!target && back && back.length > 0) {
      const endpoint = this.nextHops.liveEndpoint(back[0]);
      if (endpoint) target = { relays: back, nextHop: back[0], endpoint };
    }
    if (!target) return false;
    const mine = [...(this.opts.listedSelf?.() ?? []), ...this.reflexive.published()];
    const plaintext = encodePunch({ type, nonce, endpoints: mine.slice(0, PUNCH_MAX_ENDPOINTS) });
    return this.sealer.seal(keypair, member, target, plaintext, now, false) > 0;
  }

  /**
   * Probe `keys` of `member` as punch candidates. An address proven to be another member's is never
   * tried for this one (a member naming someone else's address learns nothing and binds nothing).
   */
  private probeEndpoints(member: NodeId, keys: readonly string[], now: number): void {
    const usable: string[] = [];
    for (const key of keys) {
      if (usable.length === PUNCH_MAX_ENDPOINTS) break;
      const e: Endpoint | undefined = parseEndpointKey(key);
      if (!e || usable.includes(endpointKey(e))) continue;
      if (this.learning.claimedByOther(member, endpointKey(e), now)) continue;
      usable.push(this.ctx.peers.internEndpoint(e));
    }
    if (usable.length > 0) this.ctx.prober.punch(member, usable, this.punches.params.punchProbes, now);
  }

  private sendKeepalive(member: NodeId, now: number): void {
    const { ctx } = this;
    const keypair = ctx.sessions.sendKeypair(member, now);
    const endpoint = this.nextHops.liveEndpoint(member);
    if (!keypair || !endpoint) return;
    if (
      this.sealer.seal(keypair, member, { relays: [], nextHop: member, endpoint }, KEEPALIVE, now, false) > 0
    )
      this.keepalivesSent++;
  }

  private readonly nameOf = (id: NodeId): string => this.ctx.peers.get(id)?.name ?? String(id);
}
