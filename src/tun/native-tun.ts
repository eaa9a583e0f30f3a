// The real kernel TUN device, through overlayd's N-API binding (native/tun.c). This is the only module
// that loads that addon. The binding is deliberately thin: JS allocates all memory (device state, packet
// slots, lengths, the super-packet scratch buffer, counters) once per device and native code reads into
// it; see native/tun.c for the read and write flows and what offloads change.
//
// Survival: an operator or a network manager may set the interface down or delete it under us. Writes
// then fail (EIO, EBADFD): they are counted, logged once per change (tun-health.ts), and a watcher
// brings the device back: when the interface is up again its IPv6 addresses (which the kernel drops on
// down) are put back; a deleted interface is created again with the same name and configuration.
import { isIPv4, isIPv6 } from 'node:net';
import { silentLogger, type Logger } from '../log.js';
import { errnoName } from '../native/errno-name.js';
import { loadAddon } from '../native/load-addon.js';
import { NativeFastLane, type FastLaneBinding } from './native-fast-lane.js';
import { TunHealth } from './tun-health.js';
import type {
  FastLanePort,
  TunBatch,
  TunDevice,
  TunOffloads,
  TunOptions,
  TunWriteResult,
} from './tun-device.js';

export interface NativeTunOptions extends TunOptions {
  /** Scratch bytes before each packet in the batch buffer (see TunBatch). Default 64. */
  headroom?: number;
  /** Most packets per batch callback. Default 128 (a 64 kB super-packet is ~48 packets). */
  batch?: number;
  /**
   * Bytes per packet slot, headroom included. Default: headroom + max(mtu, 1500), rounded up to 64,
   * so each slot starts on a cache line and a packet still fits if an operator raises the MTU to the
   * Ethernet default at run time.
   */
  stride?: number;
  /** Where state changes (down, deleted, back) are told. Default: silent. */
  log?: Logger;
}

/** The addon's flat functions (native/tun.c). Errors carry the errno name as `code`. */
interface TunBinding extends FastLaneBinding {
  readonly sizeof_tun_t: number;
  tun_open(handle: Buffer, name: string, flags: number, info: Uint32Array): string;
  tun_set_mtu(handle: Buffer, mtu: number): void;
  tun_set_ipv4(handle: Buffer, address: string, prefixLength: number): void;
  tun_add_ipv6(handle: Buffer, address: string, prefixLength: number): void;
  tun_set_up(handle: Buffer): void;
  tun_is_up(handle: Buffer): boolean;
  tun_start(
    handle: Buffer,
    buffer: Buffer,
    stride: number,
    headroom: number,
    lengths: Uint32Array,
    batch: number,
    scratch: Buffer,
    stats: Uint32Array,
    onBatch: (count: number) => void,
    onError: (err: NodeJS.ErrnoException) => void,
  ): void;
  /** Packets written; result: [writes, dropped, failed, last errno (negative)]. */
  tun_write_batch(
    handle: Buffer,
    buf: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    count: number,
    result: Int32Array,
  ): number;
  tun_close(handle: Buffer): void;
}

// Layout shared with native/tun.c.
const TUN_OFFLOADS = 1;
const TUN_F_TSO4 = 0x02;
const TUN_F_TSO6 = 0x04;
const TUN_F_USO4 = 0x20;
const TUN_F_USO6 = 0x40;
const STAT_RX_INVALID = 0;
const STAT_RX_ERRORS = 1;
const STAT_COUNT = 3;
/** One super-packet (the IPv4 length field's maximum) plus the slot it starts in. */
const MAX_SUPER_PACKET = 65535;
/** How often a failing device is looked at again. */
const WATCH_MS = 500;

function binding(): TunBinding {
  return loadAddon<TunBinding>('overlayd_tun', 'ERR_TUN', 'TUN');
}

