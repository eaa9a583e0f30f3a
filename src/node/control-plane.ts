// The one wiring between a node's pure cores — prober, router and (in the daemon) session table — and
// whatever carries their packets. The daemon (node.ts, carrier: forward/ over UDP) and the simulator
// (test/sim/sim-node.ts, carrier: a modelled underlay) both build exactly this, so a figure the
// simulator prints is a figure of the daemon's glue, not of a copy of it.
//
//   in   probe received (with its id: the top bit asks not to be probed back — an exploration
//        trial, or a probe itself sent only in return) · probe reply (→ prober, then the router at
//        once, so a dead or new link is routed on within the same instant) · routing message · data
//        activity · endpoints · members
//   out  probes, routing messages, handshakes; bytes sent by message type (traffic: probes, echoes,
//        each routing message kind, handshake messages)
//   when one timer (WakeScheduler) at the earliest nextWakeAt() of the three cores and of the
//        carrier's own timer work (attachCarrier: the daemon's end-to-end path probes and sweeps);
//        every input pokes it, so nothing waits on a fixed tick and an idle node sleeps
//
// It implements the data plane's ProbePort, RoutePort and SessionPort: forward/ reaches the cores only
// through here, so every input that can bring work forward re-arms the timer.
import { beat, NO_BEAT, type Beat, type Clock, type Timers } from '../clock.js';
import { zeroCounts } from '../counts.js';
import type { HandshakeResult, ProbePort, RoutePort, SessionPort } from '../forward/ports.js';
import type { NodeId } from '../identity/node-id.js';
import type { ActiveCause, EndpointView, LinkView } from '../probe/link-view.js';
import type { ProbeParams } from '../probe/probe-params.js';
import { Prober } from '../probe/prober.js';
import type { Path } from '../routing/path-selector.js';
import { Router, type RouterMember } from '../routing/router.js';
import type { RoutingParams } from '../routing/routing-params.js';
import type { DataKeypair } from '../session/keypair.js';
import type { HandshakeSource } from '../session/handshake-result.js';
import type { SessionTable } from '../session/session-table.js';
import { ControlTraffic } from './control-traffic.js';
import type { LoopLag } from './loop-lag.js';
import { WakeScheduler } from './wake-scheduler.js';

export interface ControlPlanePorts {
  /** Sends probe `probeId` directly to `member` at `endpointKey`; false if it could not (no session). */
  sendProbe(member: NodeId, endpointKey: string, probeId: number): boolean;
  /** Sends a routing message to direct neighbour `neighbor`. */
  sendControl(neighbor: NodeId, message: Uint8Array): void;
  /** Starts (or retries) a handshake with `peer`; only with a session table. */
  sendHandshake?(peer: NodeId, now: number): void;
  /** Sends initiation `body` to `peer` again, the way sendHandshake sends one (a retry's copy). */
  repeatHandshake?(peer: NodeId, body: Buffer, now: number): void;
  /** Ed25519 signature by our key. */
  sign(message: Uint8Array): Uint8Array;
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
  /** Wall-clock ms, only to seed advert sequence numbers. */
  wallClock(): number;
  /** Real-time ms for route computation timing (stats only). */
  cpuClock?(): number;
}

/** Timer work of whatever carries the packets (see attachCarrier). */
export interface CarrierTimerWork {
  nextWakeAt(now: number): number;
  tick(now: number): void;
  /** After every wake-up's work, the cores' included (the data plane's fast lane decides again). */
  afterRun?(now: number): void;
}

export interface ControlPlaneOptions {
  self: NodeId;
  members: readonly RouterMember[];
  clock: Clock;
  timers: Timers;
  ports: ControlPlanePorts;
  probeParams?: Partial<ProbeParams>;
  routingParams?: RoutingParams;
  /** The daemon's sessions; the simulator has none (every probe can be sent). */
  sessions?: SessionTable;
  /** Uniform [0, 1) for the prober's and router's jitter and choices; default Math.random. */
  random?: () => number;
  /** The housekeeping beat's period (BEAT_MS); 0: none, every timer exact. */
  beatMs?: number;
  /** Where sent bytes are counted (the simulator keeps one across a node's restarts). */
  traffic?: ControlTraffic;
  /** The daemon's event-loop lag, fed by the wake timer's drift; absent in the simulator (no stalls). */
  loopLag?: LoopLag;
}

