// The underlay through overlayd's own UDP binding (native/udp.c): recvmmsg/sendmmsg in batches instead of
// one dgram call, one SendWrap and one Buffer per datagram. Same sockets and behaviour as udp-transport.ts
// (one IPv4 socket and one IPv6-only socket on the same port, large buffers, send errors counted), plus:
//
//   receive: each socket delivers up to `batch` datagrams per wakeup into JS-owned slots; the handler gets
//            a VIEW into a slot (borrowed: valid until it returns) and a cached, immutable Endpoint.
//   send:    sendQueued() copies a datagram into a per-family ring; flush() hands the ring to one
//            sendmmsg. A nextTick flush backs it up, so nothing queued is ever stranded.
//
// The addon (native-udp-binding.ts) allocates nothing: JS allocates every buffer once per transport, and
// the hot paths below allocate only the subarray view per datagram.
import { constants as osConstants } from 'node:os';
import { getSystemErrorName } from 'node:util';
import { OverlayError } from '../errors.js';
import type { Logger } from '../log.js';
import { formatIPv6, parseDest, type Dest } from './native-udp-address.js';
import {
  ADDR_BYTES,
  ADDR_WORDS,
  loadBinding,
  OPEN_RECVERR,
  STAT_COUNT,
  STAT_RX_ERRORS,
  STAT_RX_LAST_ERRNO,
  type UdpBinding,
} from './native-udp-binding.js';
import type { Endpoint, Transport } from './transport.js';
import type { UdpCounters, UdpTransportOptions } from './udp-transport.js';

export interface NativeUdpTransportOptions extends UdpTransportOptions {
  /** Most datagrams per receive callback (and per recvmmsg wakeup round). Default 64. */
  batch?: number;
  /** Bytes per receive and send slot. Datagrams longer than this are dropped on receive. Default 2048. */
  slotSize?: number;
  /** Send ring slots per address family; sendQueued flushes when the ring is full. Default 64. */
  sendSlots?: number;
  /**
   * IP_RECVERR/IPV6_RECVERR: count ICMP errors (port unreachable...) as receive errors instead of letting
   * the kernel ignore them on an unconnected socket. Default false (like dgram).
   */
  reportIcmpErrors?: boolean;
  /** Receiving failed for good on one socket (it stopped reading). Default: log an error. */
  onError?: (err: NodeJS.ErrnoException) => void;
}

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
  /** Datagrams longer than a slot: dropped before the handler (the data plane never sees a partial one). */
  receiveTruncated: number;
  /** Errors reported by the sockets while receiving (ICMP errors, POLLERR); reading went on. */
  readonly receiveErrors: number;
  readonly lastReceiveError: string;
}

/** One socket: its native handle, its receive slots and its send ring. */
interface Socket {
  readonly family: 4 | 6;
  readonly handle: Buffer;
  readonly boundPort: number;
  readonly receiveBufferBytes: number;
  readonly stats: Uint32Array;
  readonly rx: Buffer;
  readonly rxLengths: Uint32Array;
  readonly rxAddrs: Uint8Array;
  readonly rxWords: Uint32Array;
  readonly tx: Buffer;
  readonly txLengths: Uint32Array;
  readonly txAddrs: Uint8Array;
  readonly txWords: Uint32Array;
  txCount: number;
}

interface V6Source {
  readonly w0: number;
  readonly w1: number;
  readonly w2: number;
  readonly w3: number;
  readonly endpoint: Endpoint;
}

