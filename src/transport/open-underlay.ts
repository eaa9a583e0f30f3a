// The daemon's underlay: the batched native transport (recvmmsg/sendmmsg), or Node's dgram when the
// addon is missing (a platform node-gyp couldn't build for): slower, but the same protocol. With a
// TCP port, the WebSocket transport beside it (ws-dual-transport.ts).
// OVERLAYD_STANDING_DELAY=off turns the receive queue's standing-delay control off (standing-delay.ts):
// for benchmarks that measure what it does, not for operators.
import type { Logger } from '../log.js';
import { NativeUdpTransport } from './native-udp-transport.js';
import type { Transport } from './transport.js';
import { datagramSlotBytes, DEFAULT_MTU, maxDatagramBytes } from '../wire/sizes.js';
import { UdpTransport } from './udp-transport.js';
import { WsDualTransport } from './ws-dual-transport.js';
import { loadWsTls } from './ws-tls.js';
import { WsTransport } from './ws-transport.js';

export interface UnderlayOptions {
  offloads?: boolean;
  mtu?: number;
  /** WebSocket TCP port: undefined = the UDP port's number, 0 = no ws transport. */
  tcpPort?: number;
  tls?: { cert: string; key: string };
}

export async function openUnderlay(
  port: number,
  log: Logger,
  opts: UnderlayOptions = {},
): Promise<Transport> {
  const mtu = opts.mtu ?? DEFAULT_MTU;
  // TLS files are checked before any socket is opened: a bad key is a start-up error, not a half-up node.
  const tls = opts.tls ? loadWsTls(opts.tls) : undefined;
  const udp = await openUdp(port, log, opts.offloads, mtu);
  if (opts.tcpPort === 0) return udp;
  try {
    const ws = await WsTransport.open({
      port: opts.tcpPort ?? udp.port,
      tls,
      maxFrameBytes: maxDatagramBytes(mtu),
      log: log.child('ws'),
    });
    log.info(`WebSocket transport on TCP port ${ws.port}${tls ? ' (TLS)' : ''}`);
    return new WsDualTransport(udp, ws);
  } catch (err) {
    await udp.close();
    throw err;
  }
}

async function openUdp(
  port: number,
  log: Logger,
  offloads: boolean | undefined,
  mtu: number,
): Promise<Transport> {
  try {
    const slotSize = datagramSlotBytes(mtu);
    const standingDelay = process.env.OVERLAYD_STANDING_DELAY === 'off' ? false : undefined;
    return await NativeUdpTransport.open({ port, log, offloads, slotSize, standingDelay });
  } catch (err) {
    if (!/native UDP binding not built/.test((err as Error).message)) throw err;
    log.warn(`${(err as Error).message}; falling back to Node's dgram (slower)`);
    return UdpTransport.open({ port, log, slotSize: datagramSlotBytes(mtu) });
  }
}
