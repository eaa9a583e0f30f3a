// The underlay through overlayd's own UDP binding (native/udp.c): recvmmsg/sendmmsg in batches, with UDP
// GRO and GSO where the kernel has them, instead of one dgram call, one SendWrap and one Buffer per
// datagram. Same sockets and behaviour as udp-transport.ts (one IPv4 socket and one IPv6-only socket on
// the same port, send errors counted), plus:
//
//   receive: each socket delivers the datagrams of up to `batch` receives per callback, as an RxBatch of
//            views into JS-owned slots (valid until the handler returns) with cached, immutable sources.
//            With GRO one receive holds up to 64 datagrams of one sender, split natively.
//            handshakeLoad() turns on the native load step (native/handshake-load.c): junk and
//            replayed initiations, and under load strangers' initiations without a cookie beyond
//            their budget, are dropped before the batch crosses into JS, counted by reason;
//            provenEndpoint() keeps its table of members' endpoints (always passed to the guard).
//   send:    reserve() hands out slots of a per-family ring to seal into, sendQueued() copies into one;
//            flush() hands the ring to one sendmmsg, runs of equal-size datagrams to one address as one
//            GSO message. A nextTick flush backs it up, so nothing queued is ever stranded.
//
// The receive buffer is deliberately small (a few hundred kB, not megabytes): it is the queue between
// the wire and the TUN, and a deep one only adds delay under load (bufferbloat) — packets it drops are
// counted (SO_RXQ_OVFL) and TCP inside the tunnel slows down instead. Within it, the wait itself is
// controlled: each receive's age (kernel timestamp) goes through CoDel (standing-delay.ts), which picks
// bulk messages to drop while a standing wait persists. It only marks them (RxBatch.shed): what a sealed
// datagram carries is known only once opened, and a path probe or a routing message must never be
// dropped as if it were data (the data plane drops the marked IP packets it opens). The kernel's drops
// for a full queue reach the data plane with the batch (RxBatch.overflowDrops), counted with its own.
//
// The addon (native-udp-binding.ts) allocates nothing: JS allocates every buffer once per transport, and
// the hot paths below allocate nothing per datagram.
import { constants as osConstants } from 'node:os';
import { OverlayError } from '../errors.js';
import type { Logger } from '../log.js';
import { errnoName } from '../native/errno-name.js';
import { MAX_DATAGRAM_SLOT_BYTES } from '../wire/sizes.js';
import { formatIPv6, parseDest, type Dest } from './native-udp-address.js';
import {
  ADDR_BYTES,
  ADDR_WORDS,
  GRO_MAX_SEGMENTS,
  loadBinding,
  OPEN_OFFLOADS,
  OPEN_RECVERR,
  STAT_COUNT,
  STAT_RX_CALLS,
  STAT_RX_ERRORS,
  STAT_RX_LAST_ERRNO,
  STAT_RX_MESSAGES,
  STAT_RX_QUEUE_DROPS,
  STAT_RX_TRUNCATED,
  HS_PARAMS,
  PROVEN_ENTRY_BYTES,
  STAT_HS_BAD_MAC,
  STAT_HS_COOKIE_FILTERED,
  STAT_HS_OVERSIZED,
  STAT_HS_REPLAYED,
  STAT_HS_TRUNCATED,
  STAT_TX_GSO,
  type UdpBinding,
} from './native-udp-binding.js';
import { randomInt } from 'node:crypto';
import { cookieAddress } from './cookie-address.js';
import { NativeFastReceive } from './native-fast-receive.js';
import { DEFAULT_STANDING_DELAY, StandingDelay, type StandingDelayOptions } from './standing-delay.js';
import type {
  Endpoint,
  FastRoute,
  FilteredInitiations,
  HandshakeLoadOptions,
  RxBatch,
  Transport,
  TxSlots,
} from './transport.js';
import type { UdpCounters, UdpTransportOptions } from './udp-transport.js';

