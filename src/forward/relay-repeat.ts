// Relaying a bulk flow without deciding again per packet: within one received batch, a packet whose
// routed header is byte for byte the previous relayed packet's (hop limit aside) and that came from the
// same neighbour (header-memo.ts) gets the same decision relay.ts made for that one — same checks
// passed, same next hop — and only its own hop limit is checked and decremented. This changes nothing
// but the cost: no header object, no lookups, one copy into a send slot.
import type { Endpoint } from '../transport/transport.js';
import type { RoutedHeader } from '../wire/routed-header.js';
import type { ForwardContext } from './context.js';
import { HeaderMemo } from './header-memo.js';
import type { RelayDecision } from './relay.js';

export class RelayRepeat {
  private readonly memo = new HeaderMemo();
  private decision: RelayDecision | undefined;

  constructor(private readonly ctx: ForwardContext) {}

  /** A new batch: decisions of the previous one are not reused (links and routes may have changed). */
  reset(): void {
    this.decision = undefined;
    this.memo.clear();
  }

  /** Keeps the header of a packet about to be relayed (relay.ts rewrites its hop limit and position). */
  remember(data: Buffer, h: RoutedHeader, from: Endpoint): void {
    this.memo.set(data, h.bodyOffset, from);
    this.decision = undefined;
  }

  /** What relay.ts decided for the remembered packet (undefined: dropped or repaired, not repeated). */
  decided(d: RelayDecision | undefined): void {
    this.decision = d;
  }

  /** Relays buf[o, o+len) if it repeats the remembered header from the same neighbour. */
  tryRelay(buf: Buffer, o: number, len: number, from: Endpoint): boolean {
    const d = this.decision;
    if (d === undefined || !this.memo.matches(buf, o, len, from)) return false;
    const ttl = buf[o + 1]!;
    if (ttl <= 1) return false; // relay.ts counts it
    buf[o + 1] = ttl - 1;
    buf[o + 3] = this.memo.routePos + 1;
    const slots = this.ctx.transport.reserve(d.endpoint, 1);
    if (slots === undefined) return true; // the transport counted why
    buf.copy(slots.buffer, slots.first * slots.slotSize, o, o + len);
    slots.lengths[slots.first] = len;
    this.ctx.transport.commit(1);
    d.traffic.relayedPackets++;
    d.traffic.relayedBytes += len;
    return true;
  }
}
