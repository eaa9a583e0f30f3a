// An in-memory TunDevice for in-process tests: inject() plays the kernel sending a packet into the
// device, written packets are captured. Delivery is asynchronous and batched like the native device, so
// code that works over it does not accidentally rely on re-entrancy or one-packet batches.
import type { TunBatch, TunDevice } from './tun-device.js';

export interface MemoryTunOptions {
  name: string;
  mtu: number;
  /** Scratch bytes before each packet in the batch buffer. Default 64, as in native-tun. */
  headroom?: number;
  /** Most packets per batch. Default 64. */
  batch?: number;
}

function ebadf(name: string, op: string): Error {
  return Object.assign(new Error(`EBADF: device is closed, ${op} '${name}'`), { code: 'EBADF' });
}

export class MemoryTun implements TunDevice {
  readonly name: string;
  readonly mtu: number;
  /** Copies of every packet written to the device, in order (when no onWrite handler took them). */
  readonly written: Buffer[] = [];
  /** Set to make write() report a full kernel queue (returns false, packet dropped). */
  queueFull = false;

  private readonly pending: Buffer[] = [];
  private readonly batch: TunBatch & { count: number };
  private onBatch: ((batch: TunBatch) => void) | undefined;
  private writeHandler: ((packet: Buffer) => void) | undefined;
  private scheduled: NodeJS.Immediate | undefined;
  private closed = false;

  constructor(opts: MemoryTunOptions) {
    this.name = opts.name;
    this.mtu = opts.mtu;
    const headroom = opts.headroom ?? 64;
    const size = opts.batch ?? 64;
    if (!Number.isInteger(size) || size < 1) throw new RangeError('batch must be an integer >= 1');
    const stride = Math.ceil((headroom + opts.mtu) / 64) * 64;
    this.batch = {
      buffer: Buffer.alloc(stride * size),
      stride,
      headroom,
      lengths: new Uint32Array(size),
      count: 0,
    };
  }

  start(onBatch: (batch: TunBatch) => void): void {
    if (this.closed) throw ebadf(this.name, 'start');
    if (this.onBatch) throw new Error(`TUN ${this.name} already started`);
    this.onBatch = onBatch;
    this.schedule();
  }

  /**
   * Queues a packet as if the local stack routed it into the interface. The bytes are copied. Packets
   * injected before start() wait for it, like the kernel's queue; after close() they are dropped.
   */
  inject(packet: Uint8Array): void {
    if (packet.length > this.mtu)
      throw new RangeError(`packet of ${packet.length} bytes exceeds mtu ${this.mtu}`);
    if (this.closed) return;
    this.pending.push(Buffer.from(packet));
    this.schedule();
  }

  /** Receives each written packet (a copy the handler may keep) instead of the `written` array. */
  onWrite(handler: (packet: Buffer) => void): void {
    this.writeHandler = handler;
  }

  write(buf: Uint8Array, offset: number, length: number): boolean {
    if (this.closed) throw ebadf(this.name, 'write');
    if (offset < 0 || length < 0 || offset + length > buf.length) {
      throw new RangeError('write: offset/length outside the buffer');
    }
    if (this.queueFull) return false;
    // The caller reuses its buffer as soon as we return: keep a copy.
    const packet = Buffer.from(buf.subarray(offset, offset + length));
    if (this.writeHandler) this.writeHandler(packet);
    else this.written.push(packet);
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending.length = 0;
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
  }

  private schedule(): void {
    if (this.scheduled || !this.onBatch || this.pending.length === 0) return;
    this.scheduled = setImmediate(() => this.deliver());
  }

  // Like the native reader: fill the reused buffer, one callback per full batch, until the queue is empty
  // or the handler closes the device.
  private deliver(): void {
    this.scheduled = undefined;
    const b = this.batch;
    const onBatch = this.onBatch;
    while (!this.closed && onBatch && this.pending.length > 0) {
      let n = 0;
      for (; n < b.lengths.length && this.pending.length > 0; n++) {
        const packet = this.pending.shift() as Buffer;
        packet.copy(b.buffer, n * b.stride + b.headroom);
        b.lengths[n] = packet.length;
      }
      b.count = n;
      onBatch(b);
    }
  }
}
