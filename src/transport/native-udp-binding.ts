// The overlayd_udp addon (native/udp.c): its flat functions, the memory layout shared with the C side,
// and loading it. The only module that requires the addon; native-udp-transport.ts is its only user.
import { loadAddon } from '../native/load-addon.js';

/** The addon's flat functions (native/udp.c). Thrown errors carry the errno name as `code`. */
export interface UdpBinding {
  readonly sizeof_udp_t: number;
  readonly udp_addr_bytes: number;
  udp_open(
    handle: Buffer,
    family: 4 | 6,
    host: string,
    port: number,
    receiveBufferBytes: number,
    sendBufferBytes: number,
    flags: number,
    info: Uint32Array,
  ): void;
  udp_start(
    handle: Buffer,
    buffer: Buffer,
    slotSize: number,
    lengths: Uint32Array,
    addrs: Uint8Array,
    batch: number,
    stats: Uint32Array,
    dgOffsets: Uint32Array,
    dgLengths: Uint32Array,
    dgSources: Uint32Array,
    onBatch: (datagrams: number) => void,
    onError: (err: NodeJS.ErrnoException) => void,
    /** Per receive slot (batch entries): µs the message waited in the socket queue. */
    ages: Uint32Array,
  ): void;
  /** 0 or a negative errno. */
  udp_send(handle: Buffer, data: Uint8Array, offset: number, length: number, addr: Uint8Array): number;
  /** Datagrams sent; `result` gets [dropped, failed, last failure errno, last drop errno] (negative). */
  udp_send_batch(
    handle: Buffer,
    buffer: Buffer,
    slotSize: number,
    lengths: Uint32Array,
    addrs: Uint8Array,
    count: number,
    result: Int32Array,
  ): number;
  /**
   * Turns on the handshake load step of a started socket (native/handshake-load.c): initiations to
   * `self` with a wrong size, a mac1 already passed on (`seen`: 2^k entries) or a wrong mac1, and under
   * load those from unproven sources without a valid mac2 (under `secrets`, read in place) beyond the
   * strangers' budget, are dropped and counted (STAT_HS_*) instead of delivered. `proven` holds 2^k
   * entries of PROVEN_ENTRY_BYTES; `params` is HS_PARAMS in order.
   */
  udp_handshake_load(
    handle: Buffer,
    self: number,
    mac1Key: Buffer,
    seen: BigUint64Array,
    secrets: Uint8Array,
    proven: Uint8Array,
    params: Float64Array,
  ): void;
  /** Adds or removes a proven endpoint (a cookie address); true if the table holds it afterwards. */
  udp_proven_endpoint(handle: Buffer, address: Uint8Array, on: boolean): boolean;
  /** The socket's fd while it is open, else -1 (for the TUN's fast lane, which sends on a duplicate). */
  udp_fd(handle: Buffer): number;
  /** The inbound fast lane (native/rx-lane.h; transport/native-fast-receive.ts). */
  udp_rx_setup(handle: Buffer, self: number, maxDatagram: number, tunFd: number, vnet: boolean): void;
  udp_rx_set(
    handle: Buffer,
    slot: number,
    index: number,
    peer: number,
    record: Uint8Array,
    state: Buffer,
    addrs: Uint8Array,
    addrFlags: number,
    validUntilMs: number,
  ): void;
  udp_rx_clear(handle: Buffer, slot: number): void;
  udp_rx_take(handle: Buffer, out: Float64Array): void;
  readonly rx_slots: number;
  readonly rx_stat_fields: number;
  /** True if onClosed will run once the fd is closed (in the uv_close callback). */
  udp_close(handle: Buffer, onClosed?: () => void): boolean;
}

// Layout shared with native/udp.c.
export const ADDR_BYTES = 20; // address record: 16 address bytes, port (network order), family, reserved
export const ADDR_WORDS = ADDR_BYTES / 4;
export const STAT_RX_ERRORS = 0;
export const STAT_RX_LAST_ERRNO = 1;
export const STAT_RX_TRUNCATED = 3;
export const STAT_RX_QUEUE_DROPS = 4;
export const STAT_TX_GSO = 5;
/** Receives (slots) behind the batch being delivered. */
export const STAT_RX_MESSAGES = 6;
/** Initiations the handshake load step dropped, by the initiation guard's reason. */
export const STAT_HS_TRUNCATED = 7;
export const STAT_HS_OVERSIZED = 8;
export const STAT_HS_BAD_MAC = 9;
export const STAT_HS_REPLAYED = 10;
export const STAT_HS_COOKIE_FILTERED = 11;
/** recvmmsg calls that returned something (receives per call tell the syscall cost of a flood). */
export const STAT_RX_CALLS = 12;
export const STAT_COUNT = 13;
/** Bytes per entry of the proven-endpoint table (native HS_PROVEN_ENTRY_BYTES). */
export const PROVEN_ENTRY_BYTES = 24;
/** The order of udp_handshake_load's params (native HS_P_*). */
export const HS_PARAMS = [
  'underLoadPerSecond',
  'underLoadBurst',
  'underLoadHoldMs',
  'strangersPerSecond',
  'strangersBurst',
  'provenSeed',
] as const;
export const OPEN_RECVERR = 1;
export const OPEN_OFFLOADS = 2;
/** Datagrams one GRO receive may hold at most (native GRO_MAX_SEGMENTS). */
export const GRO_MAX_SEGMENTS = 64;

export function loadBinding(): UdpBinding {
  const binding = loadAddon<UdpBinding>('overlayd_udp', 'ERR_TRANSPORT', 'UDP');
  if (binding.udp_addr_bytes !== ADDR_BYTES) throw new Error('overlayd_udp.node does not match this build');
  return binding;
}