export interface NativeUdpTransportOptions extends UdpTransportOptions {
  /** Receives per callback (per recvmmsg round). Default 32 with offloads, 64 without. */
  batch?: number;
  /** Bytes per send slot, and per receive slot without GRO. Default: the largest datagram overlayd makes. */
  slotSize?: number;
  /** Send ring slots per address family; reserve() flushes when the ring is full. Default 256. */
  sendSlots?: number;
  /** UDP GRO on receive and GSO on send where the kernel has them. Default true; false forces them off. */
  offloads?: boolean;
  /**
   * IP_RECVERR/IPV6_RECVERR: count ICMP errors (port unreachable...) as receive errors instead of letting
   * the kernel ignore them on an unconnected socket. Default false (like dgram).
   */
  reportIcmpErrors?: boolean;
  /** SO_SNDBUF asked for (bufferBytes is the receive buffer here). Default 4 MiB: sends never queue long. */
  sendBufferBytes?: number;
  /**
   * CoDel on the age of each receive (standing-delay.ts). Default DEFAULT_STANDING_DELAY; false: none
   * (only the buffer's size bounds the wait, as before).
   */
  standingDelay?: StandingDelayOptions | false;
  /** Receiving failed for good on one socket (it stopped reading). Default: log an error. */
  onError?: (err: NodeJS.ErrnoException) => void;
}

/** The socket receive buffer asked for by default: the standing queue under load (see above). */
export const DEFAULT_RECEIVE_BUFFER_BYTES = 256 * 1024;
/**
 * mac1 values the handshake load step remembers (8 bytes each): a replayed initiation is dropped in C
 * while its entry lasts; a forger can only evict entries (the initiation guard then refuses the replay).
 */
const FILTER_SEEN_ENTRIES = 1 << 14;
/**
 * Members' proven endpoints the load step can hold per socket: at most ¾ of them are used (3072, some
 * 380 members at the 8 endpoints each that endpoint-bindings.ts allows, far more at the usual 1–3);
 * beyond that a member's cookie-less initiation under load competes with strangers'.
 */
export const PROVEN_ENDPOINT_ENTRIES = 4096;
/** The load step's counters, in the order of FilteredInitiations' reasons. */
const FILTER_STATS = [
  [STAT_HS_TRUNCATED, 'truncated'],
  [STAT_HS_OVERSIZED, 'oversized'],
  [STAT_HS_BAD_MAC, 'bad-mac'],
  [STAT_HS_REPLAYED, 'replayed-initiation'],
  [STAT_HS_COOKIE_FILTERED, 'cookie-filtered'],
] as const;

/** A receive slot with GRO holds one coalesced receive: up to 64 kB. */
const GRO_SLOT_BYTES = 65536;

// Caches of endpoints seen or sent to. Cleared when full: an attacker spraying sources only makes us
// format a string per datagram (what dgram does anyway), it cannot grow memory.
const MAX_CACHED_ENDPOINTS = 4096;

export interface NativeUdpCounters extends UdpCounters {
  /** Datagrams the kernel accepted. */
  datagramsSent: number;
  /** Datagrams dropped because the socket buffer or device queue was full (EAGAIN, ENOBUFS). */
  sendDropped: number;
  lastSendDrop: string;
  datagramsReceived: number;
  /** Datagrams longer than a slot: dropped before the handler (the data plane never sees a partial one); counted in datagramsReceived too. */
  readonly receiveTruncated: number;
  /** Errors reported by the sockets while receiving (ICMP errors, POLLERR); reading went on. */
  readonly receiveErrors: number;
  readonly lastReceiveError: string;
  /** Receives the kernel dropped because a socket's receive queue was full (SO_RXQ_OVFL). */
  readonly receiveQueueDrops: number;
  /**
   * Datagrams marked to drop after waiting too long in the receive queue (standing-delay.ts, RxBatch.shed);
   * the data plane drops the IP packets among them and counts those as queue-delay.
   */
  receiveDelayMarked: number;
  /** Messages sent with UDP GSO (each several datagrams). */
  readonly gsoSends: number;
  /** recvmmsg calls that returned datagrams (wraps at 2^32). */
  readonly receiveCalls: number;
}

