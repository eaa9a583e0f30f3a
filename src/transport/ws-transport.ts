// The WebSocket underlay: sealed overlay datagrams as binary frames over TCP (optionally TLS), for
// sites whose networks block UDP. It is one more link type, not one more protocol: every frame is a
// datagram exactly as it would cross UDP (routed header, Noise handshake or sealed Data), so the data
// plane, the prober and the endpoint proofs treat a connection like a UDP address whose key starts
// with `ws://` (transport.ts).
//
//   accept   an HTTP(S) server per address family on the TCP port (bound like the UDP sockets);
//            upgrades to /overlayd are admitted under caps (ws-admission.ts); a connection that has
//            not carried an authenticated packet within authTimeoutMs is closed. Its endpoint is the
//            remote ip:port: the data plane proves it (a probe round trip) before binding it.
//   dial     only to the targets the node sets (member addresses from peers.yaml, when UDP to the
//            member fails: node/ws-fallback.ts), never to an address a packet claims; after a failure
//            the next dial waits (ws-backoff.ts).
//   send     one frame per datagram; bounded queues (ws-link.ts): congested frames are dropped and
//            counted, like a full UDP socket buffer.
//   receive  one batch per frame; non-binary frames dropped; a frame over the datagram size closes
//            the connection (ws's maxPayload, counted).
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { OverlayError } from '../errors.js';
import type { Logger } from '../log.js';
import { OneByOneTransport, SingleBatch } from './queued-sends.js';
import { endpointKey, type Endpoint, type RxBatch } from './transport.js';
import { DEFAULT_WS_ADMISSION, WsAdmission, type WsAdmissionLimits } from './ws-admission.js';
import { DEFAULT_WS_BACKOFF, WsBackoff, type WsBackoffParams } from './ws-backoff.js';
import { DEFAULT_WS_LINK_LIMITS, WsLink, type WsLinkLimits } from './ws-link.js';

/** The HTTP path of the upgrade; anything else gets a 404, so a scanner learns little. */
export const WS_PATH = '/overlayd';

export interface WsTls {
  cert: Buffer;
  key: Buffer;
}

export interface WsTransportOptions {
  /** TCP port to listen on (0: any free port, for tests). */
  port: number;
  host4?: string;
  /** null: no IPv6 listener. */
  host6?: string | null;
  tls?: WsTls;
  /** Largest frame accepted: the largest datagram of the overlay MTU (wire/sizes.ts). */
  maxFrameBytes: number;
  admission?: Partial<WsAdmissionLimits>;
  linkLimits?: Partial<WsLinkLimits>;
  backoff?: WsBackoffParams;
  /** An accepted connection without an authenticated packet this long is closed. */
  authTimeoutMs?: number;
  /** A connection that received nothing this long is closed (probes cross a live link every second). */
  silentTimeoutMs?: number;
  log: Logger;
  now?: () => number;
  random?: () => number;
}

export interface WsCounters {
  framesSent: number;
  framesReceived: number;
  bytesSent: number;
  bytesReceived: number;
  /** Dropped because the connection's queue was over its bound. */
  dropCongested: number;
  /** Dropped because there was no connection and none could be dialled (not a target, backing off). */
  dropNoLink: number;
  dropNotBinary: number;
  /** Connections closed for a frame over maxFrameBytes. */
  oversizedFrames: number;
  accepted: number;
  /** Upgrades refused by the admission caps. */
  rejected: number;
  authTimeouts: number;
  silentTimeouts: number;
  dials: number;
  dialFailures: number;
}

interface DialTarget {
  endpoint: Endpoint;
  backoff: WsBackoff;
}

const SWEEP_MS = 1000;

export class WsTransport extends OneByOneTransport {
  readonly port: number;
  readonly counters: WsCounters = {
    framesSent: 0,
    framesReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    dropCongested: 0,
    dropNoLink: 0,
    dropNotBinary: 0,
    oversizedFrames: 0,
    accepted: 0,
    rejected: 0,
    authTimeouts: 0,
    silentTimeouts: 0,
    dials: 0,
    dialFailures: 0,
  };
  private readonly links = new Map<string, WsLink>();
  private readonly lastRx = new WeakMap<WsLink, number>();
  private readonly dialTargets = new Map<string, DialTarget>();
  private readonly keys = new WeakMap<Endpoint, string>();
  private readonly admission: WsAdmission;
  private readonly wss: WebSocketServer;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly sweepTimer: NodeJS.Timeout;
  private handler: (batch: RxBatch) => void = () => {};
  private readonly batch = new SingleBatch();
  private closing = false;

