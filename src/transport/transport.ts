// The contract between the data plane and the underlay. forward/ depends only on this;
// native-udp-transport.ts is the real one (udp-transport.ts its dgram fallback), memory-transport.ts
// joins nodes inside one process for tests.
//
// Batch-shaped both ways, like wireguard-go's conn.Bind: datagrams arrive as a batch (a transport with
// GRO has already split the kernel's coalesced receives), and leave from send slots the data plane seals
// straight into; flush() hands everything queued to the kernel (runs of equal-size datagrams to one
// address as one GSO send).

/**
 * An underlay address: an IP literal (v4 or v6, no brackets) and a port. A UDP port, unless `via` says
 * the address is a WebSocket connection over TCP (ws-transport.ts): one more kind of link, probed and
 * proven like a UDP address, told apart by its key (`ws://ip:port`).
 */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly via?: 'ws';
}

const WS_KEY_PREFIX = 'ws://';

export function endpointKey(e: Endpoint): string {
  const hostPort = e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
  return e.via === 'ws' ? WS_KEY_PREFIX + hostPort : hostPort;
}

/** The inverse of endpointKey: `ip:port`, `[ip6]:port`, or either after `ws://`. */
export function endpointFromKey(key: string): Endpoint | undefined {
  const ws = key.startsWith(WS_KEY_PREFIX);
  const hostPort = ws ? key.slice(WS_KEY_PREFIX.length) : key;
  const colon = hostPort.lastIndexOf(':');
  const port = Number(hostPort.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port)) return undefined;
  const host = hostPort.startsWith('[') ? hostPort.slice(1, colon - 1) : hostPort.slice(0, colon);
  return ws ? { host, port, via: 'ws' } : { host, port };
}

/** Whether an endpoint key names a WebSocket link (status, metrics and the prober's preference). */
export function isWsEndpointKey(key: string): boolean {
  return key.startsWith(WS_KEY_PREFIX);
}

/**
 * Datagrams received together. Datagram i is `buffer.subarray(offsets[i], offsets[i] + lengths[i])`,
 * from `source(i)`.
 *
 * OWNERSHIP: the batch, its buffer and arrays are the transport's and are reused for the next batch:
 * valid ONLY UNTIL THE HANDLER RETURNS. The handler may read and modify the datagrams in place (decrypt,
 * rewrite a header, pass them to sendQueued() or to a TUN write, which are done with them when they
 * return). Anything kept longer must be copied first: `Buffer.from(view)`.
 */
/** How many initiations a transport's handshake load step dropped for one reason. */
export interface FilteredInitiations {
  readonly reason: 'truncated' | 'oversized' | 'bad-mac' | 'replayed-initiation' | 'cookie-filtered';
  count: number;
}

/** A token bucket: `perSecond` refill, at most `burst` tokens. */
interface Rate {
  readonly perSecond: number;
  readonly burst: number;
}

/** What Transport.handshakeLoad runs the initiation guard's first steps with (SessionTable.handshakeLoad). */
export interface HandshakeLoadOptions {
  /** Our NodeId: initiations addressed to it are checked. */
  readonly self: number;
  readonly mac1Key: Buffer;
  /** The guard's cookie secrets (session/cookie-checker.ts layout), rotated in place by the guard. */
  readonly cookieSecrets: Uint8Array;
  /** The guard's load meter: above this rate, and for the hold time after, we are under load. */
  readonly underLoad: Rate;
  readonly underLoadHoldMs: number;
  /** Cookie replies to strangers: beyond it, their initiations under load are dropped. */
  readonly cookiesToStrangers: Rate;
}

