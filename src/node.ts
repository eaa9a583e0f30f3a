// Composition root: builds every component of a running node from its inputs and wires them together.
// The pure parts (sessions, prober, router) sit behind node/control-plane.ts, the wiring the simulator
// runs too, which owns their one timer (armed at their earliest nextWakeAt(), not a fixed tick).
//
//   tun ──► forward/outbound ──► transport
//   transport ──► forward/inbound ──► tun | forward/relay ──► transport | forward/control-channel
//   control plane timer ──► probes out · adverts out, routes · handshakes out
import { systemClock, systemTimers, type Clock, type Timers } from './clock.js';
import { diffConfig } from './config/diff.js';
import { loadConfig } from './config/load.js';
import { probedNeighbours } from './config/neighbours.js';
import { findSelf } from './config/self.js';
import { DEFAULT_NAT_KEEPALIVE_S } from './config/validate-network.js';
import type { NatOptions } from './nat/nat-channel.js';
import { parseIp } from './config/ip.js';
import { endpointKey, isWsEndpointKey } from './transport/transport.js';
import { configWarnings, formatWarning } from './config/warnings.js';
import { controlHandlers } from './control/handlers.js';
import { ControlServer } from './control/server.js';
import { isOverlayError, OverlayError } from './errors.js';
import type { OverlayConfig, PeerConfig } from './config/types.js';
import { DataPlaneCounters } from './forward/counters.js';
import { DataPlane } from './forward/data-plane.js';
import { PeerTable } from './forward/peer-table.js';
import { sign, verify, type KeyPair } from './identity/keys.js';
import { formatNodeId, type NodeId } from './identity/node-id.js';
import type { HostNetworkFactory } from './host/host-network.js';
import { EventLog, type Logger } from './log.js';
import { ControlPlane } from './node/control-plane.js';
import { EndpointResolver, type ResolveFn } from './node/endpoint-resolver.js';
import { MemberDiagnostics } from './node/member-diagnostics.js';
import { RouteHistory } from './node/route-history.js';
import { describeRouteChange, routeChangeFields } from './node/route-log.js';
import { SubnetService } from './node/subnets.js';
import { LoopLag } from './node/loop-lag.js';
import { WsFallback } from './node/ws-fallback.js';
import type { Prober } from './probe/prober.js';
import type { ProbeParams } from './probe/probe-params.js';
import type { Router } from './routing/router.js';
import type { RoutingParams } from './routing/routing-params.js';
import { SessionTable } from './session/session-table.js';
import type { SessionParamsInput } from './session/params.js';
import type { TunDevice, TunOptions } from './tun/tun-device.js';
import type { Endpoint, Transport } from './transport/transport.js';

const isIpLiteral = (host: string): boolean => parseIp(host) !== null;

export interface NodeInputs {
  config: OverlayConfig;
  keyPair: KeyPair;
  interfaceName: string;
  log: Logger;
  openTun: (opts: TunOptions) => TunDevice;
  /** Opens the underlay on `port`, sized for datagrams of an overlay MTU of `mtu`. */
  openTransport: (port: number, mtu: number) => Promise<Transport>;
  /** UDP port; default network.port. */
  port?: number;
  /** peers.yaml as the operator named it (reload rereads it); default config.file. */
  configPath?: string;
  /** Unix socket for the CLI; null for none (in-process tests). */
  controlSocket?: string | null;
  /** Monotonic time; default the system clock. Tests pass a virtual one together with `timers`. */
  clock?: Clock;
  /** Timers on `clock`'s scale for the control plane; default real ones (setTimeout). */
  timers?: Timers;
  /** Uniform [0, 1) for the prober's and router's jitter and choices; default Math.random. */
  random?: () => number;
  /** Wall-clock ms (advert sequence numbers, route history); default Date.now. */
  wallClock?: () => number;
  resolve?: ResolveFn;
  probeParams?: Partial<ProbeParams>;
  routingParams?: RoutingParams;
  /** The control plane's housekeeping beat in ms (control-plane.ts BEAT_MS); 0: none. */
  beatMs?: number;
  sessionParams?: SessionParamsInput;
  /** Routes into the TUN for members' subnets, masquerade for ours; absent: the host is left alone. */
  hostNetwork?: HostNetworkFactory;
  /** NAT traversal limits (tests shrink or stop punching); default nat/ defaults. */
  natParams?: Pick<NatOptions, 'reflexive' | 'punch'>;
}

export interface ReloadSummary {
  added: string[];
  removed: string[];
  changed: string[];
  /** Members listed under the same name with a new public key: old sessions closed, new ones start. */
  rekeyed: string[];
  /** SHA-256 of the file now running. */
  sha256: string;
}

