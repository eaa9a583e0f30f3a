// Which direct links need a packet now to keep a NAT mapping open (issue 12). A UDP mapping in a
// NAT (ours or the member's) lives ~30 s without traffic on common home routers; a link through one
// dies silently when it lapses, and only a new punch brings it back. So a link is kept alive when it
// goes through a NAT — it is not a listed endpoint of the member (reflexive or punched), or we are
// behind a NAT ourselves (we have published reflexive endpoints) — AND it is in use or was used within
// `recentMs`: an idle link nobody needs is let go, as the issue asks (no keepalives for all N²).
// Probes normally pass every idle interval (1–8 s) and keep the mapping open by themselves; the
// keepalive covers the links the prober does not probe (bounded neighbour sets) or probes slowly.
// Pure: the caller feeds what it sees at each check and sends what `due` returns.
import type { NodeId } from '../identity/node-id.js';

export interface KeepaliveLink {
  member: NodeId;
  /** The link's endpoint is not one listed in peers.yaml. */
  throughNat: boolean;
  /** Data crossed the link within the prober's active window. */
  inUse: boolean;
}

export class KeepaliveSchedule {
  private readonly lastUsed = new Map<NodeId, number>();
  private readonly lastSent = new Map<NodeId, number>();

  /** `intervalMs`: network.natKeepalive; `recentMs`: how long after use a link still gets them. */
  constructor(
    private readonly intervalMs: number,
    private readonly recentMs: number,
  ) {}

  /**
   * The members to send a keepalive to now, among the alive direct links `links` (every other member
   * is forgotten: bounded by the links we have). `behindNat`: we have published reflexive endpoints.
   */
  due(links: readonly KeepaliveLink[], behindNat: boolean, now: number): NodeId[] {
    const out: NodeId[] = [];
    const seen = new Set<NodeId>();
    for (const l of links) {
      seen.add(l.member);
      if (l.inUse) this.lastUsed.set(l.member, now);
      if (!l.throughNat && !behindNat) continue;
      const used = this.lastUsed.get(l.member);
      if (used === undefined || now - used > this.recentMs) continue;
      const sent = this.lastSent.get(l.member) ?? -Infinity;
      if (now - sent < this.intervalMs) continue;
      this.lastSent.set(l.member, now);
      out.push(l.member);
    }
    for (const id of this.lastUsed.keys()) if (!seen.has(id)) this.lastUsed.delete(id);
    for (const id of this.lastSent.keys()) if (!seen.has(id)) this.lastSent.delete(id);
    return out;
  }

  get size(): number {
    return this.lastUsed.size;
  }
}