  private constructor(
    private readonly opts: WsTransportOptions,
    private readonly servers: http.Server[],
  ) {
    super();
    this.port = (servers[0]!.address() as AddressInfo).port;
    this.now = opts.now ?? (() => performance.now());
    this.random = opts.random ?? Math.random;
    this.admission = new WsAdmission({ ...DEFAULT_WS_ADMISSION, ...opts.admission });
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: opts.maxFrameBytes,
      perMessageDeflate: false,
    });
    for (const s of servers) s.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweepTimer.unref();
  }

  /** Listens on `opts.port` on every IPv4 address and (if available) every IPv6 address. */
  static async open(opts: WsTransportOptions): Promise<WsTransport> {
    const first = await listen(opts, opts.host4 ?? '0.0.0.0', opts.port);
    const servers = [first];
    if (opts.host6 !== null) {
      try {
        servers.push(await listen(opts, opts.host6 ?? '::', (first.address() as AddressInfo).port));
      } catch (err) {
        opts.log.warn(`IPv6 WebSocket listener unavailable, IPv4 only: ${(err as Error).message}`);
      }
    }
    return new WsTransport(opts, servers);
  }

  onBatch(handler: (batch: RxBatch) => void): void {
    this.handler = handler;
  }

  send(data: Buffer, to: Endpoint): void {
    const key = this.keyOf(to);
    const link = this.links.get(key) ?? this.dial(key);
    if (!link) {
      this.counters.dropNoLink++;
      return;
    }
    const r = link.send(data);
    if (r === 'sent') {
      this.counters.framesSent++;
      this.counters.bytesSent += data.length;
    } else if (r === 'congested') this.counters.dropCongested++;
    else if (r === 'closed') this.counters.dropNoLink++;
  }

  /**
   * The member addresses this node may dial (replaces the previous set). Dialled connections to an
   * address no longer listed are closed; backoff state of addresses still listed is kept.
   */
  setDialTargets(endpoints: readonly Endpoint[]): void {
    const next = new Map<string, DialTarget>();
    for (const e of endpoints) {
      const key = endpointKey({ host: e.host, port: e.port, via: 'ws' });
      next.set(
        key,
        this.dialTargets.get(key) ?? { endpoint: { ...e, via: 'ws' }, backoff: this.newBackoff() },
      );
    }
    for (const [key, link] of this.links) if (link.dialed && !next.has(key)) link.close(1000, 'not needed');
    this.dialTargets.clear();
    for (const [k, v] of next) this.dialTargets.set(k, v);
  }

  /**
   * A packet that arrived from `from` was authenticated (a handshake consumed, a sealed probe opened):
   * the connection belongs to a member and is no longer under the unauthenticated caps and timeout.
   */
  noteAuthenticated(from: Endpoint): void {
    if (from.via !== 'ws') return;
    const link = this.links.get(this.keyOf(from));
    if (!link || link.authenticated) return;
    link.authenticated = true;
    if (link.dialed) this.dialTargets.get(this.keyOf(from))?.backoff.succeeded();
    else this.admission.authenticated(from.host);
  }

  /** Open connections, for status and tests. */
  get connections(): number {
    return this.links.size;
  }

  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.sweepTimer);
    for (const link of this.links.values()) link.socket.terminate();
    this.links.clear();
    this.wss.close();
    await Promise.all(
      this.servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          }),
      ),
    );
  }

  // ---- accepting ------------------------------------------------------------------------------

  private onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.closing || (req.url ?? '').split('?')[0] !== WS_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    const raw = req.socket;
    const host = normaliseHost(raw.remoteAddress ?? '');
    const verdict = this.admission.admit(host);
    if (verdict !== 'ok') {
      this.counters.rejected++;
      this.opts.log.debug(`ws: refused a connection from ${host}: ${verdict}`);
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
      return;
    }
    let link: WsLink | undefined;
    // Released when the TCP connection goes, whether or not the upgrade completed.
    raw.once('close', () => this.admission.closed(host, link?.authenticated ?? false));
    raw.setKeepAlive(true, 10_000);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const endpoint: Endpoint = { host, port: raw.remotePort ?? 0, via: 'ws' };
      link = new WsLink(ws, endpoint, false, this.now(), this.linkLimits());
      this.counters.accepted++;
      const key = endpointKey(endpoint);
      this.links.get(key)?.socket.terminate();
      this.links.set(key, link);
      this.attach(link, key);
    });
  }

  // ---- dialling -------------------------------------------------------------------------------

  private dial(key: string): WsLink | undefined {
    const target = this.dialTargets.get(key);
    if (!target || this.closing || !target.backoff.mayDial(this.now())) return undefined;
    this.counters.dials++;
    const { host, port } = target.endpoint;
    const scheme = this.opts.tls ? 'wss' : 'ws';
    const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}${WS_PATH}`;
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      maxPayload: this.opts.maxFrameBytes,
      handshakeTimeout: 5000,
      // TLS here is an envelope that HTTPS-only networks let through; who is at the other end is
      // proven by the Noise handshake inside (a member's static key), not by a certificate.
      rejectUnauthorized: false,
      // RFC 6455 masks client frames so that script-chosen bytes can't pose as another protocol to a
      // proxy; ours are sealed datagrams, not chosen by a script. An all-zero mask lets ws skip the
      // per-frame copy and XOR (sender.js: skipMasking).
      generateMask: (mask: Buffer) => void mask.fill(0),
    });
    const link = new WsLink(ws, target.endpoint, true, this.now(), this.linkLimits());
    this.links.set(key, link);
    let opened = false;
    ws.once('open', () => {
      opened = true;
      this.opts.log.info(`ws link to ${key} open`);
      this.counters.dropCongested += link.opened();
    });
    ws.once('close', () => {
      if (!opened) this.counters.dialFailures++;
      if (!this.closing && this.dialTargets.get(key) === target) {
        const wait = target.backoff.failed(this.now());
        this.opts.log.info(
          `ws link to ${key} ${opened ? 'closed' : 'failed'}; next dial in ${Math.round(wait)} ms`,
        );
      }
    });
    this.attach(link, key);
    return link;
  }

  // ---- both -----------------------------------------------------------------------------------

  private attach(link: WsLink, key: string): void {
    const ws = link.socket as WebSocket;
    this.lastRx.set(link, link.openedAt);
    ws.on('message', (data: RawData, isBinary: boolean) => this.receive(link, data, isBinary));
    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.counters.oversizedFrames++;
      this.opts.log.debug(`ws ${key}: ${err.message}`);
    });
    ws.on('close', () => {
      if (this.links.get(key) === link) this.links.delete(key);
    });
  }

  private receive(link: WsLink, data: RawData, isBinary: boolean): void {
    if (!isBinary || !Buffer.isBuffer(data)) {
      this.counters.dropNotBinary++;
      return;
    }
    this.counters.framesReceived++;
    this.counters.bytesReceived += data.length;
    this.lastRx.set(link, this.now());
    this.handler(this.batch.set(data, link.endpoint));
  }

  /** Closes connections never authenticated in time, and silent ones (a peer gone without a FIN). */
  private sweep(): void {
    const now = this.now();
    const authTimeout = this.opts.authTimeoutMs ?? 5000;
    const silentTimeout = this.opts.silentTimeoutMs ?? 15_000;
    for (const link of this.links.values()) {
      if (!link.dialed && !link.authenticated && now - link.openedAt > authTimeout) {
        this.counters.authTimeouts++;
        link.socket.terminate();
      } else if (now - (this.lastRx.get(link) ?? now) > silentTimeout) {
        this.counters.silentTimeouts++;
        link.socket.terminate();
      }
    }
  }

  private keyOf(e: Endpoint): string {
    let key = this.keys.get(e);
    if (key === undefined) {
      key = endpointKey(e);
      this.keys.set(e, key);
    }
    return key;
  }

  private linkLimits(): WsLinkLimits {
    return { ...DEFAULT_WS_LINK_LIMITS, ...this.opts.linkLimits };
  }

  private newBackoff(): WsBackoff {
    return new WsBackoff(this.opts.backoff ?? DEFAULT_WS_BACKOFF, this.random);
  }
}

function listen(opts: WsTransportOptions, host: string, port: number): Promise<http.Server> {
  const server = opts.tls
    ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key })
    : http.createServer();
  // Plain HTTP requests (not upgrades) get a short answer: this port speaks only WebSocket.
  server.on('request', (_req, res) => {
    res.writeHead(426, { 'Content-Type': 'text/plain', Connection: 'close' });
    res.end('overlayd: WebSocket only\n');
  });
  server.on('clientError', (_err, socket: Socket) => socket.destroy());
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new OverlayError(
          'ERR_TRANSPORT',
          `cannot listen on TCP ${host} port ${port}: ${err.code ?? err.message}`,
          {
            cause: err,
          },
        ),
      ),
    );
    server.listen({ host, port, ipv6Only: host.includes(':') }, () => resolve(server));
  });
}

/** IPv4-mapped IPv6 addresses (a dual-stack listener) reported as IPv4, as the UDP transport does. */
function normaliseHost(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