/** Reloads since start, for the metrics and the log. */
export interface ReloadCounts {
  applied: number;
  rejected: number;
}

export class OverlayNode {
  readonly self: PeerConfig;
  readonly counters = new DataPlaneCounters();
  readonly peers: PeerTable;
  readonly sessions: SessionTable;
  readonly plane: ControlPlane;
  readonly prober: Prober;
  readonly router: Router;
  readonly dataPlane: DataPlane;
  /** Site LANs behind members: which gateway carries each, and the host routes for them. */
  readonly subnets: SubnetService;
  readonly startedAt: number;
  readonly routeHistory = new RouteHistory();
  /** Timer drift: a daemon starved of CPU does not count its own stalls as lost probes (prober). */
  readonly loopLag = new LoopLag();
  readonly reloads: ReloadCounts = { applied: 0, rejected: 0 };
  /** Structured, rate-limited event lines (log.ts). */
  readonly events: EventLog;
  /** Per-member events, handshake failures, duplicate-key suspicion (node/member-diagnostics.ts). */
  readonly diagnostics: MemberDiagnostics;
  /** Wall-clock ms when the running peers.yaml was loaded (start or last applied reload). */
  configLoadedAt = Date.now();
  private config: OverlayConfig;
  private readonly configPath: string;
  private readonly keyPair: KeyPair;
  private readonly log: Logger;
  private control: ControlServer | undefined;
  private readonly resolver: EndpointResolver;
  /** Adds members' ws endpoints when UDP to them fails; only with a transport that can dial. */
  private readonly wsFallback: WsFallback | undefined;
  private stopped = false;

