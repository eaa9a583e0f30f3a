// The contract between the data plane and a TUN interface. forward/ depends only on this;
// native-tun.ts (the real kernel device) and memory-tun.ts (tests) implement it.
//
// Batch-shaped both ways, like wireguard-go's tun.Device: reads arrive as a batch of IP packets (a
// device with offloads has already cut the kernel's 64 kB super-packets into path-MTU packets), writes
// leave as a batch (a device with offloads merges the in-order segments of each flow into one write).

/**
 * A batch of packets read from the device. Packet i occupies
 * `buffer.subarray(i * stride + headroom, i * stride + headroom + lengths[i])`; the `headroom` bytes
 * before it are scratch space the reader may write (the data plane puts the inner-kind byte there so a
 * packet can be sealed straight out of the batch without a copy).
 * Ownership: the batch and its buffer are reused; they are valid only until the handler returns.
 */
export interface TunBatch {
  readonly buffer: Buffer;
  readonly stride: number;
  readonly headroom: number;
  readonly lengths: Uint32Array;
  readonly count: number;
}

export interface TunAddress {
  /** IPv4 or IPv6 literal. */
  address: string;
  prefixLength: number;
}

export interface TunOptions {
  /** Requested interface name (e.g. "ovl0"); the kernel picks one if empty. */
  name: string;
  mtu: number;
  addresses: TunAddress[];
  /**
   * Ask the kernel for offloads (virtio header, TSO, USO, checksum): 64 kB reads and writes instead of
   * one per packet. Default true; a kernel that refuses them gets plain packets. False forces them off.
   */
  offloads?: boolean;
}

/** What the device does for the data plane, as the kernel agreed to it. */
export interface TunOffloads {
  /** Reads may be TCP super-packets (segmented before the handler sees them); writes are coalesced. */
  readonly tso: boolean;
  /** The same for UDP (Linux 6.2 and later). */
  readonly uso: boolean;
}

export const NO_OFFLOADS: TunOffloads = Object.freeze({ tso: false, uso: false });

/** The outcome of one writeBatch, in an object the device reuses (read it before the next write). */
export interface TunWriteResult {
  /** Packets the kernel took. */
  written: number;
  /** Packets dropped because the kernel's queue was full. */
  dropped: number;
  /** Packets refused for another reason: the interface is down (EIO) or gone (EBADFD). */
  failed: number;
  /** errno name of the last drop or failure ('' if none). */
  lastError: string;
}

export interface TunDevice {
  /** Name the kernel gave the interface. */
  readonly name: string;
  readonly mtu: number;
  readonly offloads: TunOffloads;
  /** Start delivering batches of packets read from the interface. Called once. */
  start(onBatch: (batch: TunBatch) => void): void;
  /**
   * Writes IP packets [0, count) of `buf` (packet i is lengths[i] bytes at offsets[i]) to the interface,
   * i.e. delivers them to the local stack. `buf` may be modified (merged packets get new headers). Never
   * throws for a full queue, a down or a deleted interface: the result counts them.
   */
  writeBatch(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): TunWriteResult;
  /** Stops reading and closes the fd; the kernel removes the interface. Safe to call twice. */
  close(): void;
}
