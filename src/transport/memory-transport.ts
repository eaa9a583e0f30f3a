// An in-process underlay joining several nodes for e2e tests (Nebula's e2e router, in miniature).
// Each transport gets an address on a MemoryNetwork; the network can cut pairs, lose packets and
// record what crossed it (so a test can check no plaintext is ever on the wire).
import { endpointKey, type Endpoint, type Transport } from './transport.js';

export interface WireRecord {
  from: Endpoint;
  to: Endpoint;
  data: Buffer;
}

export interface MemoryNetworkOptions {
  /**
   * Runs a delivery later. Default setImmediate (a later macrotask, like a real socket); a test on
   * virtual time schedules it on its event queue (with a link delay, say).
   */
  schedule?: (deliver: () => void) => void;
}

export class MemoryNetwork {
  private readonly nodes = new Map<string, MemoryTransport>();
  private readonly schedule: (deliver: () => void) => void;
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

  constructor(opts: MemoryNetworkOptions = {}) {
    this.schedule = opts.schedule ?? ((deliver) => setImmediate(deliver));
  }

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

  /** Delivery is asynchronous (see MemoryNetworkOptions.schedule), like a real socket. */
  deliver(from: Endpoint, to: Endpoint, data: Buffer): void {
    const dst = this.nodes.get(endpointKey(to));
    if (!dst || this.cuts.has(pairKey(from.host, to.host)) || Math.random() < this.lossRatio) {
      this.dropped++;
      return;
    }
    this.tamper?.({ from, to, data });
    if (this.record) this.wire.push({ from, to, data: Buffer.from(data) });
    this.schedule(() => {
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
  private handler: (data: Buffer, from: Endpoint) => void = () => {};
  private closed = false;

  constructor(
    private readonly net: MemoryNetwork,
    readonly local: Endpoint,
  ) {
    this.port = local.port;
  }

  onMessage(handler: (data: Buffer, from: Endpoint) => void): void {
    this.handler = handler;
  }

  send(data: Buffer, to: Endpoint): void {
    if (!this.closed) this.net.deliver(this.local, to, data);
  }

  sendQueued(data: Uint8Array, to: Endpoint): void {
    this.send(Buffer.from(data), to);
  }

  flush(): void {}

  receive(data: Buffer, from: Endpoint): void {
    if (!this.closed) this.handler(data, from);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.net.detach(this);
  }
}