export interface RxBatch {
  readonly buffer: Buffer;
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
  readonly count: number;
  /**
   * Per datagram, 1 where the transport's standing-delay control (standing-delay.ts) wants one dropped:
   * it waited too long in the receive queue. The transport cannot tell what a sealed datagram carries, so
   * it only marks; the data plane drops the marked IP packets it opened for itself and keeps everything
   * else (control, link and path probes, handshakes, and what it relays, which it cannot open).
   * Undefined: nothing marked in this batch (and always for memory and dgram transports).
   */
  readonly shed?: Uint8Array;
  /**
   * Receives the kernel dropped since the last batch because the receive queue was full. Not part of
   * the batch: the data plane counts them. Absent: none (memory, dgram).
   */
  readonly overflowDrops?: number;
  /**
   * Initiations a native load step dropped since the last batch (Transport.handshakeLoad), by the
   * reason the initiation guard would have given ('cookie-filtered': it would have refused a cookie
   * reply). Not part of the batch: the data plane counts them.
   */
  readonly filteredInitiations?: readonly FilteredInitiations[];
  /**
   * Where datagram i came from. Normalised (IPv4-mapped IPv6 addresses are reported as IPv4), immutable
   * and may be kept; the same object is handed out again for the same source.
   */
  source(i: number): Endpoint;
}

/**
 * Send slots reserved for one destination: seal datagram k into
 * `buffer.subarray((first + k) * slotSize, ...)`, put its length in `lengths[first + k]`, then commit.
 * Valid until the next call on the transport.
 */
export interface TxSlots {
  readonly buffer: Buffer;
  readonly slotSize: number;
  readonly lengths: Uint32Array;
  readonly first: number;
  /** Slots reserved (at least 1, at most what was asked). */
  readonly count: number;
}

export interface Transport {
  /** Local UDP port actually bound. */
  readonly port: number;
  /**
   * Sends one datagram now. The transport takes ownership of `data` (the caller must not reuse it).
   * Failures are counted by the transport, never thrown: the underlay is allowed to lose packets.
   */
  send(data: Buffer, to: Endpoint): void;
  /**
   * Queues a copy of `data` for `to` (the caller may reuse its buffer at once); it leaves at the next
   * flush(), or sooner if the transport's queue fills.
   */
  sendQueued(data: Uint8Array, to: Endpoint): void;
  /**
   * Reserves up to `n` send slots for `to`, flushing first if fewer are free; undefined (counted) if
   * `to` cannot be sent to (not an IP literal, no socket of its family, closed). Each slot holds
   * `slotSize` bytes.
   */
  reserve(to: Endpoint, n: number): TxSlots | undefined;
  /** The first `used` reserved slots hold datagrams for the reservation's destination: queue them. */
  commit(used: number): void;
  /** Sends everything queued (one sendmmsg per family for the native transport). */
  flush(): void;
  /** Receives datagrams, a batch per call. */
  onBatch(handler: (batch: RxBatch) => void): void;
  /**
   * A datagram too long for the transport's receive slots arrived and was discarded unread; the data
   * plane counts it with the oversized ones it sees itself. Transports that hand out every datagram
   * whole (dgram, memory) never call it.
   */
  onOversized?(handler: () => void): void;
  /**
   * Transports with connection-based links (ws-transport.ts): the member addresses they may open
   * connections to (node/ws-fallback.ts sets them), and a packet from `from` was authenticated.
   */
  setDialTargets?(endpoints: readonly Endpoint[]): void;
  noteAuthenticated?(from: Endpoint): void;
  /**
   * Transports that can: drop, before the batch handler, initiations addressed to `self` that the
   * initiation guard would drop first (wrong size, mac1 seen before, mac1 wrong), or, under load, only
   * refuse a cookie reply (a source not proven to be a member's, no valid mac2, the strangers' budget
   * spent), and report them with the next batch (RxBatch.filteredInitiations). The guard still checks
   * everything it is handed.
   */
  handshakeLoad?(options: HandshakeLoadOptions): void;
  /**
   * The data plane proved (`on`) that `endpoint` is a member's, or that proof lapsed: initiations from
   * a proven endpoint always reach the guard, cookie or not. Only authenticated endpoints are passed.
   */
  provenEndpoint?(endpoint: Endpoint, on: boolean): void;
  /**
   * Transports whose sends are plain datagrams on a socket: the socket and address record a native
   * sender may use for `to` (the TUN's outbound fast lane, forward/fast-lane.ts), undefined if `to`
   * cannot be sent to that way (a ws link, no socket of its family, closed).
   */
  fastRoute?(to: Endpoint): FastRoute | undefined;
  /** What the fast lane sent on the transport's sockets, for its counters (errno 0: none refused). */
  countFastSends?(sent: number, dropped: number, errno: number): void;
  /**
   * Transports that can: the inbound fast lane on their sockets (native/rx-lane.h), which opens and
   * writes to the TUN the Data packets of the sessions forward/rx-lane.ts installs.
   */
  readonly fastReceive?: FastReceivePort;
  /** Datagrams the inbound fast lane took, for the transport's receive counters. */
  countFastReceives?(datagrams: number): void;
  close(): Promise<void>;
}