/** One socket: its native handle, its receive slots and datagram list, and its send ring. */
interface Socket {
  readonly family: 4 | 6;
  readonly handle: Buffer;
  readonly boundPort: number;
  readonly receiveBufferBytes: number;
  readonly offloads: boolean;
  readonly stats: Uint32Array;
  readonly rx: Buffer;
  readonly rxSlotSize: number;
  readonly rxLengths: Uint32Array;
  readonly rxAddrs: Uint8Array;
  readonly rxWords: Uint32Array;
  /** Per receive slot: µs the message waited in the socket queue (native). */
  readonly rxAges: Uint32Array;
  /** Per receive slot: 1 if the standing-delay control marks it. */
  readonly rxDrop: Uint8Array;
  readonly delay: StandingDelay | null;
  readonly batch: SocketBatch;
  readonly tx: Buffer;
  readonly txLengths: Uint32Array;
  readonly txAddrs: Uint8Array;
  readonly txWords: Uint32Array;
  readonly slots: TxSlots & { first: number; count: number };
  txCount: number;
  truncatedSeen: number;
  overflowSeen: number;
  /** The load step's counters as last handed on (FILTER_STATS order). */
  readonly filteredSeen: Uint32Array;
}

interface V6Source {
  readonly w0: number;
  readonly w1: number;
  readonly w2: number;
  readonly w3: number;
  readonly endpoint: Endpoint;
}

/** The receive batch of one socket: the native datagram list, sources resolved per receive slot. */
class SocketBatch implements RxBatch {
  count = 0;
  overflowDrops = 0;
  shed: Uint8Array | undefined = undefined;
  /** Reused: the counts are rewritten before every batch. */
  readonly filteredInitiations: FilteredInitiations[] = FILTER_STATS.map(([, reason]) => ({
    reason,
    count: 0,
  }));
  /** Set by the transport: the endpoint of a receive slot's source address record. */
  resolveSlot: (slot: number) => Endpoint = () => {
    throw new Error('socket batch used before its transport was built');
  };
  private lastSlot = -1;
  private lastEndpoint: Endpoint = { host: '', port: 0 };

  constructor(
    readonly buffer: Buffer,
    readonly offsets: Uint32Array,
    readonly lengths: Uint32Array,
    /** Receive slot of each datagram (its source address record). */
    readonly sources: Uint32Array,
    /** Backs `shed` when something is marked: per datagram, 1 if its receive was. */
    readonly shedFlags: Uint8Array,
  ) {}

  reset(count: number): void {
    this.count = count;
    this.lastSlot = -1;
  }

  source(i: number): Endpoint {
    const slot = this.sources[i]!;
    // The datagrams of one GRO receive share their sender: resolve once per slot.
    if (slot !== this.lastSlot) {
      this.lastEndpoint = this.resolveSlot(slot);
      this.lastSlot = slot;
    }
    return this.lastEndpoint;
  }
}

export class NativeUdpTransport implements Transport {
  readonly port: number;
  /** SO_RCVBUF of the IPv4 socket as the kernel reports it (twice what it grants for payload). */
  readonly receiveBufferBytes: number;
  /** True if the sockets use GRO/GSO. */
  readonly offloads: boolean;
  readonly counters: NativeUdpCounters;
  private handler: (batch: RxBatch) => void = () => {};
  private oversizedHandler: () => void = () => {};
  private closed = false;
  private closing: Promise<void> | undefined;
  private flushScheduled = false;
  private pending: { s: Socket; dest: Dest } | undefined;
  private readonly result = new Int32Array(4);
  private readonly sources4 = new Map<number, Endpoint>();
  private readonly sources6 = new Map<number, V6Source>();
  private readonly destsByEndpoint = new WeakMap<Endpoint, Dest>();
  private readonly destsByKey = new Map<string, Dest>();
  private readonly flushTick = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  /** See Transport.fastReceive. */
  readonly fastReceive: NativeFastReceive;