  private constructor(
    inputs: NodeInputs,
    readonly tun: TunDevice,
    readonly transport: Transport,
  ) {
    const { config, keyPair, log } = inputs;
    const clock = inputs.clock ?? systemClock;
    const wallClock = inputs.wallClock ?? Date.now;
    this.config = config;
    this.configPath = inputs.configPath ?? config.file;
    this.keyPair = keyPair;
    this.log = log;
    this.self = findSelf(config, keyPair.publicKey);
    this.startedAt = clock.now();
    const others = config.peers.filter((p) => p.id !== this.self.id);
    this.peers = new PeerTable(config.peers, this.self.id);
    this.events = new EventLog(log, () => clock.now());
    this.sessions = new SessionTable({
      localKeyPair: keyPair,
      localId: this.self.id,
      peers: others,
      params: inputs.sessionParams,
    });
    // The ports close over `this.dataPlane`, which exists before the first timer can call them.
    this.plane = new ControlPlane({
      self: this.self.id,
      members: config.peers.map((p) => ({ id: p.id, publicKey: p.publicKey })),
      clock,
      timers: inputs.timers ?? systemTimers(clock),
      sessions: this.sessions,
      random: inputs.random,
      probeParams: {
        maxProbedMembers: probedNeighbours(config.network.neighbours, config.peers.length),
        ...inputs.probeParams,
      },
      routingParams: inputs.routingParams,
      beatMs: inputs.beatMs,
      loopLag: this.loopLag,
      ports: {
        sendProbe: (member, key, id) => this.dataPlane.control.sendProbe(member, key, id),
        sendControl: (neighbor, message) => this.dataPlane.control.sendControl(neighbor, message),
        sendHandshake: (peer, now) => this.dataPlane.control.sendHandshake(peer, now),
        repeatHandshake: (peer, body, now) => this.dataPlane.control.sendInitiation(peer, body, now),
        sign: (message) => sign(message, keyPair.secretKey),
        verify,
        wallClock,
        cpuClock: () => performance.now(),
      },
    });
    this.prober = this.plane.prober;
    this.router = this.plane.router;
    this.diagnostics = new MemberDiagnostics(
      {
        members: () => this.sessions.peers(),
        nameOf: this.nameOf,
        link: (id) => this.prober.link(id),
        session: (id, now) => this.sessions.stats(id, now),
      },
      this.events,
    );
    this.dataPlane = new DataPlane(
      {
        self: this.self.id,
        peers: this.peers,
        sessions: this.plane.sessionPort,
        prober: this.plane,
        router: this.plane,
        transport,
        tun,
        counters: this.counters,
        clock,
        log: log.child('forward'),
        wake: () => this.plane.poke(),
        beat: this.plane.beat,
        observer: this.diagnostics,
        mssClamp: config.network.mssClamp === true,
      },
      {
        keepaliveMs: (config.network.natKeepalive ?? DEFAULT_NAT_KEEPALIVE_S) * 1000,
        listedSelf: () => this.self.endpoints.filter((e) => isIpLiteral(e.host)).map(endpointKey),
        advertisedEndpoints: (member) => this.router.advertisedEndpoints(member),
        onPublishedChange: (published) => this.router.setOwnEndpoints(published),
        ...inputs.natParams,
      },
    );
    // The data plane's timer work, the ws fallback's and the diagnostics' look at links and sessions
    // share the one timer: what the last two watch changes only when the cores run.
    this.plane.attachCarrier({
      nextWakeAt: (now) => this.dataPlane.nextWakeAt(now),
      tick: (now) => {
        this.wsFallback?.tick(now);
        this.dataPlane.tick(now);
        this.diagnostics.tick(now);
      },
      afterRun: (now) => this.dataPlane.syncFastLane(now),
    });
    const applyEndpoints = (member: NodeId, endpoints: Endpoint[]): void => {
      const keys = this.peers.setEndpoints(member, endpoints);
      this.plane.setEndpoints(member, keys);
    };
    const setDialTargets = transport.setDialTargets?.bind(transport);
    this.wsFallback = setDialTargets
      ? new WsFallback(
          {
            apply: applyEndpoints,
            setDialTargets,
            udpAlive: (m) => this.prober.hasAliveEndpoint(m, (key) => !isWsEndpointKey(key)),
            relayed: (m) => (this.router.route(m)?.nodes.length ?? 0) > 2,
          },
          config.network.tcpPort || undefined,
        )
      : undefined;
    this.resolver = new EndpointResolver({
      log: log.child('resolve'),
      resolve: inputs.resolve,
      apply: (member, endpoints) =>
        this.wsFallback
          ? this.wsFallback.setEndpoints(member, endpoints, clock.now())
          : applyEndpoints(member, endpoints),
    });
    this.subnets = new SubnetService({
      self: this.self.id,
      peers: this.peers,
      router: this.router,
      clock,
      wallClock: Date.now,
      log: log.child('subnet'),
      nameOf: this.nameOf,
      host: inputs.hostNetwork?.(tun.name, log.child('host')),
    });
    this.subnets.apply(config);
    const routeEvents = new EventLog(log.child('route'), () => clock.now());
    this.router.onRouteChange((change) => {
      routeEvents.emit(
        'info',
        'path-change',
        this.nameOf(change.dst),
        routeChangeFields(change, this.nameOf),
        describeRouteChange(change, this.nameOf),
      );
      const record = this.routeHistory.add(change, wallClock());
      this.control?.broadcast({ event: 'route-change', data: record });
    });
    transport.onBatch(this.dataPlane.inbound.onBatch);
    transport.onOversized?.(() => this.counters.drop('oversized'));
    // Junk, replayed and (under load) strangers' cookie-less initiations beyond their cookie budget never
    // cross into JS where the transport can tell (a flood's cost); members' proven endpoints always do.
    transport.handshakeLoad?.(this.sessions.handshakeLoad());
    this.peers.onBindingChange((endpoint, bound) => transport.provenEndpoint?.(endpoint, bound));
    tun.start(this.dataPlane.outbound.onTunBatch);
    this.resolver.setPeers(others);
    log.info(
      `up: ${this.self.name} (${formatNodeId(this.self.id)}) ${this.self.address} on ${tun.name}, ` +
        `udp port ${transport.port}, ${others.length} other members, config sha256 ${config.sha256.slice(0, 12)}`,
    );
    this.logWarnings(config);
  }

  static async start(inputs: NodeInputs): Promise<OverlayNode> {
    const { config } = inputs;
    const self = findSelf(config, inputs.keyPair.publicKey);
    const addresses = [{ address: self.address, prefixLength: config.network.prefix.prefixLength }];
    if (self.address6 && config.network.prefix6) {
      addresses.push({ address: self.address6, prefixLength: config.network.prefix6.prefixLength });
    }
    const transport = await inputs.openTransport(inputs.port ?? config.network.port, config.network.mtu);
    let tun: TunDevice;
    try {
      tun = inputs.openTun({ name: inputs.interfaceName, mtu: config.network.mtu, addresses });
    } catch (err) {
      await transport.close();
      throw err;
    }
    const node = new OverlayNode(inputs, tun, transport);
    await node.subnets.settled();
    if (inputs.controlSocket) {
      try {
        const clock = inputs.clock ?? systemClock;
        node.control = await ControlServer.listen(
          inputs.controlSocket,
          controlHandlers(node, () => clock.now()),
          inputs.log.child('control'),
        );
      } catch (err) {
        await node.stop();
        throw err;
      }
    }
    return node;
  }