/** One receive keypair of the inbound fast lane, as forward/rx-lane.ts decided it. */
export interface FastReceiveEntry {
  /** Our receiver index the member's packets name. */
  readonly index: number;
  readonly peer: number;
  /** The member's address the entry was made for (an address record, FastRoute.record): the only source taken. */
  readonly record: Uint8Array;
  readonly keypairState: Buffer;
  /** The member's address block for the inner checks (forward/deliver-ip.ts) and its flags. */
  readonly addrs: Uint8Array;
  readonly addrFlags: number;
  /** Until when the entry may be used, on the TUN lane's clock (FastLanePort.clockMs). */
  readonly validUntilMs: number;
}

/** The inbound fast lane of a transport's sockets (native/rx-lane.h). */
export interface FastReceivePort {
  readonly slots: number;
  /** Numbers per slot in take()'s array: see FastReceiveStat. */
  readonly statFields: number;
  /** Our node id and the TUN to write to (undefined: none, the lane takes nothing). */
  setup(self: number, tun: { fd: number; vnet: boolean } | undefined): void;
  set(slot: number, entry: FastReceiveEntry): void;
  clear(slot: number): void;
  /** What each slot did since the last take (statFields numbers per slot; the array is reused). */
  take(): Float64Array;
}

/**
 * The drop reasons of FastReceivePort.take()'s refusal fields, from FastReceiveStat.FirstDrop on, in
 * native/rx-lane.h's RX_ST_* order.
 */
export const FAST_RECEIVE_DROPS = [
  'truncated',
  'replayed',
  'auth-failed',
  'expired',
  'not-ip',
  'spoofed-source',
  'not-local-destination',
  'bad-inner',
  'tun-full',
  'tun-error',
] as const;

/** Fields of FastReceivePort.take() per slot (native/rx-lane.h RX_ST_*). */
export const FastReceiveStat = {
  Packets: 0,
  Bytes: 1,
  Datagrams: 2,
  /** Then refusals, in this order, by the JS path's drop reasons (FAST_RECEIVE_DROPS). */
  FirstDrop: 3,
  /** After them: the errno of the last failed TUN write. */
  TunErrno: 3 + FAST_RECEIVE_DROPS.length,
  /** Fields per slot: native/rx-lane.h's RX_ST_COUNT must equal it (NativeFastReceive checks). */
  Count: 4 + FAST_RECEIVE_DROPS.length,
} as const;

/** A socket and a destination's address record (native/udp.c's format), for Transport.fastRoute. */
export interface FastRoute {
  readonly fd: number;
  readonly record: Uint8Array;
}

/** Calls `fn` with a view of each datagram of `batch` (valid only during the call) and its source. */
export function forEachDatagram(batch: RxBatch, fn: (data: Buffer, from: Endpoint) => void): void {
  const { buffer, offsets, lengths, count } = batch;
  for (let i = 0; i < count; i++) {
    fn(buffer.subarray(offsets[i], offsets[i]! + lengths[i]!), batch.source(i));
  }
}