  private constructor(
    private readonly b: UdpBinding,
    private readonly sock4: Socket,
    private readonly sock6: Socket | null,
    private readonly slotSize: number,
    private readonly sendSlots: number,
    onError: (err: NodeJS.ErrnoException) => void,
  ) {
    this.port = sock4.boundPort;
    this.receiveBufferBytes = sock4.receiveBufferBytes;
    this.offloads = sock4.offloads;
    this.counters = makeCounters(sock4, sock6);
    // The standing-delay control must see every datagram it acts on: the lane takes only smaller ones.
    const maxDatagram = sock4.delay?.minDropBytes ?? DEFAULT_STANDING_DELAY.minDropBytes;
    this.fastReceive = new NativeFastReceive(b, sock6 ? [sock4, sock6] : [sock4], maxDatagram);
    for (const s of sock6 ? [sock4, sock6] : [sock4]) {
      const dg = s.batch;
      dg.resolveSlot = s.family === 4 ? (slot) => this.source4(s, slot) : (slot) => this.source6(s, slot);
      this.b.udp_start(
        s.handle,
        s.rx,
        s.rxSlotSize,
        s.rxLengths,
        s.rxAddrs,
        s.rxLengths.length,
        s.stats,
        dg.offsets,
        dg.lengths,
        dg.sources,
        (n) => this.deliver(s, n),
        onError,
        s.rxAges,
      );
    }
  }

  /** Binds the sockets. Errors: OverlayError('ERR_TRANSPORT') naming the address and port. */
  static async open(opts: NativeUdpTransportOptions): Promise<NativeUdpTransport> {
    const b = loadBinding();
    const offloads = opts.offloads ?? true;
    const batch = positiveInt('batch', opts.batch ?? (offloads ? 32 : 64), 1);
    const slotSize = positiveInt('slotSize', opts.slotSize ?? MAX_DATAGRAM_SLOT_BYTES, 64);
    const sendSlots = positiveInt('sendSlots', opts.sendSlots ?? 256, 1);
    const log = opts.log;
    const geometry: Geometry = {
      standingDelay: opts.standingDelay ?? DEFAULT_STANDING_DELAY,
      bufferBytes: opts.bufferBytes ?? DEFAULT_RECEIVE_BUFFER_BYTES,
      sendBufferBytes: opts.sendBufferBytes ?? 4 * 1024 * 1024,
      flags: (opts.reportIcmpErrors ? OPEN_RECVERR : 0) | (offloads ? OPEN_OFFLOADS : 0),
      batch,
      slotSize,
      sendSlots,
      log,
    };
    const sock4 = openSocket(b, 4, opts.host4 ?? '0.0.0.0', opts.port, geometry);
    let sock6: Socket | null = null;
    if (opts.host6 !== null) {
      try {
        sock6 = openSocket(b, 6, opts.host6 ?? '::', sock4.boundPort, geometry);
      } catch (err) {
        // A host without IPv6 (or with it disabled) still runs over IPv4.
        log.warn(`IPv6 underlay unavailable, continuing with IPv4 only: ${(err as Error).message}`);
      }
    }
    const onError =
      opts.onError ??
      ((err: NodeJS.ErrnoException): void => log.error(`UDP receive stopped: ${err.message}`));
    log.info(
      `UDP port ${sock4.boundPort}: GSO/GRO ${sock4.offloads ? 'on' : offloads ? 'refused by the kernel' : 'forced off'}, ` +
        `receive buffer ${Math.round(sock4.receiveBufferBytes / 2048)} kB`,
    );
    return new NativeUdpTransport(b, sock4, sock6, slotSize, sendSlots, onError);
  }

  /** See Transport.onBatch: the batch is valid only until the handler returns. */
  onBatch(handler: (batch: RxBatch) => void): void {
    this.handler = handler;
  }

  onOversized(handler: () => void): void {
    this.oversizedHandler = handler;
  }

  // ---- receive --------------------------------------------------------------------------------

  private deliver(s: Socket, count: number): void {
    if (this.closed) return;
    this.counters.datagramsReceived += count;
    const truncated = s.stats[STAT_RX_TRUNCATED]!;
    for (; s.truncatedSeen < truncated; s.truncatedSeen++) {
      this.counters.datagramsReceived++;
      this.oversizedHandler();
    }
    const batch = s.batch;
    batch.reset(count);
    batch.shed = s.delay === null ? undefined : this.markStanding(s, count);
    const overflow = s.stats[STAT_RX_QUEUE_DROPS]!;
    // The kernel's count is cumulative (and wraps as a u32): hand on what is new since the last batch.
    batch.overflowDrops = (overflow - s.overflowSeen) >>> 0;
    s.overflowSeen = overflow;
    for (let k = 0; k < FILTER_STATS.length; k++) {
      const now = s.stats[FILTER_STATS[k]![0]]!;
      batch.filteredInitiations[k]!.count = (now - s.filteredSeen[k]!) >>> 0;
      s.filteredSeen[k] = now;
    }
    this.handler(batch);
  }

