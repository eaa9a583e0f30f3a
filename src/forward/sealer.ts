// The last step out for everything we originate: routed header + AEAD seal into one scratch buffer,
// then a copy into the transport's send queue. Data, probes and control all leave through here.
import type { NodeId } from '../identity/node-id.js';
import { INITIAL_TTL, MAX_PACKET_BYTES, PacketType } from '../wire/constants.js';
import { pathFlagsFor, writeRoutedHeader } from '../wire/routed-header.js';
import type { ForwardContext } from './context.js';
import type { Target } from './next-hop.js';
import type { SealingKeypair } from './ports.js';

/** Receiver index + counter after the addresses, and the AEAD tag. */
const DATA_AD_BYTES = 20;
const TAG_BYTES = 16;

export class Sealer {
  // Every datagram is sealed here, then copied into the transport's send queue: no allocation per packet.
  private readonly scratch = Buffer.allocUnsafe(MAX_PACKET_BYTES + 64);

  constructor(private readonly ctx: ForwardContext) {}

  /**
   * Seals `plaintext` (inner kind + payload) for `dst` and queues it towards `target`. Returns the
   * datagram's size, or 0 if none left (oversized, or the keypair is worn out). Only data (`isData`)
   * marks the first hop "in use" for the prober.
   */
  seal(
    keypair: SealingKeypair,
    dst: NodeId,
    target: Target,
    plaintext: Uint8Array,
    now: number,
    isData: boolean,
  ): number {
    const { ctx } = this;
    const size = 4 + 4 * target.relays.length + 8 + DATA_AD_BYTES + plaintext.length + TAG_BYTES;
    if (size > this.scratch.length) {
      ctx.counters.drop('oversized');
      return 0;
    }
    const out = this.scratch;
    const bodyOffset = writeRoutedHeader(out, PacketType.Data, INITIAL_TTL, target.relays, ctx.self, dst);
    const end = keypair.seal(out, bodyOffset - 8, plaintext, now, pathFlagsFor(target.relays.length));
    if (end < 0) {
      // The keypair is worn out (age or counter): a fresh handshake is the only way forward.
      ctx.sessions.noteWantToSend(dst, now);
      ctx.counters.drop('expired');
      return 0;
    }
    ctx.transport.sendQueued(out.subarray(0, end), target.endpoint);
    if (isData) ctx.prober.markActive(target.nextHop, now);
    return end;
  }
}