export class NativeUdpTransport implements Transport {
  readonly port: number;
  /** SO_RCVBUF of the IPv4 socket as the kernel reports it (twice what it grants for payload). */
  readonly receiveBufferBytes: number;
  /** Received data are views into reused slots: see Transport.onMessage. */
  readonly borrowsReceiveBuffers = true;
  readonly counters: NativeUdpCounters;
  private handler: (data: Buffer, from: Endpoint) => void = () => {};
  private oversizedHandler: () => void = () => {};
  private closed = false;
  private closing: Promise<void> | undefined;
  private flushScheduled = false;
  private readonly result = new Int32Array(4);
  private readonly sources4 = new Map<number, Endpoint>();
  private readonly sources6 = new Map<number, V6Source>();
  private readonly destsByEndpoint = new WeakMap<Endpoint, Dest>();
  private readonly destsByKey = new Map<string, Dest>();
  private readonly errorNames = new Map<number, string>();
  private readonly flushTick = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

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
    this.counters = makeCounters(sock4, sock6);
    for (const s of sock6 ? [sock4, sock6] : [sock4]) {
      this.b.udp_start(
        s.handle,
        s.rx,
        slotSize,
        s.rxLengths,
        s.rxAddrs,
        s.rxLengths.length,
        s.stats,
        (n) => this.deliver(s, n),
        onError,
      );
    }
  }

  /** Binds the sockets. Errors: OverlayError('ERR_TRANSPORT') naming the address and port. */
  static async open(opts: NativeUdpTransportOptions): Promise<NativeUdpTransport> {
    const b = loadBinding();
    const batch = positiveInt('batch', opts.batch ?? 64, 1);
    // 2048 holds any datagram overlayd sends (MAX_PACKET_BYTES is 1500) with room to spare.
    const slotSize = positiveInt('slotSize', opts.slotSize ?? 2048, 64);
    const sendSlots = positiveInt('sendSlots', opts.sendSlots ?? 64, 1);
    const log = opts.log;
    const geometry: Geometry = {
      bufferBytes: opts.bufferBytes ?? 4 * 1024 * 1024,
      flags: opts.reportIcmpErrors ? OPEN_RECVERR : 0,
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
    return new NativeUdpTransport(b, sock4, sock6, slotSize, sendSlots, onError);
  }

  /**
   * `data` is a view into a receive slot that the next batch overwrites: valid only until the handler
   * returns (see Transport.onMessage). `from` is cached and immutable: keeping it is fine.
   */
  onMessage(handler: (data: Buffer, from: Endpoint) => void): void {
    this.handler = handler;
  }

  onOversized(handler: () => void): void {
    this.oversizedHandler = handler;
  }

  // ---- receive --------------------------------------------------------------------------------

  private deliver(s: Socket, count: number): void {
    const { rx, rxLengths } = s;
    const slotSize = this.slotSize;
    this.counters.datagramsReceived += count;
    for (let i = 0; i < count && !this.closed; i++) {
      const len = rxLengths[i];
      if (len > slotSize) {
        this.counters.receiveTruncated++;
        this.oversizedHandler();
        continue;
      }
      const from = s.family === 4 ? this.source4(s, i) : this.source6(s, i);
      const off = i * slotSize;
      this.handler(rx.subarray(off, off + len), from);
    }
  }

  private source4(s: Socket, i: number): Endpoint {
    const w = i * ADDR_WORDS;
    // Address word × 2^16 + raw port bytes: an exact number key, no string built.
    const key = s.rxWords[w] * 65536 + (s.rxWords[w + 4] & 0xffff);
    let endpoint = this.sources4.get(key);
    if (endpoint === undefined) {
      const a = s.rxAddrs;
      const o = i * ADDR_BYTES;
      endpoint = this.newSource(`${a[o]}.${a[o + 1]}.${a[o + 2]}.${a[o + 3]}`, a, o);
      if (this.sources4.size >= MAX_CACHED_ENDPOINTS) this.sources4.clear();
      this.sources4.set(key, endpoint);
    }
    return endpoint;
  }

  private source6(s: Socket, i: number): Endpoint {
    const words = s.rxWords;
    const w = i * ADDR_WORDS;
    const w0 = words[w];
    const w1 = words[w + 1];
    const w2 = words[w + 2];
    const w3 = words[w + 3];
    const hash =
      (Math.imul(w0, 0x9e3779b1) ^
        Math.imul(w1, 0x85ebca77) ^
        Math.imul(w2, 0xc2b2ae3d) ^
        Math.imul(w3, 0x27d4eb2f)) >>>
      0;
    const key = hash * 65536 + (words[w + 4] & 0xffff);
    const hit = this.sources6.get(key);
    if (hit !== undefined && hit.w0 === w0 && hit.w1 === w1 && hit.w2 === w2 && hit.w3 === w3)
      return hit.endpoint;
    const o = i * ADDR_BYTES;
    const endpoint = this.newSource(formatIPv6(s.rxAddrs, o), s.rxAddrs, o);
    if (this.sources6.size >= MAX_CACHED_ENDPOINTS) this.sources6.clear();
    this.sources6.set(key, { w0, w1, w2, w3, endpoint }); // a hash collision just replaces the entry
    return endpoint;
  }

  /** A frozen endpoint whose send record is known already, so replying to it parses nothing. */
  private newSource(host: string, addrs: Uint8Array, o: number): Endpoint {
    const endpoint = Object.freeze({ host, port: (addrs[o + 16] << 8) | addrs[o + 17] });
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
    const s = dest.family === 4 ? this.sock4 : (this.sock6 as Socket);
    if (s.txCount > 0) this.flushSocket(s);
    this.sendNow(s, data, dest);
  }

  /**
   * Copies `data` into the next slot of the send ring for `to`'s family; the caller keeps `data` and may
   * reuse it at once. The datagram leaves at the next flush(): explicit, when the ring is full, or at the
   * latest on the next tick. A datagram bigger than a slot is sent at once instead (after the ring).
   */
  sendQueued(data: Uint8Array, to: Endpoint): void {
    const dest = this.resolve(to);
    if (dest === undefined) return;
    const s = dest.family === 4 ? this.sock4 : (this.sock6 as Socket);
    const len = data.length;
    if (len > this.slotSize) {
      if (s.txCount > 0) this.flushSocket(s);
      this.sendNow(s, data, dest);
      return;
    }
    if (s.txCount === this.sendSlots) this.flushSocket(s);
    const i = s.txCount++;
    s.tx.set(data, i * this.slotSize);
    s.txLengths[i] = len;
    const w = i * ADDR_WORDS;
    const d = dest.words;
    const words = s.txWords;
    words[w] = d[0];
    words[w + 1] = d[1];
    words[w + 2] = d[2];
    words[w + 3] = d[3];
    words[w + 4] = d[4];
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flushTick);
    }
  }

  /** Hands every queued datagram to the kernel: one sendmmsg per socket (per 64 datagrams). Synchronous. */
  flush(): void {
    if (this.sock4.txCount > 0) this.flushSocket(this.sock4);
    if (this.sock6 !== null && this.sock6.txCount > 0) this.flushSocket(this.sock6);
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
    if (r[0] > 0) {
      this.counters.sendDropped += r[0];
      this.counters.lastSendDrop = this.errorName(r[3]);
    }
    if (r[1] > 0) {
      this.counters.sendErrors += r[1];
      this.counters.lastSendError = this.errorName(r[2]);
    }
  }

  private sendNow(s: Socket, data: Uint8Array, dest: Dest): void {
    const rc = this.b.udp_send(s.handle, data, 0, data.length, dest.bytes);
    if (rc === 0) {
      this.counters.datagramsSent++;
    } else if (rc === EAGAIN || rc === ENOBUFS) {
      this.counters.sendDropped++;
      this.counters.lastSendDrop = this.errorName(rc);
    } else {
      this.counters.sendErrors++;
      this.counters.lastSendError = this.errorName(rc);
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

  private errorName(negativeErrno: number): string {
    let name = this.errorNames.get(negativeErrno);
    if (name === undefined) {
      try {
        name = getSystemErrorName(negativeErrno);
      } catch {
        name = `ERRNO${-negativeErrno}`;
      }
      this.errorNames.set(negativeErrno, name);
    }
    return name;
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
  bufferBytes: number;
  flags: number;
  batch: number;
  slotSize: number;
  sendSlots: number;
  log: Logger;
}

function openSocket(b: UdpBinding, family: 4 | 6, host: string, port: number, g: Geometry): Socket {
  const { batch, slotSize, sendSlots } = g;
  const handle = Buffer.alloc(b.sizeof_udp_t);
  const info = new Uint32Array(3);
  try {
    b.udp_open(handle, family, host, port, g.bufferBytes, g.flags, info);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new OverlayError('ERR_TRANSPORT', `cannot bind UDP ${host} port ${port}: ${e.code ?? e.message}`, {
      cause: err,
    });
  }
  g.log.debug(`udp${family} bound port ${info[0]}: SO_RCVBUF ${info[1]}, SO_SNDBUF ${info[2]} bytes`);
  const rxAddrs = new Uint8Array(batch * ADDR_BYTES);
  const txAddrs = new Uint8Array(sendSlots * ADDR_BYTES);
  return {
    family,
    handle,
    boundPort: info[0],
    receiveBufferBytes: info[1],
    stats: new Uint32Array(STAT_COUNT),
    rx: Buffer.alloc(batch * slotSize),
    rxLengths: new Uint32Array(batch),
    rxAddrs,
    rxWords: new Uint32Array(rxAddrs.buffer),
    tx: Buffer.alloc(sendSlots * slotSize),
    txLengths: new Uint32Array(sendSlots),
    txAddrs,
    txWords: new Uint32Array(txAddrs.buffer),
    txCount: 0,
  };
}

function makeCounters(sock4: Socket, sock6: Socket | null): NativeUdpCounters {
  const sockets = sock6 ? [sock4, sock6] : [sock4];
  let lastErrno = 0;
  return {
    sendErrors: 0,
    lastSendError: '',
    datagramsSent: 0,
    sendDropped: 0,
    lastSendDrop: '',
    datagramsReceived: 0,
    receiveTruncated: 0,
    get receiveErrors(): number {
      return sockets.reduce((sum, s) => sum + s.stats[STAT_RX_ERRORS], 0);
    },
    get lastReceiveError(): string {
      for (const s of sockets) if (s.stats[STAT_RX_LAST_ERRNO] !== 0) lastErrno = s.stats[STAT_RX_LAST_ERRNO];
      if (lastErrno === 0) return '';
      try {
        return getSystemErrorName(-lastErrno);
      } catch {
        return `ERRNO${lastErrno}`;
      }
    },
  };
}