  /**
   * See Transport.handshakeLoad: on both sockets, each with its own replay memory, load meter,
   * strangers' bucket and proven-endpoint table; both read the one set of cookie secrets.
   */
  handshakeLoad(o: HandshakeLoadOptions): void {
    const values: Record<(typeof HS_PARAMS)[number], number> = {
      underLoadPerSecond: o.underLoad.perSecond,
      underLoadBurst: o.underLoad.burst,
      underLoadHoldMs: o.underLoadHoldMs,
      strangersPerSecond: o.cookiesToStrangers.perSecond,
      strangersBurst: o.cookiesToStrangers.burst,
      provenSeed: randomInt(2 ** 32),
    };
    const params = Float64Array.from(HS_PARAMS, (name) => values[name]);
    for (const s of this.sockets()) {
      const seen = new BigUint64Array(FILTER_SEEN_ENTRIES);
      const proven = new Uint8Array(PROVEN_ENDPOINT_ENTRIES * PROVEN_ENTRY_BYTES);
      this.b.udp_handshake_load(s.handle, o.self, o.mac1Key, seen, o.cookieSecrets, proven, params);
    }
  }

  /**
   * See Transport.provenEndpoint: on the socket of the endpoint's family. Returns whether its table
   * holds the endpoint afterwards (false once removed, or if the table is ¾ full).
   */
  provenEndpoint(endpoint: Endpoint, on: boolean): boolean {
    if (endpoint.via === 'ws') return false;
    const address = cookieAddress(endpoint);
    const s = address[0] === 4 ? this.sock4 : address[0] === 6 ? this.sock6 : null;
    return s !== null && this.b.udp_proven_endpoint(s.handle, address, on);
  }

  /** See Transport.fastRoute: the socket of the endpoint's family and its cached address record. */
  fastRoute(to: Endpoint): FastRoute | undefined {
    if (this.closed || to.via === 'ws') return undefined;
    const dest = this.dest(to);
    if (dest === undefined || (dest.family === 6 && this.sock6 === null)) return undefined;
    const fd = this.b.udp_fd(this.socketFor(dest).handle);
    return fd < 0 ? undefined : { fd, record: dest.bytes };
  }

  /** Datagrams the inbound fast lane took (Transport.countFastReceives). */
  countFastReceives(datagrams: number): void {
    this.counters.datagramsReceived += datagrams;
  }

  countFastSends(sent: number, dropped: number, errno: number): void {
    this.counters.datagramsSent += sent;
    if (dropped === 0) return;
    this.counters.sendDropped += dropped;
    this.counters.lastSendDrop = errnoName(-errno);
  }

  private sockets(): Socket[] {
    return this.sock6 ? [this.sock4, this.sock6] : [this.sock4];
  }

  /**
   * Runs the receives behind this batch through the standing-delay control, oldest first. Returns the
   * per-datagram marks of those it picked to drop, or undefined if none.
   */
  private markStanding(s: Socket, count: number): Uint8Array | undefined {
    const delay = s.delay!;
    const messages = s.stats[STAT_RX_MESSAGES]!;
    const now = performance.now();
    let any = false;
    for (let m = 0; m < messages; m++) {
      const drop = delay.drop(s.rxAges[m]! / 1000, s.rxLengths[m]!, now);
      s.rxDrop[m] = drop ? 1 : 0;
      any ||= drop;
    }
    if (!any) return undefined;
    const { sources, shedFlags } = s.batch;
    let marked = 0;
    for (let i = 0; i < count; i++) {
      const mark = s.rxDrop[sources[i]!]!; // the datagrams of one GRO receive share its mark
      shedFlags[i] = mark;
      marked += mark;
    }
    this.counters.receiveDelayMarked += marked;
    return shedFlags;
  }

