// An in-process underlay joining several nodes for e2e tests (Nebula's e2e router, in miniature).
// Each transport gets an address on a MemoryNetwork; the network can cut pairs, lose packets and
// record what crossed it (so a test can check no plaintext is ever on the wire).
import { OneByOneTransport } from './queued-sends.js';
import {
  endpointKey,
  type Endpoint,
  type FastReceivePort,
  type FastRoute,
  type RxBatch,
  type TxSlots,
} from './transport.js';

export interface WireRecord {
  from: Endpoint;
  to: Endpoint;
  data: Buffer;
}

export interface MemoryNetworkOptions {
  /**
   * Runs a delivery later. Default: the next macrotask, batched per receiving socket (see deliver); a
   * test on virtual time schedules each datagram on its event queue (with a link delay, say), adding
   * `extraDelayMs`, the pair's delay set by setDelay (0 if none).
   */
  schedule?: (deliver: () => void, extraDelayMs: number) => void;
}

export class MemoryNetwork {
  private readonly nodes = new Map<string, MemoryTransport>();
  private readonly schedule: ((deliver: () => void, extraDelayMs: number) => void) | undefined;
  private readonly cuts = new Set<string>();
  private lossRatio = 0;
  /** One-way delay (ms) per host pair: gives links different RTTs, so routing has costs to compare. */
  private readonly delays = new Map<string, number>();
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
    this.schedule = opts.schedule;
  }

  /** `slotSize`: the send slots (wire/sizes.ts datagramSlotBytes(mtu); default: the default MTU's). */
  attach(host: string, port: number, slotSize?: number): MemoryTransport {
    const t = new MemoryTransport(this, { host, port }, slotSize);
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

  /** Delays everything between two hosts by `oneWayMs`, both directions (0: as fast as possible). */
  setDelay(a: string, b: string, oneWayMs: number): void {
    if (oneWayMs > 0) this.delays.set(pairKey(a, b), oneWayMs);
    else this.delays.delete(pairKey(a, b));
  }

  setLoss(ratio: number): void {
    this.lossRatio = ratio;
  }

  /**
   * Delivery is asynchronous, like a real socket. On real timers it is batched like one too: what is
   * sent to one transport before the next macrotask arrives as one batch. With a custom schedule
   * (virtual time, a link delay) each datagram is its own batch at its own time: batching datagrams
   * sent at different virtual times would deliver the later ones early.
   */
  deliver(from: Endpoint, to: Endpoint, data: Buffer): void {
    const dst = this.nodes.get(endpointKey(to));
    if (!dst || this.cuts.has(pairKey(from.host, to.host)) || Math.random() < this.lossRatio) {
      this.dropped++;
      return;
    }
    this.tamper?.({ from, to, data });
    if (this.record) this.wire.push({ from, to, data: Buffer.from(data) });
    // A pair with a delay (setDelay) arrives that much later, in either mode.
    const delay = this.delays.get(pairKey(from.host, to.host)) ?? 0;
    if (this.schedule) {
      this.schedule(() => {
        this.delivered++;
        dst.receive(data, from);
      }, delay);
    } else if (delay > 0) setTimeout(() => dst.enqueue(data, from), delay);
    else dst.enqueue(data, from);
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

export class MemoryTransport extends OneByOneTransport {
  readonly port: number;
  private handler: (batch: RxBatch) => void = () => {};
  private readonly arriving: Array<{ data: Buffer; from: Endpoint }> = [];
  private scheduled = false;
  private closed = false;
  /**
   * Transport.fastRoute, if a test sets it: there is no socket here, so a fast lane handed this route
   * can only be a recording one (test/unit/forward-harness.ts).
   */
  fastRoute?: (to: Endpoint) => FastRoute | undefined;
  countFastSends?: (sent: number, dropped: number, errno: number) => void;
  /** Transport.fastReceive, if a test sets it (a recording one, as fastRoute). */
  fastReceive?: FastReceivePort;
  countFastReceives?: (datagrams: number) => void;

  constructor(
    private readonly net: MemoryNetwork,
    readonly local: Endpoint,
    slotSize?: number,
  ) {
    super(slotSize);
    this.port = local.port;
  }

  onBatch(handler: (batch: RxBatch) => void): void {
    this.handler = handler;
  }

  send(data: Buffer, to: Endpoint): void {
    if (!this.closed) this.net.deliver(this.local, to, data);
  }

  override reserve(to: Endpoint, n: number): TxSlots | undefined {
    return this.closed ? undefined : super.reserve(to, n);
  }

  /** Hands one datagram to the handler now, as a batch of its own (tests playing the network). */
  receive(data: Buffer, from: Endpoint): void {
    if (!this.closed) this.handler(listBatch([{ data, from }]));
  }

  /** Queues a datagram for the next batch (MemoryNetwork.deliver). */
  enqueue(data: Buffer, from: Endpoint): void {
    this.arriving.push({ data, from });
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const list = this.arriving.splice(0);
      this.net.delivered += list.length;
      if (!this.closed) this.handler(listBatch(list));
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.net.detach(this);
  }
}

/** The datagrams of `list` as one batch: copied into one buffer, the way a socket's slots hold them. */
export function listBatch(list: Array<{ data: Buffer; from: Endpoint }>): RxBatch {
  const buffer = Buffer.concat(list.map((d) => d.data));
  const offsets = new Uint32Array(list.length);
  const lengths = new Uint32Array(list.length);
  let at = 0;
  list.forEach((d, i) => {
    offsets[i] = at;
    lengths[i] = d.data.length;
    at += d.data.length;
  });
  return { buffer, offsets, lengths, count: list.length, source: (i) => list[i]!.from };
}
