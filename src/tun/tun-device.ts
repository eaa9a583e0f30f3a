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
  /**
   * The outbound fast lane (FastLanePort): packets to busy destinations sealed and sent without entering
   * JavaScript. Default true where the device has one; false keeps every packet on the JS path.
   */
  fastLane?: boolean;
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

/** One destination of the outbound fast lane, as forward/fast-lane.ts decided it. */
export interface FastLaneEntry {
  /** The inner destination: 4 bytes (IPv4) or 16 (IPv6). */
  readonly addr: Uint8Array;
  /** The keypair's native state (session/keypair.ts) to seal with. */
  readonly keypairState: Buffer;
  /** The routed header every packet starts with: header[0, headerLength). */
  readonly header: Buffer;
  readonly headerLength: number;
  /** Largest IP packet the lane may take (the path MTU); larger ones go to JavaScript. */
  readonly maxPacket: number;
  /** The UDP socket (Transport.fastRoute) and the first hop's address record. */
  readonly fd: number;
  readonly record: Uint8Array;
  /** Until when the entry may be used, on clockMs()'s scale. */
  readonly validUntilMs: number;
  /** network.mssClamp: TCP SYNs must go through JavaScript. */
  readonly clampSyn: boolean;
}

/**
 * The outbound fast lane of a device (native/fast-lane.h): a batch read from the TUN whose every packet
 * has a valid entry is sealed and sent from native code; any other batch reaches the handler as before.
 */
export interface FastLanePort {
  readonly slots: number;
  /** Numbers per slot in take()'s array: see FastStat. */
  readonly statFields: number;
  /** Changes when the device lost its entries (it was created again). */
  readonly generation: number;
  /** The lane's clock (ms, monotonic): the scale of validUntilMs and of FastStat.LastMs. */
  clockMs(): number;
  set(slot: number, entry: FastLaneEntry): void;
  clear(slot: number): void;
  /** What each slot sent since the last take (statFields numbers per slot; the array is reused). */
  take(): Float64Array;
  /**
   * The device's fd and whether packets written to it carry a virtio-net header, for the inbound fast
   * lane (Transport.fastReceive), which writes to its own duplicate; undefined once closed, and while
   * writes fail (the JS path's writes must see that: they log it and bring the device back).
   */
  writeTarget(): TunWriteTarget | undefined;
  /**
   * What the inbound lane's writes to the device did since the last call: a failure (errno) is the
   * device's to log and recover from, as for its own writes; a success after one ends it.
   */
  noteWrites(written: number, failed: number, errno: number): void;
}

export interface TunWriteTarget {
  readonly fd: number;
  readonly vnet: boolean;
}

/** Fields of FastLanePort.take() per slot (native/fast-lane.h FAST_ST_*). */
export const FastStat = { Packets: 0, Bytes: 1, Largest: 2, LastMs: 3, Drops: 4, Errno: 5 } as const;

export interface TunDevice {
  /** Name the kernel gave the interface. */
  readonly name: string;
  readonly mtu: number;
  readonly offloads: TunOffloads;
  /** The outbound fast lane, if the device has one and it is on. */
  readonly fastLane?: FastLanePort;
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
