// The send side of the Transport contract (slots to seal into, queued copies, flush) for transports
// whose sends take one datagram at a time (dgram, memory): a JS ring of slots, and at flush one Buffer
// per datagram handed to `sendOne`.
import { MAX_DATAGRAM_SLOT_BYTES } from '../wire/sizes.js';
import type { Endpoint, RxBatch, Transport, TxSlots } from './transport.js';

export class QueuedSends {
  private readonly slots: TxSlots & { first: number; count: number };
  private readonly dests: (Endpoint | undefined)[];
  private used = 0;
  private pendingTo: Endpoint | undefined;
  private flushScheduled = false;
  // Nothing queued is ever stranded: a flush on the next tick backs up the caller's own.
  private readonly flushTick = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  /**
   * `sendOne` gets a Buffer of its own per datagram (it may keep it). `slotSize` must hold the network's
   * largest datagram (wire/sizes.ts datagramSlotBytes(mtu)): the sealer drops what doesn't fit a slot.
   */
  constructor(
    private readonly sendOne: (data: Buffer, to: Endpoint) => void,
    slotSize = MAX_DATAGRAM_SLOT_BYTES,
    capacity = 256,
  ) {
    this.slots = {
      buffer: Buffer.alloc(slotSize * capacity),
      slotSize,
      lengths: new Uint32Array(capacity),
      first: 0,
      count: 0,
    };
    this.dests = new Array<Endpoint | undefined>(capacity);
  }

  reserve(to: Endpoint, n: number): TxSlots {
    const capacity = this.dests.length;
    if (capacity - this.used < Math.min(n, capacity)) this.flush();
    this.slots.first = this.used;
    this.slots.count = Math.max(1, Math.min(n, capacity - this.used));
    this.pendingTo = to;
    return this.slots;
  }

  commit(used: number): void {
    const to = this.pendingTo;
    if (to === undefined) return;
    const n = Math.min(used, this.slots.count);
    for (let k = 0; k < n; k++) this.dests[this.slots.first + k] = to;
    this.used = this.slots.first + n;
    this.pendingTo = undefined;
    if (n > 0 && !this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flushTick);
    }
  }

  /** Queues a copy of `data` (larger than a slot: sent at once instead). */
  queue(data: Uint8Array, to: Endpoint): void {
    if (data.length > this.slots.slotSize) return this.sendOne(Buffer.from(data), to);
    const s = this.reserve(to, 1);
    s.buffer.set(data, s.first * s.slotSize);
    s.lengths[s.first] = data.length;
    this.commit(1);
  }

  flush(): void {
    const { buffer, slotSize, lengths } = this.slots;
    const n = this.used;
    this.used = 0;
    for (let i = 0; i < n; i++) {
      const to = this.dests[i]!;
      this.dests[i] = undefined;
      this.sendOne(Buffer.from(buffer.subarray(i * slotSize, i * slotSize + lengths[i]!)), to);
    }
  }

  get queued(): number {
    return this.used;
  }
}

/** A batch of one datagram, for transports that receive one at a time. */
export class SingleBatch {
  readonly offsets = new Uint32Array(1);
  readonly lengths = new Uint32Array(1);
  readonly count = 1;
  buffer: Buffer = Buffer.alloc(0);
  private from: Endpoint = { host: '', port: 0 };

  set(data: Buffer, from: Endpoint): this {
    this.buffer = data;
    this.lengths[0] = data.length;
    this.from = from;
    return this;
  }

  source(): Endpoint {
    return this.from;
  }
}

/**
 * A transport that sends one datagram at a time: the queued side of the contract (send slots, queued
 * copies, flush) through QueuedSends, each datagram handed to send() at flush.
 */
export abstract class OneByOneTransport implements Transport {
  abstract readonly port: number;
  private readonly queue: QueuedSends;

  /** `slotSize`: see QueuedSends (the default fits the default MTU). */
  constructor(slotSize?: number) {
    this.queue = new QueuedSends((data, to) => this.send(data, to), slotSize);
  }

  abstract send(data: Buffer, to: Endpoint): void;
  abstract onBatch(handler: (batch: RxBatch) => void): void;
  abstract close(): Promise<void>;

  /** Each queued datagram leaves as a Buffer of its own (send() may keep it). */
  sendQueued(data: Uint8Array, to: Endpoint): void {
    this.queue.queue(data, to);
  }

  reserve(to: Endpoint, n: number): TxSlots | undefined {
    return this.queue.reserve(to, n);
  }

  commit(used: number): void {
    this.queue.commit(used);
  }

  flush(): void {
    this.queue.flush();
  }
}
