// An in-memory TunDevice for in-process tests: inject() plays the kernel sending a packet into the
// device, written packets are captured. Delivery is asynchronous and batched like the native device, so
// code that works over it does not accidentally rely on re-entrancy or one-packet batches.
//
// With `offloads`, it behaves like a kernel TUN that granted them, through the same native code the real
// device runs: injectSuper() takes a TSO/USO super-packet with its virtio header and the reader sees the
// segments; writeBatch() coalesces, and `writes` records what each write carried.
import { packetBinding, VNET_HDR_BYTES } from '../native/packet-binding.js';
import {
  NO_OFFLOADS,
  type FastLanePort,
  type TunBatch,
  type TunDevice,
  type TunOffloads,
  type TunWriteResult,
} from './tun-device.js';

export interface MemoryTunOptions {
  name: string;
  mtu: number;
  /** Scratch bytes before each packet in the batch buffer. Default 64, as in native-tun. */
  headroom?: number;
  /** Most packets per batch. Default 64. */
  batch?: number;
  /** Emulate a kernel that granted these offloads. Default none. */
  offloads?: TunOffloads;
  /**
   * A fast lane to hand the data plane (tests record what it installs). The memory device never sends
   * through it: every packet it reads reaches the batch handler.
   */
  fastLanePort?: FastLanePort;
}

/** One write as the kernel would have received it (offloads only): the virtio header and the packet. */
export interface MemoryTunWrite {
  vnet: Buffer;
  packet: Buffer;
}

export class MemoryTun implements TunDevice {
  readonly name: string;
  readonly mtu: number;
  readonly offloads: TunOffloads;
  readonly fastLane: FastLanePort | undefined;
  /** Copies of every packet written to the device, in order (merged ones as written). */
  readonly written: Buffer[] = [];
  /** With offloads: every write, virtio header included. */
  readonly writes: MemoryTunWrite[] = [];
  /** Set to make writes report a full kernel queue (packets dropped). */
  queueFull = false;
  /** Set to an errno name ('EIO': interface down) to make writes fail with it. */
  failWith = '';

  private readonly pending: Buffer[] = [];
  private readonly batch: TunBatch & { count: number };
  private readonly result: TunWriteResult = { written: 0, dropped: 0, failed: 0, lastError: '' };
  private onBatch: ((batch: TunBatch) => void) | undefined;
  private scheduled: NodeJS.Immediate | undefined;
  private closed = false;

  constructor(opts: MemoryTunOptions) {
    this.name = opts.name;
    this.mtu = opts.mtu;
    this.offloads = opts.offloads ?? NO_OFFLOADS;
    this.fastLane = opts.fastLanePort;
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

  /**
   * Queues a super-packet with its virtio header, as a TUN with offloads hands it over: the reader gets
   * its segments. Throws if the device has no offloads or the header does not describe the packet.
   */
  injectSuper(packet: Uint8Array, vnet: Uint8Array): void {
    if (!this.offloads.tso && !this.offloads.uso) throw new Error(`TUN ${this.name} has no offloads`);
    const room = this.batch.stride - this.batch.headroom;
    const slots = Math.ceil(packet.length / 64) + 1;
    const out = Buffer.alloc(room * slots);
    const lengths = new Uint32Array(slots);
    const n = packetBinding().ofl_segment(Buffer.from(packet), vnet, out, room, lengths);
    if (n < 0) throw new RangeError(`super-packet refused (${n})`);
    for (let i = 0; i < n; i++) this.inject(out.subarray(i * room, i * room + lengths[i]!));
  }

  writeBatch(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): TunWriteResult {
    if (this.closed) throw ebadf(this.name, 'write');
    const r = this.result;
    r.written = r.dropped = r.failed = 0;
    r.lastError = '';
    if (this.queueFull || this.failWith) {
      if (this.failWith) r.failed = count;
      else r.dropped = count;
      r.lastError = this.failWith || 'EAGAIN';
      return r;
    }
    for (let i = 0; i < count; i++) {
      if (offsets[i]! + lengths[i]! > buf.length) throw new RangeError('writeBatch: packet outside buf');
    }
    if (this.offloads.tso || this.offloads.uso) {
      this.coalesced(buf, offsets, lengths, count);
    } else {
      // The caller reuses its buffer as soon as we return: keep copies.
      for (let i = 0; i < count; i++) {
        this.written.push(Buffer.from(buf.subarray(offsets[i], offsets[i]! + lengths[i]!)));
      }
    }
    r.written = count;
    return r;
  }

  // The native coalescer lays out each write (virtio header + packet) the way the kernel gets them.
  private coalesced(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): void {
    let total = 0;
    for (let i = 0; i < count; i++) total += lengths[i]! + VNET_HDR_BYTES;
    const out = Buffer.alloc(total);
    const outLengths = new Uint32Array(count);
    const n = packetBinding().ofl_coalesce(buf, offsets, lengths, count, this.offloads.uso, out, outLengths);
    let at = 0;
    for (let i = 0; i < n; i++) {
      const w = out.subarray(at, at + outLengths[i]!);
      at += outLengths[i]!;
      const write = { vnet: w.subarray(0, VNET_HDR_BYTES), packet: w.subarray(VNET_HDR_BYTES) };
      this.writes.push(write);
      this.written.push(write.packet);
    }
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

function ebadf(name: string, op: string): Error {
  return Object.assign(new Error(`EBADF: device is closed, ${op} '${name}'`), { code: 'EBADF' });
}