  /**
   * Rereads peers.yaml (SIGHUP, `overlayd reload`). A bad file throws and changes nothing. Either way
   * the outcome is logged here, so a reload asked for over the control socket (systemctl reload) leaves
   * its reason in the daemon's journal too, not only in the CLI's output.
   */
  reloadFromFile(trigger = 'SIGHUP'): ReloadSummary {
    try {
      return this.reload(loadConfig(this.configPath));
    } catch (err) {
      this.reloads.rejected++;
      const why = isOverlayError(err) ? err.message : String(err);
      this.events.emit(
        'error',
        'reload-rejected',
        '',
        { trigger, reason: why },
        `reload (${trigger}) rejected, running configuration kept: ${why}`,
      );
      throw err;
    }
  }

  /**
   * Applies a new member list: added members join, removed ones are dropped with their sessions.
   * Changes that need new sockets or a new interface (network section, our own address) are refused,
   * and the running configuration stays.
   */
  reload(next: OverlayConfig): ReloadSummary {
    const diff = diffConfig(this.config, next);
    if (diff.networkChanged.length > 0) {
      throw new OverlayError(
        'ERR_CONFIG',
        `${this.configPath}: network.${diff.networkChanged.join(', network.')} changed; that needs a restart ` +
          `(the running configuration stays)`,
      );
    }
    if (!next.peers.some((p) => p.publicKey.equals(this.keyPair.publicKey))) {
      throw new OverlayError(
        'ERR_NOT_MEMBER',
        `${this.configPath}: this node's public key ${this.keyPair.publicKey.toString('base64')} is no longer ` +
          `listed. If this node's key was rotated, restart it with the new key file: a running daemon ` +
          `cannot change its own key (README, "Key rotation")`,
      );
    }
    const self = findSelf(next, this.keyPair.publicKey);
    if (self.address !== this.self.address || self.address6 !== this.self.address6) {
      throw new OverlayError(
        'ERR_CONFIG',
        `${this.configPath}: this node's own address changed; that needs a restart`,
      );
    }
    this.config = next;
    const others = next.peers.filter((p) => p.id !== this.self.id);
    this.peers.setMembers(next.peers);
    this.subnets.apply(next);
    this.sessions.setPeers(others);
    this.plane.setMembers(next.peers.map((p) => ({ id: p.id, publicKey: p.publicKey })));
    for (const p of diff.removed) {
      this.plane.removeMember(p.id);
      this.wsFallback?.removeMember(p.id);
      this.dataPlane.forget(p.id);
      this.diagnostics.forget(p.id);
    }
    // Members whose endpoints or addresses changed: the fast lane decides again now, not at its lease's end.
    this.dataPlane.syncFastLane();
    this.resolver.setPeers(others);
    // A member listed under its old name with a new key: to every other part of the daemon it is a
    // removed member (its sessions are zeroed, its adverts and routes dropped) and a new one (new node
    // id, fresh handshakes), but the operator rotated a key, and is told so.
    const addedNames = new Set(diff.added.map((p) => p.name));
    const rekeyed = diff.removed.filter((p) => addedNames.has(p.name)).map((p) => p.name);
    const summary: ReloadSummary = {
      added: diff.added.map((p) => p.name).filter((n) => !rekeyed.includes(n)),
      removed: diff.removed.map((p) => p.name).filter((n) => !rekeyed.includes(n)),
      changed: diff.changed.map((p) => p.name),
      rekeyed,
      sha256: next.sha256,
    };
    this.reloads.applied++;
    this.configLoadedAt = Date.now();
    this.events.emit(
      'info',
      'reload-applied',
      '',
      {
        sha256: next.sha256.slice(0, 12),
        members: next.peers.length,
        added: summary.added.join(',') || undefined,
        removed: summary.removed.join(',') || undefined,
        changed: summary.changed.join(',') || undefined,
        rekeyed: rekeyed.join(',') || undefined,
      },
      `reloaded ${this.configPath} (sha256 ${next.sha256.slice(0, 12)}): ${next.peers.length} members; ` +
        `added [${summary.added.join(', ')}], removed [${summary.removed.join(', ')}], ` +
        `changed [${summary.changed.join(', ')}], new keys [${rekeyed.join(', ')}]`,
    );
    for (const name of rekeyed) {
      this.log.info(`${name}: key rotated; sessions with the old key closed, handshaking with the new one`);
    }
    this.logWarnings(next);
    return summary;
  }

  private logWarnings(config: OverlayConfig): void {
    for (const w of configWarnings(config)) this.log.warn(formatWarning(this.configPath, w));
  }

  /** The name of a member, for logs and status. */
  readonly nameOf = (id: NodeId): string => this.peers.get(id)?.name ?? formatNodeId(id);

  get configuration(): OverlayConfig {
    return this.config;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.plane.stop();
    this.resolver.stop();
    await this.control?.close();
    this.dataPlane.pinger.close();
    await this.subnets.stop();
    this.tun.close();
    await this.transport.close();
    this.sessions.close();
  }
}