  private source4(s: Socket, slot: number): Endpoint {
    const w = slot * ADDR_WORDS;
    // Address word × 2^16 + raw port bytes: an exact number key, no string built.
    const key = s.rxWords[w]! * 65536 + (s.rxWords[w + 4]! & 0xffff);
    let endpoint = this.sources4.get(key);
    if (endpoint === undefined) {
      const a = s.rxAddrs;
      const o = slot * ADDR_BYTES;
      endpoint = this.newSource(`${a[o]}.${a[o + 1]}.${a[o + 2]}.${a[o + 3]}`, a, o);
      if (this.sources4.size >= MAX_CACHED_ENDPOINTS) this.sources4.clear();
      this.sources4.set(key, endpoint);
    }
    return endpoint;
  }

  private source6(s: Socket, slot: number): Endpoint {
    const words = s.rxWords;
    const w = slot * ADDR_WORDS;
    const w0 = words[w]!;
    const w1 = words[w + 1]!;
    const w2 = words[w + 2]!;
    const w3 = words[w + 3]!;
    const hash =
      (Math.imul(w0, 0x9e3779b1) ^
        Math.imul(w1, 0x85ebca77) ^
        Math.imul(w2, 0xc2b2ae3d) ^
        Math.imul(w3, 0x27d4eb2f)) >>>
      0;
    const key = hash * 65536 + (words[w + 4]! & 0xffff);
    const hit = this.sources6.get(key);
    if (hit !== undefined && hit.w0 === w0 && hit.w1 === w1 && hit.w2 === w2 && hit.w3 === w3)
      return hit.endpoint;
    const o = slot * ADDR_BYTES;
    const endpoint = this.newSource(formatIPv6(s.rxAddrs, o), s.rxAddrs, o);
    if (this.sources6.size >= MAX_CACHED_ENDPOINTS) this.sources6.clear();
    this.sources6.set(key, { w0, w1, w2, w3, endpoint }); // a hash collision just replaces the entry
    return endpoint;
  }

  /** A frozen endpoint whose send record is known already, so replying to it parses nothing. */
  private newSource(host: string, addrs: Uint8Array, o: number): Endpoint {
    const endpoint = Object.freeze({ host, port: (addrs[o + 16]! << 8) | addrs[o + 17]! });
    const bytes = addrs.slice(o, o + ADDR_BYTES);
    bytes[19] = 0;
    this.destsByEndpoint.set(endpoint, {
      family: bytes[18] === 4 ? 4 : 6,
      bytes,
      words: new Uint32Array(bytes.buffer, 0, ADDR_WORDS),
    });
    return endpoint;
  }

  // ---- send -----------------------------------------------------------------------------------

  /**
   * Sends one datagram now (one sendto), after anything queued for the same family so order is kept.
   * The kernel has copied `data` when this returns; the Transport contract still says ownership passes.
   */
  send(data: Buffer, to: Endpoint): void {
    const dest = this.resolve(to);
    if (dest === undefined) return;
    const s = this.socketFor(dest);
    if (s.txCount > 0) this.flushSocket(s);
    this.sendNow(s, data, dest);
  }

  /**
   * Copies `data` into the next slot of the send ring for `to`'s family; the caller keeps `data` and may
   * reuse it at once. A datagram bigger than a slot is sent at once instead (after the ring).
   */
  sendQueued(data: Uint8Array, to: Endpoint): void {
    const len = data.length;
    if (len > this.slotSize) return this.send(Buffer.from(data), to);
    const slots = this.reserve(to, 1);
    if (slots === undefined) return;
    slots.buffer.set(data, slots.first * slots.slotSize);
    slots.lengths[slots.first] = len;
    this.commit(1);
  }

  reserve(to: Endpoint, n: number): TxSlots | undefined {
    const dest = this.resolve(to);
    if (dest === undefined) return undefined;
    const s = this.socketFor(dest);
    const want = Math.max(1, Math.min(n, this.sendSlots));
    if (this.sendSlots - s.txCount < want) this.flushSocket(s);
    const slots = s.slots;
    slots.first = s.txCount;
    slots.count = Math.min(want, this.sendSlots - s.txCount);
    this.pending = { s, dest };
    return slots;
  }

