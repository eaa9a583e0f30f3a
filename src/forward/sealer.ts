// The last step out for single packets we originate (probes, control, keepalives, packets that waited
// for a session): routed header + AEAD seal straight into a send slot of the transport, no copy.
// Batches of TUN packets take the native path in outbound.ts instead.
import type { NodeId } from '../identity/node-id.js';
import { AEAD_TAG_BYTES, DATA_FIELDS_BYTES, INITIAL_TTL, PacketType } from '../wire/constants.js';
import { pathFlagsFor, routedHeaderBytes, writeRoutedHeader } from '../wire/routed-header.js';
import type { ForwardContext } from './context.js';
import type { Target } from './next-hop.js';
import type { SealingKeypair } from './ports.js';

export class Sealer {
  constructor(private readonly ctx: ForwardContext) {}

  /**
   * Seals `plaintext` (inner kind + payload) for `dst` and queues it towards `target`. Returns the
   * datagram's size, or 0 if none left (oversized, no slot, or the keypair is worn out). Only data
   * (`isData`) marks the first hop "in use" for the prober.
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
    const headerLength = routedHeaderBytes(target.relays.length);
    const size = headerLength + DATA_FIELDS_BYTES + plaintext.length + AEAD_TAG_BYTES;
    const slots = ctx.transport.reserve(target.endpoint, 1);
    if (slots === undefined) return 0; // the transport counted why
    if (size > slots.slotSize) {
      ctx.transport.commit(0);
      ctx.counters.drop('oversized');
      return 0;
    }
    const at = slots.first * slots.slotSize;
    const out = slots.buffer.subarray(at, at + size);
    writeRoutedHeader(out, PacketType.Data, INITIAL_TTL, target.relays, ctx.self, dst);
    const end = keypair.seal(out, headerLength - 8, plaintext, now, pathFlagsFor(target.relays.length));
    if (end < 0) {
      ctx.transport.commit(0);
      // The keypair is worn out (age or counter): a fresh handshake is the only way forward.
      ctx.sessions.noteWantToSend(dst, now);
      ctx.counters.drop('expired');
      return 0;
    }
    slots.lengths[slots.first] = end;
    ctx.transport.commit(1);
    if (isData) ctx.prober.markActive(target.nextHop, now);
    return end;
  }
}
