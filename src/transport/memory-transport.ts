// An in-process underlay joining several nodes for e2e tests (Nebula's e2e router, in miniature).
// Each transport gets an address on a MemoryNetwork; the network can cut pairs, lose packets and
// record what crossed it (so a test can check no plaintext is ever on the wire).
import { QueuedSends, SingleBatch } from './queued-sends.js';
import { endpointKey, type Endpoint, type RxBatch, type Transport, type TxSlots } from './transport.js';

export interface WireRecord {
  from: Endpoint;
  to: Endpoint;
  data: Buffer;
}

export class MemoryNetwork {
  private readonly nodes = new Map<string, MemoryTransport>();
  private readonly cuts = new Set<string>();
  private lossRatio = 0;
  /** Every datagram delivered, if recording is on. */
  readonly wire: WireRecord[] = [];
  record = false;
  /**
   * Test hook standing for a hostile relay or an on-path attacker: sees every datagram about to be
   * delivered and may change its bytes in place.
   */
  tamper: ((rec: WireRecord) => void) | undefined;
  delivered = 0;
  dropped = 0;

  attach(host: string, port: number): MemoryTransport {
    const t = new MemoryTransport(this, { host, port });
    this.nodes.set(endpointKey(t.local), t);
    return t;
  }

  detach(t: MemoryTransport): void {
    this.nodes.delete(endpointKey(t.local));
  }

  /** Silently drop everything between two hosts, both directions. */
  cut(a: string, b: string): void {
    this.cuts.add(pairKey(a, b));
  }

  restore(a: string, b: string): void {
    this.cuts.delete(pairKey(a, b));
  }

  setLoss(ratio: number): void {
    this.lossRatio = ratio;
  }

  /** Delivery is asynchronous (a later macrotask), like a real socket. */
  deliver(from: Endpoint, to: Endpoint, data: Buffer): void {
    const dst = this.nodes.get(endpointKey(to));
    if (!dst || this.cuts.has(pairKey(from.host, to.host)) || Math.random() < this.lossRatio) {
      this.dropped++;
      return;
    }
    this.tamper?.({ from, to, data });
    if (this.record) this.wire.push({ from, to, data: Buffer.from(data) });
    setImmediate(() => {
      this.delivered++;
      dst.receive(data, from);
    });
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

export class MemoryTransport implements Transport {
  readonly port: number;
  private handler: (batch: RxBatch) => void = () => {};
  private readonly batch = new SingleBatch();
  private readonly queue = new QueuedSends((data, to) => this.send(data, to));
  private closed = false;

  constructor(
    private readonly net: MemoryNetwork,
    readonly local: Endpoint,
  ) {
    this.port = local.port;
  }

  onBatch(handler: (batch: RxBatch) => void): void {
    this.handler = handler;
  }

  send(data: Buffer, to: Endpoint): void {
    if (!this.closed) this.net.deliver(this.local, to, data);
  }

  sendQueued(data: Uint8Array, to: Endpoint): void {
    this.queue.queue(data, to);
  }

  reserve(to: Endpoint, n: number): TxSlots | undefined {
    return this.closed ? undefined : this.queue.reserve(to, n);
  }

  commit(used: number): void {
    this.queue.commit(used);
  }

  flush(): void {
    this.queue.flush();
  }

  receive(data: Buffer, from: Endpoint): void {
    if (!this.closed) this.handler(this.batch.set(data, from));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.net.detach(this);
  }
}