  commit(used: number): void {
    const p = this.pending;
    if (p === undefined) return;
    this.pending = undefined;
    const { s, dest } = p;
    const n = Math.min(used, s.slots.count);
    const d = dest.words;
    const words = s.txWords;
    for (let i = s.slots.first; i < s.slots.first + n; i++) {
      const w = i * ADDR_WORDS;
      words[w] = d[0]!;
      words[w + 1] = d[1]!;
      words[w + 2] = d[2]!;
      words[w + 3] = d[3]!;
      words[w + 4] = d[4]!;
    }
    s.txCount = s.slots.first + n;
    if (n > 0 && !this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flushTick);
    }
  }

  /** Hands every queued datagram to the kernel: one sendmmsg per socket (per 64 messages). Synchronous. */
  flush(): void {
    if (this.sock4.txCount > 0) this.flushSocket(this.sock4);
    if (this.sock6 !== null && this.sock6.txCount > 0) this.flushSocket(this.sock6);
  }

  private socketFor(dest: Dest): Socket {
    return dest.family === 4 ? this.sock4 : (this.sock6 as Socket);
  }

  private flushSocket(s: Socket): void {
    const n = s.txCount;
    s.txCount = 0; // first: the ring is empty again even if the binding throws (a bug, not the network)
    const r = this.result;
    this.counters.datagramsSent += this.b.udp_send_batch(
      s.handle,
      s.tx,
      this.slotSize,
      s.txLengths,
      s.txAddrs,
      n,
      r,
    );
    if (r[0]! > 0) {
      this.counters.sendDropped += r[0]!;
      this.counters.lastSendDrop = errnoName(r[3]!);
    }
    if (r[1]! > 0) {
      this.counters.sendErrors += r[1]!;
      this.counters.lastSendError = errnoName(r[2]!);
    }
  }

  private sendNow(s: Socket, data: Uint8Array, dest: Dest): void {
    const rc = this.b.udp_send(s.handle, data, 0, data.length, dest.bytes);
    if (rc === 0) {
      this.counters.datagramsSent++;
    } else if (rc === EAGAIN || rc === ENOBUFS) {
      this.counters.sendDropped++;
      this.counters.lastSendDrop = errnoName(rc);
    } else {
      this.counters.sendErrors++;
      this.counters.lastSendError = errnoName(rc);
    }
  }

  /** Where `to` goes, or undefined (counted, never thrown) if closed, not an IP literal, or no v6 socket. */
  private resolve(to: Endpoint): Dest | undefined {
    if (this.closed) return this.refuse('EBADF');
    const dest = this.dest(to);
    if (dest === undefined) return this.refuse('EINVAL'); // a host name or a zone: resolve before sending
    if (dest.family === 6 && this.sock6 === null) return this.refuse('no IPv6 socket');
    return dest;
  }

  private refuse(why: string): undefined {
    this.counters.sendErrors++;
    this.counters.lastSendError = why;
    return undefined;
  }

  private dest(to: Endpoint): Dest | undefined {
    let dest = this.destsByEndpoint.get(to);
    if (dest !== undefined) return dest;
    const key = `${to.host} ${to.port}`;
    dest = this.destsByKey.get(key);
    if (dest === undefined) {
      dest = parseDest(to);
      if (dest === undefined) return undefined;
      if (this.destsByKey.size >= MAX_CACHED_ENDPOINTS) this.destsByKey.clear();
      this.destsByKey.set(key, dest);
    }
    this.destsByEndpoint.set(to, dest);
    return dest;
  }

  // ---- close ----------------------------------------------------------------------------------

  /** Sends what is queued, stops receiving and closes the sockets. Idempotent; resolves once fds are closed. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.flush();
    this.closed = true;
    const done = (s: Socket): Promise<void> =>
      new Promise((resolve) => {
        if (!this.b.udp_close(s.handle, resolve)) resolve();
      });
    this.closing = Promise.all([done(this.sock4), this.sock6 ? done(this.sock6) : undefined]).then(() => {});
    return this.closing;
  }
}

const EAGAIN = -osConstants.errno.EAGAIN;
const ENOBUFS = -osConstants.errno.ENOBUFS;

function positiveInt(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer >= ${min}`);
  return value;
}

interface Geometry {
  standingDelay: StandingDelayOptions | false;
  bufferBytes: number;
  sendBufferBytes: number;
  flags: number;
  batch: number;
  slotSize: number;
  sendSlots: number;
  log: Logger;
}

function openSocket(b: UdpBinding, family: 4 | 6, host: string, port: number, g: Geometry): Socket {
  const { batch, slotSize, sendSlots } = g;
  const handle = Buffer.alloc(b.sizeof_udp_t);
  const info = new Uint32Array(4);
  try {
    b.udp_open(handle, family, host, port, g.bufferBytes, g.sendBufferBytes, g.flags, info);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new OverlayError('ERR_TRANSPORT', `cannot bind UDP ${host} port ${port}: ${e.code ?? e.message}`, {
      cause: err,
    });
  }
  const offloads = info[3] === 1;
  g.log.debug(
    `udp${family} bound port ${info[0]}: SO_RCVBUF ${info[1]}, SO_SNDBUF ${info[2]} bytes, ` +
      `GRO/GSO ${offloads ? 'on' : 'off'}`,
  );
  const rxSlotSize = offloads ? GRO_SLOT_BYTES : slotSize;
  const rx = Buffer.alloc(batch * rxSlotSize);
  // With GRO, native reads for about 256 datagrams per callback (udp.c, DG_TARGET), so the handler's work
  // per callback stays bounded, and so does what waits behind it; the list has room for 16 full GRO
  // receives, so that small datagrams are read 16 slots per recvmmsg while a receive is never cut.
  const dgCapacity = offloads ? Math.max(GRO_MAX_SEGMENTS, Math.min(batch * GRO_MAX_SEGMENTS, 1024)) : batch;
  const sources = new Uint32Array(dgCapacity);
  const rxAddrs = new Uint8Array(batch * ADDR_BYTES);
  const txAddrs = new Uint8Array(sendSlots * ADDR_BYTES);
  const tx = Buffer.alloc(sendSlots * slotSize);
  const txLengths = new Uint32Array(sendSlots);
  const dgBatch = new SocketBatch(
    rx,
    new Uint32Array(dgCapacity),
    new Uint32Array(dgCapacity),
    sources,
    new Uint8Array(dgCapacity),
  );
  return {
    family,
    handle,
    boundPort: info[0]!,
    receiveBufferBytes: info[1]!,
    offloads,
    stats: new Uint32Array(STAT_COUNT),
    rx,
    rxSlotSize,
    rxLengths: new Uint32Array(batch),
    rxAddrs,
    rxWords: new Uint32Array(rxAddrs.buffer),
    rxAges: new Uint32Array(batch),
    rxDrop: new Uint8Array(batch),
    delay: g.standingDelay === false ? null : new StandingDelay(g.standingDelay),
    batch: dgBatch,
    tx,
    txLengths,
    txAddrs,
    txWords: new Uint32Array(txAddrs.buffer),
    slots: { buffer: tx, slotSize, lengths: txLengths, first: 0, count: 0 },
    txCount: 0,
    truncatedSeen: 0,
    overflowSeen: 0,
    filteredSeen: new Uint32Array(FILTER_STATS.length),
  };
}

function makeCounters(sock4: Socket, sock6: Socket | null): NativeUdpCounters {
  const sockets = sock6 ? [sock4, sock6] : [sock4];
  const sum = (stat: number): number => sockets.reduce((n, s) => n + s.stats[stat]!, 0);
  let lastErrno = 0;
  return {
    sendErrors: 0,
    lastSendError: '',
    datagramsSent: 0,
    sendDropped: 0,
    lastSendDrop: '',
    datagramsReceived: 0,
    receiveDelayMarked: 0,
    get receiveTruncated(): number {
      return sum(STAT_RX_TRUNCATED);
    },
    get receiveErrors(): number {
      return sum(STAT_RX_ERRORS);
    },
    get lastReceiveError(): string {
      for (const s of sockets)
        if (s.stats[STAT_RX_LAST_ERRNO] !== 0) lastErrno = s.stats[STAT_RX_LAST_ERRNO]!;
      return lastErrno === 0 ? '' : errnoName(-lastErrno);
    },
    get receiveQueueDrops(): number {
      return sum(STAT_RX_QUEUE_DROPS);
    },
    get gsoSends(): number {
      return sum(STAT_TX_GSO);
    },
    get receiveCalls(): number {
      return sum(STAT_RX_CALLS);
    },
  };
}