/** Which core had work due when the timer fired (several may; 'none': it fired early, or lost a race). */
export const WAKE_CAUSES = ['prober', 'carrier', 'router', 'sessions', 'none'] as const;
export type WakeCause = (typeof WAKE_CAUSES)[number];

/**
 * The node's housekeeping beat (clock.ts): idle probes, anti-entropy rounds, drift announcements and
 * adverts, the NAT check and table sweeps wait for it. Each of these tolerates a second more; in an
 * idle 50-member lab they were most of the 7–8 timer wake-ups a second, one per item.
 */
export const BEAT_MS = 1000;

/** The handshake guard's tables are swept at least this often (on a wake-up that happens anyway). */
const SESSION_SWEEP_MS = 1000;

export class ControlPlane implements ProbePort, RoutePort {
  readonly prober: Prober;
  readonly router: Router;
  readonly sessions: SessionTable | undefined;
  readonly traffic: ControlTraffic;
  readonly scheduler: WakeScheduler;
  /** The node's housekeeping beat, at a random phase so that nodes started together do not beat together. */
  readonly beat: Beat;
  private readonly sessionsWrapped: SessionPort | undefined;
  private readonly clock: Clock;
  private readonly ports: ControlPlanePorts;
  private carrier: CarrierTimerWork | undefined;
  /** Timer firings by the core that had work due (idle cost: which one keeps waking us). */
  readonly wakeupsBy = zeroCounts(WAKE_CAUSES);
  /** The session table's tick runs on the first wake-up from then on, due or not (see run). */
  private sessionSweepAt = -Infinity;

  constructor(opts: ControlPlaneOptions) {
    const { ports } = opts;
    this.clock = opts.clock;
    this.ports = ports;
    this.sessions = opts.sessions;
    this.traffic = opts.traffic ?? new ControlTraffic();
    const random = opts.random;
    const beatMs = opts.beatMs ?? BEAT_MS;
    this.beat = beatMs > 0 ? beat(beatMs, (random ?? Math.random)() * beatMs) : NO_BEAT;
    this.prober = new Prober({
      params: opts.probeParams,
      ports: {
        sendProbe: (member, key, probeId) => {
          const sent = ports.sendProbe(member, key, probeId);
          if (sent) this.traffic.probe();
          return sent;
        },
        random,
        loopLagMs: (now) => opts.loopLag?.allowanceMs(now) ?? 0,
        beat: this.beat,
      },
    });
    this.router = new Router({
      self: opts.self,
      members: opts.members,
      params: opts.routingParams,
      prober: this.prober,
      ports: {
        sendControl: (neighbor, message) => {
          this.traffic.control(message);
          ports.sendControl(neighbor, message);
        },
        sign: ports.sign,
        verify: ports.verify,
        wallClock: ports.wallClock,
        random,
        cpuClock: ports.cpuClock,
        beat: this.beat,
      },
    });
    const sessions = opts.sessions;
    // A new path may lead where the direct link never did: retry a stuck handshake at once.
    if (sessions)
      this.router.onRouteChange((c) => {
        if (c.to) sessions.notePathChanged(c.dst, this.clock.now());
      });
    this.sessionsWrapped = sessions && this.wrapSessions(sessions);
    this.scheduler = new WakeScheduler(
      this.clock,
      opts.timers,
      {
        nextWakeAt: () => this.nextWakeAt(),
        run: (now) => {
          this.countWake(now);
          this.run(now);
          this.carrier?.afterRun?.(now);
        },
      },
      opts.loopLag,
    );
    this.scheduler.poke();
  }

  // ---- when -------------------------------------------------------------------------------------

  /** The earliest time any core has work. */
  nextWakeAt(): number {
    let w = Math.min(this.prober.nextWakeAt(), this.router.nextWakeAt());
    if (this.carrier) w = Math.min(w, this.carrier.nextWakeAt(this.clock.now()));
    return this.sessions ? Math.min(w, this.sessions.nextWakeAt(this.clock.now())) : w;
  }

