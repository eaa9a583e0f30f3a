// The real underlay: one UDP socket per address family on the same port.
// Two sockets (an IPv6-only one beside the IPv4 one) instead of one dual-stack socket, so peers'
// addresses are never IPv4-mapped and a host without IPv6 still works (the v6 socket is optional).
import dgram from 'node:dgram';
import { OverlayError } from '../errors.js';
import type { Logger } from '../log.js';
import { OneByOneTransport, SingleBatch } from './queued-sends.js';
import type { Endpoint, RxBatch } from './transport.js';

export interface UdpTransportOptions {
  port: number;
  /** Bind address for IPv4 (default all). */
  host4?: string;
  /** Bind address for IPv6 (default all); set to null to skip IPv6. */
  host6?: string | null;
  /** Socket buffer sizes: large buffers absorb bursts instead of dropping them (wireguard-go anchor pitfall). */
  bufferBytes?: number;
  /** Send slot size: wire/sizes.ts datagramSlotBytes(network.mtu) (a jumbo MTU needs larger slots). */
  slotSize?: number;
  log: Logger;
}

export interface UdpCounters {
  sendErrors: number;
  lastSendError: string;
}

export class UdpTransport extends OneByOneTransport {
  readonly port: number;
  readonly counters: UdpCounters = { sendErrors: 0, lastSendError: '' };
  private readonly sock4: dgram.Socket;
  private readonly sock6: dgram.Socket | null;
  private handler: (batch: RxBatch) => void = () => {};
  private readonly batch = new SingleBatch();
  // One shared callback: a closure per send would cost an allocation per packet.
  private readonly onSent = (err: Error | null): void => {
    if (err) {
      this.counters.sendErrors++;
      this.counters.lastSendError = (err as NodeJS.ErrnoException).code ?? err.message;
    }
  };

  private constructor(port: number, sock4: dgram.Socket, sock6: dgram.Socket | null, slotSize?: number) {
    super(slotSize);
    this.port = port;
    this.sock4 = sock4;
    this.sock6 = sock6;
    const deliver = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
      this.handler(this.batch.set(msg, { host: rinfo.address, port: rinfo.port }));
    };
    sock4.on('message', deliver);
    sock6?.on('message', deliver);
  }

  static async open(opts: UdpTransportOptions): Promise<UdpTransport> {
    const bufferBytes = opts.bufferBytes ?? 4 * 1024 * 1024;
    const sock4 = await bind('udp4', opts.host4 ?? '0.0.0.0', opts.port, bufferBytes, opts.log);
    const port = sock4.address().port;
    let sock6: dgram.Socket | null = null;
    if (opts.host6 !== null) {
      try {
        sock6 = await bind('udp6', opts.host6 ?? '::', port, bufferBytes, opts.log);
      } catch (err) {
        // A host without IPv6 (or with it disabled) still runs over IPv4.
        opts.log.warn(`IPv6 underlay unavailable, continuing with IPv4 only: ${(err as Error).message}`);
      }
    }
    return new UdpTransport(port, sock4, sock6, opts.slotSize);
  }

  onBatch(handler: (batch: RxBatch) => void): void {
    this.handler = handler;
  }

  send(data: Buffer, to: Endpoint): void {
    const sock = to.host.includes(':') ? this.sock6 : this.sock4;
    if (sock === null) {
      this.counters.sendErrors++;
      this.counters.lastSendError = 'no IPv6 socket';
      return;
    }
    sock.send(data, to.port, to.host, this.onSent);
  }

  async close(): Promise<void> {
    await Promise.all([closeSocket(this.sock4), this.sock6 ? closeSocket(this.sock6) : undefined]);
  }
}

function bind(
  type: 'udp4' | 'udp6',
  host: string,
  port: number,
  bufferBytes: number,
  log: Logger,
): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket({ type, ipv6Only: type === 'udp6', reuseAddr: false });
    const onError = (err: NodeJS.ErrnoException): void => {
      sock.close();
      reject(
        new OverlayError(
          'ERR_TRANSPORT',
          `cannot bind UDP ${host} port ${port}: ${err.code ?? err.message}`,
          {
            cause: err,
          },
        ),
      );
    };
    sock.once('error', onError);
    sock.bind(port, host, () => {
      sock.off('error', onError);
      // After bind, socket errors (e.g. ICMP unreachable reported on a later recv) are not fatal.
      sock.on('error', (err) => log.debug(`udp ${type} error: ${err.message}`));
      try {
        sock.setRecvBufferSize(bufferBytes);
        sock.setSendBufferSize(bufferBytes);
      } catch (err) {
        log.debug(`could not set UDP buffer sizes: ${(err as Error).message}`);
      }
      resolve(sock);
    });
  });
}

function closeSocket(sock: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      sock.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}
