// The routed header of one packet and the neighbour it came from, kept to recognise the next packets of
// the same flow in a received batch: same bytes from type to dst (the hop limit aside, which every relay
// changes), same source address. Whatever the full checks decided for the first packet — they depend
// on exactly those bytes, that neighbour, and state that does not change during a batch — holds for
// them too (inbound.ts for packets to us, relay-repeat.ts for packets to relay).
import type { Endpoint } from '../transport/transport.js';
import { MAX_ROUTE_RELAYS } from '../wire/constants.js';
import { routedHeaderBytes } from '../wire/routed-header.js';

export class HeaderMemo {
  private readonly header = Buffer.alloc(routedHeaderBytes(MAX_ROUTE_RELAYS));
  private length = 0;
  private from: Endpoint | undefined;

  /** Remembers data[0, headerLength) as it is now, and its neighbour. */
  set(data: Buffer, headerLength: number, from: Endpoint): void {
    data.copy(this.header, 0, 0, headerLength);
    this.length = headerLength;
    this.from = from;
  }

  clear(): void {
    this.from = undefined;
  }

  /** The remembered routePos (byte 3). */
  get routePos(): number {
    return this.header[3]!;
  }

  /** True if buf[o, o+len) starts with the remembered header (hop limit aside) and came from `from`. */
  matches(buf: Buffer, o: number, len: number, from: Endpoint): boolean {
    const hl = this.length;
    if (from !== this.from || len < hl) return false;
    const h = this.header;
    if (buf[o] !== h[0]) return false;
    for (let k = 2; k < hl; k++) if (buf[o + k] !== h[k]) return false;
    return true;
  }
}
