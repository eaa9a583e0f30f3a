// The daemon's underlay when the WebSocket transport is on: the UDP transport and the ws transport
// behind one Transport. Sends go by the endpoint's kind (`via: 'ws'` → ws, else UDP); both deliver
// to the same handler, so the data plane sees one stream of datagrams with their sources.
import type {
  Endpoint,
  FastReceivePort,
  FastRoute,
  HandshakeLoadOptions,
  RxBatch,
  Transport,
  TxSlots,
} from './transport.js';
import type { WsTransport } from './ws-transport.js';

export class WsDualTransport implements Transport {
  /** Which transport the open reservation belongs to (commit goes to the same one). */
  private reservedBy: Transport | undefined;

  constructor(
    readonly udp: Transport,
    readonly ws: WsTransport,
  ) {}

  get port(): number {
    return this.udp.port;
  }

  private pick(to: Endpoint): Transport {
    return to.via === 'ws' ? this.ws : this.udp;
  }

  send(data: Buffer, to: Endpoint): void {
    this.pick(to).send(data, to);
  }

  sendQueued(data: Uint8Array, to: Endpoint): void {
    this.pick(to).sendQueued(data, to);
  }

  reserve(to: Endpoint, n: number): TxSlots | undefined {
    this.reservedBy = this.pick(to);
    return this.reservedBy.reserve(to, n);
  }

  commit(used: number): void {
    this.reservedBy?.commit(used);
    this.reservedBy = undefined;
  }

  flush(): void {
    this.udp.flush();
    this.ws.flush();
  }

  onBatch(handler: (batch: RxBatch) => void): void {
    this.udp.onBatch(handler);
    this.ws.onBatch(handler);
  }

  onOversized(handler: () => void): void {
    this.udp.onOversized?.(handler);
  }

  setDialTargets(endpoints: readonly Endpoint[]): void {
    this.ws.setDialTargets(endpoints);
  }

  /** UDP only: a ws link is a connection, not a spoofable source. */
  handshakeLoad(options: HandshakeLoadOptions): void {
    this.udp.handshakeLoad?.(options);
  }

  provenEndpoint(endpoint: Endpoint, on: boolean): void {
    if (endpoint.via !== 'ws') this.udp.provenEndpoint?.(endpoint, on);
  }

  fastRoute(to: Endpoint): FastRoute | undefined {
    return to.via === 'ws' ? undefined : this.udp.fastRoute?.(to);
  }

  countFastSends(sent: number, dropped: number, errno: number): void {
    this.udp.countFastSends?.(sent, dropped, errno);
  }

  /** The UDP sockets' lane: a ws link's packets always take the JS path. */
  get fastReceive(): FastReceivePort | undefined {
    return this.udp.fastReceive;
  }

  countFastReceives(datagrams: number): void {
    this.udp.countFastReceives?.(datagrams);
  }

  noteAuthenticated(from: Endpoint): void {
    if (from.via === 'ws') this.ws.noteAuthenticated(from);
  }

  async close(): Promise<void> {
    await Promise.all([this.udp.close(), this.ws.close()]);
  }
}