function positiveInt(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer >= ${min}`);
  return value;
}

/** Counters of the device, for status and metrics. */
export interface TunCounters {
  /** Packets (or super-packets) read that made no sense (a bad virtio header): dropped. */
  readInvalid: number;
  /** Reads that failed for good (the interface was deleted). */
  readErrors: number;
  /** Times the device was created again after it was deleted. */
  recreated: number;
}

interface Geometry {
  headroom: number;
  batch: number;
  stride: number;
}

/**
 * Opens a TUN interface (IFF_TUN | IFF_NO_PI, with a virtio header and offloads unless `offloads` is
 * false or the kernel refuses), sets its MTU and addresses (at most one IPv4, any number of IPv6) and
 * brings it up. Needs CAP_NET_ADMIN. Errors from the kernel are thrown as they come (`code` is the errno
 * name: 'EPERM', 'EBUSY', 'EINVAL'...); a half-configured device is closed first.
 */
export function openTun(opts: NativeTunOptions): NativeTun {
  const headroom = positiveInt('headroom', opts.headroom ?? 64, 0);
  const batch = positiveInt('batch', opts.batch ?? 128, 1);
  const mtu = positiveInt('mtu', opts.mtu, 68);
  const stride = positiveInt(
    'stride',
    opts.stride ?? Math.ceil((headroom + Math.max(mtu, 1500)) / 64) * 64,
    1,
  );
  if (stride < headroom + mtu) throw new RangeError(`stride ${stride} cannot hold headroom + mtu`);
  const v4 = opts.addresses.filter((a) => isIPv4(a.address));
  if (v4.length > 1) throw new RangeError('a TUN interface takes at most one IPv4 address');
  const bad = opts.addresses.find((a) => !isIPv4(a.address) && !isIPv6(a.address));
  if (bad) throw new RangeError(`not an IP address: ${bad.address}`);
  const { handle, name, offloads } = createDevice(binding(), { ...opts, mtu });
  const granted = [offloads.tso && 'TSO', offloads.uso && 'USO'].filter(Boolean).join(', ') || 'none';
  (opts.log ?? silentLogger).info(
    `TUN ${name}: offloads ${opts.offloads === false ? 'forced off' : granted}, mtu ${mtu}`,
  );
  return new NativeTun(binding(), handle, name, { ...opts, mtu }, offloads, { headroom, batch, stride });
}

/** Opens and configures one device; closes it again if configuration fails. */
function createDevice(
  b: TunBinding,
  opts: TunOptions,
): { handle: Buffer; name: string; offloads: TunOffloads } {
  const handle = Buffer.alloc(b.sizeof_tun_t);
  const info = new Uint32Array(2);
  const name = b.tun_open(handle, opts.name, opts.offloads === false ? 0 : TUN_OFFLOADS, info);
  try {
    // MTU first: the kernel refuses IPv6 on an interface whose MTU is below 1280.
    b.tun_set_mtu(handle, opts.mtu);
    for (const a of opts.addresses) {
      if (isIPv4(a.address)) b.tun_set_ipv4(handle, a.address, a.prefixLength);
      else b.tun_add_ipv6(handle, a.address, a.prefixLength);
    }
    b.tun_set_up(handle);
  } catch (err) {
    b.tun_close(handle);
    throw err;
  }
  const granted = info[0] === 1 ? info[1]! : 0;
  const offloads = {
    tso: (granted & (TUN_F_TSO4 | TUN_F_TSO6)) === (TUN_F_TSO4 | TUN_F_TSO6),
    uso: (granted & (TUN_F_USO4 | TUN_F_USO6)) === (TUN_F_USO4 | TUN_F_USO6),
  };
  return { handle, name, offloads };
}

export class NativeTun implements TunDevice {
  private readonly health: TunHealth;
  private readonly log: Logger;
  private readonly stats = new Uint32Array(STAT_COUNT);
  private readonly result = new Int32Array(4);
  private readonly writeResult: TunWriteResult = { written: 0, dropped: 0, failed: 0, lastError: '' };
  private onBatch: ((batch: TunBatch) => void) | undefined;
  private batch: (TunBatch & { count: number }) | undefined;
  private scratch: Buffer | undefined;
  private watcher: NodeJS.Timeout | undefined;
  /** The device was deleted under us (or reading failed for good): it must be created again. */
  private gone = false;
  private closed = false;
  private recreated = 0;
  readonly fastLane: FastLanePort | undefined;

  constructor(
    private readonly b: TunBinding,
    private handle: Buffer,
    readonly name: string,
    private readonly config: TunOptions,
    private offloadState: TunOffloads,
    private readonly geometry: Geometry,
  ) {
    this.log = (config as NativeTunOptions).log ?? silentLogger;
    this.health = new TunHealth(name, this.log);
    this.fastLane =
      config.fastLane === false
        ? undefined
        : new NativeFastLane(
            b,
            () => this.handle,
            () => this.recreated,
            () => !this.closed && !this.gone && this.watcher === undefined,
            (written, failed, errno) => this.laneWrites(written, failed, errno),
          );
  }

  get counters(): TunCounters {
    return {
      readInvalid: this.stats[STAT_RX_INVALID]!,
      readErrors: this.stats[STAT_RX_ERRORS]!,
      recreated: this.recreated,
    };
  }

  get mtu(): number {
    return this.config.mtu;
  }

  get offloads(): TunOffloads {
    return this.offloadState;
  }

  start(onBatch: (batch: TunBatch) => void): void {
    if (this.closed) throw new Error(`TUN ${this.name} is closed`);
    if (this.onBatch) throw new Error(`TUN ${this.name} already started`);
    this.onBatch = onBatch;
    const { headroom, batch: size, stride } = this.geometry;
    // One buffer, one lengths array and one batch object for the device's life: no per-packet garbage.
    this.batch = {
      buffer: Buffer.alloc(stride * size),
      stride,
      headroom,
      lengths: new Uint32Array(size),
      count: 0,
    };
    this.scratch = Buffer.alloc(MAX_SUPER_PACKET + stride);
    this.poll();
  }

  private poll(): void {
    const batch = this.batch!;
    const onBatch = this.onBatch!;
    const { headroom, batch: size, stride } = this.geometry;
    this.b.tun_start(
      this.handle,
      batch.buffer,
      stride,
      headroom,
      batch.lengths,
      size,
      this.scratch!,
      this.stats,
      (count) => {
        batch.count = count;
        onBatch(batch);
      },
      (err) => this.readFailed(err),
    );
  }

  writeBatch(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): TunWriteResult {
    const w = this.writeResult;
    if (this.closed || this.gone) {
      w.written = 0;
      w.dropped = 0;
      w.failed = count;
      w.lastError = this.closed ? 'EBADF' : 'EBADFD';
      return w;
    }
    const r = this.result;
    w.written = this.b.tun_write_batch(this.handle, buf, offsets, lengths, count, r);
    w.dropped = r[1]!;
    w.failed = r[2]!;
    w.lastError = r[3] === 0 ? '' : errnoName(r[3]!);
    if (w.failed > 0) {
      this.health.failed(w.lastError, w.failed, Date.now());
      if (w.lastError === 'EBADFD' || w.lastError === 'ENODEV') this.gone = true;
      this.watch();
    } else if (w.written > 0) {
      this.health.ok(Date.now());
    }
    return w;
  }

  /** The inbound fast lane's writes: handled as this device's own (writeBatch). */
  private laneWrites(written: number, failed: number, errno: number): void {
    if (this.closed) return;
    if (failed > 0) {
      const name = errnoName(-errno);
      this.health.failed(name, failed, Date.now());
      if (name === 'EBADFD' || name === 'ENODEV') this.gone = true;
      this.watch();
    } else if (written > 0) {
      this.health.ok(Date.now());
    }
  }

  /** Reading stopped for good (the interface was deleted): recreate it. */
  private readFailed(err: NodeJS.ErrnoException): void {
    if (this.closed) return;
    this.gone = true;
    this.health.failed(err.code ?? 'EIO', 0, Date.now());
    this.watch();
  }

  /** Looks at a failing device every WATCH_MS until it takes packets again. */
  private watch(): void {
    if (this.watcher || this.closed) return;
    this.watcher = setInterval(() => this.recover(), WATCH_MS);
    this.watcher.unref();
  }

  private recover(): void {
    if (this.closed) return this.stopWatching();
    try {
      if (this.gone) {
        this.recreate();
      } else if (this.b.tun_is_up(this.handle)) {
        // Down and up again: IPv4 addresses survive, IPv6 ones are flushed by the kernel. Put them back.
        for (const a of this.config.addresses) {
          if (!isIPv6(a.address)) continue;
          try {
            this.b.tun_add_ipv6(this.handle, a.address, a.prefixLength);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          }
        }
      } else {
        return; // still down: look again later
      }
      this.stopWatching();
      this.log.info(`TUN ${this.name} is up again`);
    } catch (err) {
      this.log.debug(`TUN ${this.name} not back yet: ${(err as Error).message}`);
    }
  }

  /** The interface was deleted: create it again, same name and configuration, and resume reading. */
  private recreate(): void {
    const next = createDevice(this.b, { ...this.config, name: this.name });
    const old = this.handle;
    this.handle = next.handle;
    this.offloadState = next.offloads;
    this.b.tun_close(old);
    this.gone = false;
    this.recreated++;
    if (this.onBatch) this.poll();
  }

  private stopWatching(): void {
    clearInterval(this.watcher);
    this.watcher = undefined;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopWatching();
    this.b.tun_close(this.handle);
  }
}
