// One forwarding entry per destination: the keypair to seal with, where the packet goes first, and the
// routed header every packet to it starts with, encoded once. The outbound batch path asks for it once
// per run of packets to one destination (not per packet); the header is encoded again only when the
// session or the route changed (new keypair, new path, new first-hop endpoint).
import type { NodeId } from '../identity/node-id.js';
import { INITIAL_TTL, MAX_ROUTE_RELAYS, PacketType } from '../wire/constants.js';
import { routedHeaderBytes, writeRoutedHeader } from '../wire/routed-header.js';
import type { ForwardContext } from './context.js';
import type { NextHops, Target } from './next-hop.js';
import type { SealingKeypair } from './ports.js';

export interface ForwardingEntry {
  readonly keypair: SealingKeypair;
  readonly target: Target;
  /** The routed header through dst: header[0, headerLength). */
  readonly header: Buffer;
  readonly headerLength: number;
}

interface Entry extends ForwardingEntry {
  keypair: SealingKeypair;
  target: Target;
  headerLength: number;
}

export class ForwardingTable {
  private readonly entries = new Map<NodeId, Entry>();

  constructor(
    private readonly ctx: ForwardContext,
    private readonly nextHops: NextHops,
  ) {}

  /** How to send to `dst` now, or why not: no usable keypair (handshake first), or no way there. */
  lookup(dst: NodeId, now: number): ForwardingEntry | 'no-session' | 'no-route' {
    const keypair = this.ctx.sessions.sendKeypair(dst, now);
    if (!keypair) return 'no-session';
    const target = this.nextHops.target(dst, now);
    if (!target) return 'no-route';
    let e = this.entries.get(dst);
    if (e === undefined) {
      const header = Buffer.alloc(routedHeaderBytes(MAX_ROUTE_RELAYS));
      e = { keypair, target, header, headerLength: this.encode(header, dst, target) };
      this.entries.set(dst, e);
      return e;
    }
    // Relay lists are cached per path and endpoints interned, so identity says "unchanged".
    const t = e.target;
    if (t.relays !== target.relays || t.nextHop !== target.nextHop || t.endpoint !== target.endpoint) {
      e.headerLength = this.encode(e.header, dst, target);
    }
    e.keypair = keypair;
    e.target = target;
    return e;
  }

  /** Drops the entry of a member that left the configuration. */
  forget(dst: NodeId): void {
    this.entries.delete(dst);
  }

  private encode(header: Buffer, dst: NodeId, target: Target): number {
    return writeRoutedHeader(header, PacketType.Data, INITIAL_TTL, target.relays, this.ctx.self, dst);
  }
}