  /**
   * The carrier's own timer work (the daemon's data plane: end-to-end path probes, table sweeps) runs
   * on this same timer, after the prober and before the router, so a path it reports failed is routed
   * around in the same wake-up.
   */
  attachCarrier(carrier: CarrierTimerWork): void {
    this.carrier = carrier;
    this.scheduler.poke();
  }

  private countWake(now: number): void {
    let any = false;
    const due = (cause: WakeCause, at: number | undefined): void => {
      if (at === undefined || at > now) return;
      this.wakeupsBy[cause]++;
      any = true;
    };
    due('prober', this.prober.nextWakeAt());
    due('carrier', this.carrier?.nextWakeAt(now));
    due('router', this.router.nextWakeAt());
    due('sessions', this.sessions?.nextWakeAt(now));
    if (!any) this.wakeupsBy.none++;
  }

  /**
   * Runs what is due: the prober first, so the router sees this instant's link changes. The prober's
   * and the session table's ticks walk their tables (the probed members; every session), so each runs
   * only when its own nextWakeAt has come, not on every wake-up of any core: in an idle 50-member lab
   * the timer fired 7.2 times a second and those two walks were 11 % of a daemon's CPU while the
   * prober had work due 2.3 times a second and the sessions 0.4 (benchmarks/README.md). Both
   * nextWakeAt are never late: every input that brings work forward lowers them. The session table's
   * tick also sweeps the handshake guard's tables; those are capped whatever, and swept at least every
   * SESSION_SWEEP_MS of wake-ups.
   */
  run(now: number): void {
    if (this.prober.nextWakeAt() <= now) this.prober.tick(now);
    this.carrier?.tick(now);
    this.router.tick(now);
    const sessions = this.sessions;
    if (!sessions || (sessions.nextWakeAt(now) > now && now < this.sessionSweepAt)) return;
    this.sessionSweepAt = now + SESSION_SWEEP_MS;
    for (const peer of sessions.tick(now)) this.ports.sendHandshake?.(peer, now);
    for (const r of sessions.repeatsDue()) this.ports.repeatHandshake?.(r.peer, r.body, now);
  }

  /** Something outside the ports changed the cores (a reload): re-arm if work came forward. */
  poke(): void {
    this.scheduler.poke();
  }

  stop(): void {
    this.scheduler.stop();
  }

  // ---- ProbePort ----------------------------------------------------------------------------------

  link(member: NodeId): LinkView | undefined {
    return this.prober.link(member);
  }

  endpoints(member: NodeId): EndpointView[] {
    return this.prober.endpoints(member);
  }

  onReply(member: NodeId, endpointKey: string, probeId: number, now: number): boolean {
    const proven = this.prober.onReply(member, endpointKey, probeId, now);
    this.router.tick(now);
    this.scheduler.poke();
    return proven;
  }

  /** We echo probe `probeId` from `member`; its NO_RETURN_BIT decides whether we probe it back. */
  onProbeReceived(member: NodeId, endpointKey: string, now: number, probeId: number): void {
    this.traffic.echo();
    this.prober.onProbeReceived(member, endpointKey, now, probeId);
    this.scheduler.poke();
  }

  learnEndpoint(member: NodeId, endpointKey: string, now: number): boolean {
    const added = this.prober.learnEndpoint(member, endpointKey, now);
    if (added) this.scheduler.poke();
    return added;
  }

  /** Punch candidates of `member` to probe now (nat/): work for the prober's timer at once. */
  punch(member: NodeId, endpointKeys: readonly string[], probes: number, now: number): string[] {
    const added = this.prober.punch(member, endpointKeys, probes, now);
    this.scheduler.poke();
    return added;
  }

  probedUs(member: NodeId, now: number): string | undefined {
    return this.prober.probedUs(member, now);
  }

  wantsDirectLink(member: NodeId, now: number): boolean {
    return this.prober.wantsDirectLink(member, now);
  }

  markActive(member: NodeId, now: number, cause?: ActiveCause): void {
    this.prober.markActive(member, now, cause);
    this.scheduler.poke();
  }

