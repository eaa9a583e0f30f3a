// Which member an underlay address belongs to, as far as this node has proof: an address is bound to a
// member only when an authenticated reply to a probe we sent to that very address came back from it
// (control-channel.ts onProbeReply). A packet merely arriving from an address proves nothing about it:
// a relay can forward, a member can spoof its source. Relays use the binding to check who handed them
// a packet (relay.ts), destinations to check the last relay (inbound.ts).
//
// Rules:
//   - a binding is live for BINDING_TTL_MS after its last proof (idle links are probed every second,
//     dead ones every 5 s at most, so a working address is re-proven long before);
//   - for handshakes only, it counts for HANDSHAKE_PROOF_MS (handshakeMemberAt): a member that was away
//     for a minute (a restart, a site outage) comes back from the same address, and if a flood is on
//     when it does, its cookie-less first initiation must still reach the members' lane instead of
//     competing with the flood for the strangers' cookie budget (which took it ~4 s a round in
//     benchmarks/handshake-flood once its proof was 30 s old). That lane grants no more than a live
//     binding does: cookies once it is loaded itself, and per-source budgets;
//   - a live binding is never moved to another member: two members cannot both answer at one address,
//     so the second claim is a spoof or a proxy; the caller counts it (endpointConflicts);
//   - at most MAX_PER_MEMBER addresses per member (the oldest proof makes room), and expired bindings
//     are swept: memory per member is bounded whatever addresses it uses.
//
// onChange tells the transport which addresses are bound (its native handshake load step lets a member's
// cookie-less initiation from them through under load, transport.ts provenEndpoint): called once when a
// key gets a binding and once when it loses it (past the handshake horizon, rebound, capped, forgotten).
import type { NodeId } from '../identity/node-id.js';

export const BINDING_TTL_MS = 30_000;
/** How long a proof lets the address's initiations into the members' lane (and native's proven table). */
export const HANDSHAKE_PROOF_MS = 600_000;
/** Configured endpoints (a v4 and a v6, typically) + the prober's learned ones, with room to spare. */
export const MAX_PER_MEMBER = 8;

interface Binding {
  member: NodeId;
  provenAt: number;
}

export type BindResult = 'bound' | 'refreshed' | 'conflict';

export class EndpointBindings {
  private readonly byKey = new Map<string, Binding>();
  private readonly keysOf = new Map<NodeId, Set<string>>();
  private changed: (key: string, bound: boolean) => void = () => {};

  /** Called with each key that gets a binding (true) or loses it (false). One listener. */
  onChange(listener: (key: string, bound: boolean) => void): void {
    this.changed = listener;
  }

  /** `member` answered a probe we sent to `key`. */
  bind(key: string, member: NodeId, now: number): BindResult {
    const b = this.byKey.get(key);
    if (b && b.member === member) {
      b.provenAt = now;
      return 'refreshed';
    }
    if (b && now - b.provenAt < BINDING_TTL_MS) return 'conflict';
    if (b) this.unbind(key, b.member);
    let keys = this.keysOf.get(member);
    if (!keys) {
      keys = new Set();
      this.keysOf.set(member, keys);
    }
    if (keys.size >= MAX_PER_MEMBER) this.unbind(this.oldest(keys), member);
    this.byKey.set(key, { member, provenAt: now });
    keys.add(key);
    this.changed(key, true);
    return 'bound';
  }

  /** The member live-bound to `key`, if any. */
  memberAt(key: string, now: number): NodeId | undefined {
    const b = this.byKey.get(key);
    return b && now - b.provenAt < BINDING_TTL_MS ? b.member : undefined;
  }

  /** The member proven at `key` within HANDSHAKE_PROOF_MS (for handshakes only), if any. */
  handshakeMemberAt(key: string, now: number): NodeId | undefined {
    const b = this.byKey.get(key);
    return b && now - b.provenAt < HANDSHAKE_PROOF_MS ? b.member : undefined;
  }

  /** Drops bindings past the handshake horizon (called a few times a minute). */
  sweep(now: number): void {
    for (const [key, b] of this.byKey) if (now - b.provenAt >= HANDSHAKE_PROOF_MS) this.unbind(key, b.member);
  }

  /** Drops every binding of a member that left the configuration. */
  forget(member: NodeId): void {
    for (const key of this.keysOf.get(member) ?? []) {
      this.byKey.delete(key);
      this.changed(key, false);
    }
    this.keysOf.delete(member);
  }

  get size(): number {
    return this.byKey.size;
  }

  private oldest(keys: Set<string>): string {
    let oldest = '';
    let at = Infinity;
    for (const k of keys) {
      const t = this.byKey.get(k)?.provenAt ?? -Infinity;
      if (t < at) {
        at = t;
        oldest = k;
      }
    }
    return oldest;
  }

  private unbind(key: string, member: NodeId): void {
    this.byKey.delete(key);
    this.changed(key, false);
    const keys = this.keysOf.get(member);
    keys?.delete(key);
    if (keys?.size === 0) this.keysOf.delete(member);
  }
}
