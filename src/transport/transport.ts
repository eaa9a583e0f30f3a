// The contract between the data plane and the underlay. forward/ depends only on this;
// udp-transport.ts is the real one, memory-transport.ts joins nodes inside one process for tests.

/** An underlay address: an IP literal (v4 or v6, no brackets) and a UDP port. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export function endpointKey(e: Endpoint): string {
  return e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

export interface Transport {
  /** Local UDP port actually bound. */
  readonly port: number;
  /**
   * Sends one datagram. The transport takes ownership of `data` (the caller must not reuse it).
   * Failures are counted by the transport, never thrown: the underlay is allowed to lose packets.
   */
  send(data: Buffer, to: Endpoint): void;
  /**
   * Queues a copy of `data` for `to` (the caller may reuse its buffer at once); it leaves at the next
   * flush(), or sooner if the transport's queue fills. The data plane's per-packet send.
   */
  sendQueued(data: Uint8Array, to: Endpoint): void;
  /** Sends everything queued (one sendmmsg per family for the native transport). */
  flush(): void;
  /**
   * True if `onMessage` hands out BORROWED buffers (native-udp-transport.ts); absent or false if each
   * datagram is a Buffer of its own (udp-transport.ts, memory-transport.ts).
   */
  readonly borrowsReceiveBuffers?: boolean;
  /**
   * Receives datagrams. `from` is normalised: IPv4-mapped IPv6 addresses are reported as IPv4. Endpoint
   * objects are immutable and may be kept (a transport may hand the same object out again).
   *
   * OWNERSHIP OF `data` DEPENDS ON `borrowsReceiveBuffers`:
   * - not borrowed: `data` belongs to the handler, which may keep it or decrypt it in place;
   * - BORROWED: `data` is a view into a receive slot that the transport reuses for a later datagram.
   *   The handler may read it and modify it in place (decrypt, rewrite a header, pass it to that
   *   transport's send() or sendQueued() or to a TUN write: all are done with it when they return), but
   *   the view is valid ONLY UNTIL THE HANDLER RETURNS. Anything kept beyond that (queued, stored,
   *   handed to a timer, a promise or another component that may hold on to it) must be copied first:
   *   `Buffer.from(view)`. Subarrays of the view are views too. A kept view is silently overwritten by
   *   a later datagram, not detected.
   */
  onMessage(handler: (data: Buffer, from: Endpoint) => void): void;
  /**
   * A datagram too long for the transport's receive slots arrived and was discarded unread; the data
   * plane counts it with the oversized ones it sees itself. Transports that hand out every datagram
   * whole (dgram, memory) never call it.
   */
  onOversized?(handler: () => void): void;
  close(): Promise<void>;
}