  activeUntil(member: NodeId): number {
    return this.prober.activeUntil(member);
  }

  noteRelayed(member: NodeId, src: NodeId, dst: NodeId, now: number): void {
    this.prober.noteRelayed(member, src, dst, now);
    this.scheduler.poke();
  }

  sessionUp(member: NodeId, now: number): void {
    this.prober.sessionUp(member, now);
    this.scheduler.poke();
  }

  /** Configured (or resolved) endpoints of `member`. */
  setEndpoints(member: NodeId, endpointKeys: readonly string[]): void {
    this.prober.setEndpoints(member, endpointKeys);
    this.scheduler.poke();
  }

  /** A member left the configuration (reload). */
  removeMember(member: NodeId): void {
    this.prober.removeMember(member);
    this.scheduler.poke();
  }

  /** The member list changed (reload). */
  setMembers(members: readonly RouterMember[]): void {
    this.router.setMembers(members);
    this.scheduler.poke();
  }

  // ---- RoutePort ----------------------------------------------------------------------------------

  route(dst: NodeId): Path | undefined {
    return this.router.route(dst);
  }

  receiveControl(from: NodeId, message: Uint8Array, now: number): void {
    this.router.receiveControl(from, message, now);
    this.scheduler.poke();
  }

  avoid(dst: NodeId, relays: readonly NodeId[], until: number): void {
    this.router.avoid(dst, relays, until);
    this.scheduler.poke();
  }

  linkMtu(from: NodeId, to: NodeId): number | undefined {
    return this.router.linkMtu(from, to);
  }

  setOwnLinkMtu(neighbor: NodeId, datagram: number | undefined): void {
    this.router.setOwnLinkMtu(neighbor, datagram);
    this.scheduler.poke();
  }

  // ---- SessionPort --------------------------------------------------------------------------------

  /** The session table as the data plane sees it: every change that may bring a handshake forward pokes. */
  get sessionPort(): SessionPort {
    if (!this.sessionsWrapped) throw new Error('this control plane has no session table');
    return this.sessionsWrapped;
  }

  private wrapSessions(s: SessionTable): SessionPort {
    const poke = (): void => this.scheduler.poke();
    return {
      sendKeypair: (peer: NodeId, now: number): DataKeypair | undefined => s.sendKeypair(peer, now),
      open: (buf: Buffer, addrOffset: number, length: number, now: number, pathFlags: number): number =>
        s.open(buf, addrOffset, length, now, pathFlags),
      receiveKeypair: (receiverIndex: number) => s.receiveKeypair(receiverIndex),
      confirmReceived: (peer: NodeId, keypair: DataKeypair): void => {
        s.confirmReceived(peer, keypair);
        poke();
      },
      noteWantToSend: (peer: NodeId, now: number): void => {
        s.noteWantToSend(peer, now);
        poke();
      },
      createInitiation: (peer: NodeId, now: number, countAttempt?: boolean): Buffer => {
        // A path's cost is about half its round trip (link cost: rtt / 2 + small penalties).
        const body = s.createInitiation(peer, now, countAttempt, 2 * (this.router.route(peer)?.cost ?? 0));
        this.traffic.handshake('initiation');
        poke();
        return body;
      },
      consumeInitiation: (
        src: NodeId,
        body: Uint8Array,
        source: HandshakeSource,
        now: number,
      ): HandshakeResult<{ response: Buffer }> => {
        const r = s.consumeInitiation(src, body, source, now);
        if (r.ok) this.traffic.handshake('response');
        poke();
        return r;
      },
      consumeResponse: (
        src: NodeId,
        body: Uint8Array,
        source: HandshakeSource,
        now: number,
      ): HandshakeResult<object> => {
        const r = s.consumeResponse(src, body, source, now);
        poke();
        return r;
      },
      // A cookie taken means a retry is due (the session table lowers its wake time): look again.
      consumeCookieReply: (
        src: NodeId,
        body: Uint8Array,
        now: number,
      ): HandshakeResult<{ retry: boolean }> => {
        const r = s.consumeCookieReply(src, body, now);
        poke();
        return r;
      },
    };
  }
}
