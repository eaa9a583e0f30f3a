// The daemon's underlay: the batched native transport (recvmmsg/sendmmsg), or Node's dgram when the
// addon is missing (a platform node-gyp couldn't build for): slower, but the same protocol.
// OVERLAYD_STANDING_DELAY=off turns the receive queue's standing-delay control off (standing-delay.ts):
// for benchmarks that measure what it does, not for operators.
import type { Logger } from '../log.js';
import { NativeUdpTransport } from './native-udp-transport.js';
import type { Transport } from './transport.js';
import { datagramSlotBytes, DEFAULT_MTU } from '../wire/sizes.js';
import { UdpTransport } from './udp-transport.js';

export async function openUnderlay(
  port: number,
  log: Logger,
  opts: { offloads?: boolean; mtu?: number } = {},
): Promise<Transport> {
  try {
    const slotSize = datagramSlotBytes(opts.mtu ?? DEFAULT_MTU);
    const standingDelay = process.env.OVERLAYD_STANDING_DELAY === 'off' ? false : undefined;
    return await NativeUdpTransport.open({ port, log, offloads: opts.offloads, slotSize, standingDelay });
  } catch (err) {
    if (!/native UDP binding not built/.test((err as Error).message)) throw err;
    log.warn(`${(err as Error).message}; falling back to Node's dgram (slower)`);
    return UdpTransport.open({ port, log });
  }
}
