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
   * Receives datagrams. `data` belongs to the handler (it may decrypt in place).
   * `from` is normalised: IPv4-mapped IPv6 addresses are reported as IPv4.
   */
  onMessage(handler: (data: Buffer, from: Endpoint) => void): void;
  close(): Promise<void>;
}
