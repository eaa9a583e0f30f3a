// The contract between the data plane and a TUN interface. forward/ depends only on this;
// native-tun.ts (the real kernel device) and memory-tun.ts (tests) implement it.

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
}

export interface TunDevice {
  /** Name the kernel gave the interface. */
  readonly name: string;
  readonly mtu: number;
  /** Start delivering batches of packets read from the interface. Called once. */
  start(onBatch: (batch: TunBatch) => void): void;
  /**
   * Writes one IP packet to the interface (i.e. delivers it to the local stack).
   * Returns false if the kernel queue was full and the packet was dropped; never throws for that.
   */
  write(buf: Uint8Array, offset: number, length: number): boolean;
  /** Stops reading and closes the fd; the kernel removes the interface. Safe to call twice. */
  close(): void;
}
