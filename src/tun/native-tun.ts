// The real kernel TUN device, through overlayd's N-API binding (native/tun.c). This is the only module
// that loads the addon. The binding is deliberately thin: JS allocates all memory (device state, packet
// slots, lengths) once per device and native code reads into it; see native/tun.c for the read flow.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { fileURLToPath } from 'node:url';
import { OverlayError } from '../errors.js';
import type { TunBatch, TunDevice, TunOptions } from './tun-device.js';

export interface NativeTunOptions extends TunOptions {
  /** Scratch bytes before each packet in the batch buffer (see TunBatch). Default 64. */
  headroom?: number;
  /** Most packets per batch callback. Default 64. */
  batch?: number;
  /**
   * Bytes per packet slot, headroom included. Default: headroom + max(mtu, 1500), rounded up to 64,
   * so each slot starts on a cache line and a packet still fits if an operator raises the MTU to the
   * Ethernet default at run time (the kernel never hands us more than the MTU: no GSO without vnet headers).
   */
  stride?: number;
  /**
   * Called if reading fails for good (e.g. the interface was deleted under us); reading has stopped.
   * Without it the error is thrown from the event loop as an uncaught exception.
   */
  onError?: (err: NodeJS.ErrnoException) => void;
}

/** The addon's flat functions (native/tun.c). Errors carry the errno name as `code`. */
interface TunBinding {
  readonly sizeof_tun_t: number;
  tun_open(handle: Buffer, name: string): string;
  tun_set_mtu(handle: Buffer, mtu: number): void;
  tun_set_ipv4(handle: Buffer, address: string, prefixLength: number): void;
  tun_add_ipv6(handle: Buffer, address: string, prefixLength: number): void;
  tun_set_up(handle: Buffer): void;
  tun_start(
    handle: Buffer,
    buffer: Buffer,
    stride: number,
    headroom: number,
    lengths: Uint32Array,
    batch: number,
    onBatch: (count: number) => void,
    onError: (err: NodeJS.ErrnoException) => void,
  ): void;
  tun_write(handle: Buffer, buf: Uint8Array, offset: number, length: number): boolean;
  tun_close(handle: Buffer): void;
}

// Compiled to dist/src/tun/native-tun.js; the package root (which holds build/) is three levels up,
// the same in a checkout and in a global npm install.
const ADDON_PATH = fileURLToPath(new URL('../../../build/Release/overlayd_tun.node', import.meta.url));

let binding: TunBinding | undefined;

function loadBinding(): TunBinding {
  if (binding) return binding;
  if (!existsSync(ADDON_PATH)) {
    throw new OverlayError(
      'ERR_TUN',
      `native TUN binding not built: run npm install (node-gyp) [looked for ${ADDON_PATH}]`,
    );
  }
  binding = createRequire(import.meta.url)(ADDON_PATH) as TunBinding;
  return binding;
}

function positiveInt(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer >= ${min}`);
  return value;
}

/**
 * Opens a TUN interface (IFF_TUN | IFF_NO_PI), sets its MTU and addresses (at most one IPv4, any number
 * of IPv6) and brings it up. Needs CAP_NET_ADMIN. Errors from the kernel are thrown as they come (`code`
 * is the errno name: 'EPERM', 'EBUSY', 'EINVAL'...); a half-configured device is closed first.
 */
export function openTun(opts: NativeTunOptions): TunDevice {
  const headroom = positiveInt('headroom', opts.headroom ?? 64, 0);
  const batch = positiveInt('batch', opts.batch ?? 64, 1);
  const mtu = positiveInt('mtu', opts.mtu, 68);
  const stride = positiveInt(
    'stride',
    opts.stride ?? Math.ceil((headroom + Math.max(mtu, 1500)) / 64) * 64,
    1,
  );
  if (stride < headroom + mtu) throw new RangeError(`stride ${stride} cannot hold headroom + mtu`);
  const v4 = opts.addresses.filter((a) => isIPv4(a.address));
  const v6 = opts.addresses.filter((a) => isIPv6(a.address));
  if (v4.length > 1) throw new RangeError('a TUN interface takes at most one IPv4 address');
  const bad = opts.addresses.find((a) => !isIPv4(a.address) && !isIPv6(a.address));
  if (bad) throw new RangeError(`not an IP address: ${bad.address}`);

  const b = loadBinding();
  const handle = Buffer.alloc(b.sizeof_tun_t);
  const name = b.tun_open(handle, opts.name);
  try {
    // MTU first: the kernel refuses IPv6 on an interface whose MTU is below 1280.
    b.tun_set_mtu(handle, mtu);
    for (const a of v4) b.tun_set_ipv4(handle, a.address, a.prefixLength);
    for (const a of v6) b.tun_add_ipv6(handle, a.address, a.prefixLength);
    b.tun_set_up(handle);
  } catch (err) {
    b.tun_close(handle);
    throw err;
  }
  return new NativeTun(b, handle, name, mtu, { headroom, batch, stride, onError: opts.onError });
}

class NativeTun implements TunDevice {
  private started = false;
  private closed = false;

  constructor(
    private readonly b: TunBinding,
    private readonly handle: Buffer,
    readonly name: string,
    readonly mtu: number,
    private readonly geometry: {
      headroom: number;
      batch: number;
      stride: number;
      onError: ((err: NodeJS.ErrnoException) => void) | undefined;
    },
  ) {}

  start(onBatch: (batch: TunBatch) => void): void {
    if (this.closed) throw new Error(`TUN ${this.name} is closed`);
    if (this.started) throw new Error(`TUN ${this.name} already started`);
    this.started = true;
    const { headroom, batch: size, stride, onError } = this.geometry;
    // One buffer, one lengths array and one batch object for the device's life: no per-packet garbage.
    const batch = {
      buffer: Buffer.alloc(stride * size),
      stride,
      headroom,
      lengths: new Uint32Array(size),
      count: 0,
    };
    const fail =
      onError ??
      ((err: NodeJS.ErrnoException): void => {
        throw err;
      });
    this.b.tun_start(
      this.handle,
      batch.buffer,
      stride,
      headroom,
      batch.lengths,
      size,
      (count) => {
        batch.count = count;
        onBatch(batch);
      },
      fail,
    );
  }

  write(buf: Uint8Array, offset: number, length: number): boolean {
    // After close() the fd number may already belong to another file: never hand it to the kernel.
    if (this.closed) {
      throw Object.assign(new Error(`EBADF: device is closed, write '${this.name}'`), { code: 'EBADF' });
    }
    return this.b.tun_write(this.handle, buf, offset, length);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.b.tun_close(this.handle);
  }
}
