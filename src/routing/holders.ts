// Which adverts each neighbour holds, as far as we know: per origin, the highest seq each neighbour
// sent us, announced, listed in a SUMMARY, or was pushed by us. The announcer uses it twice: not to
// announce an advert to a neighbour that holds it, and to know whom else to ask when a request goes
// unanswered.
//
// Per neighbour, not just the holders of the highest seq: that was a lever. A member claiming
// (X, 2^53 − 1) became X's only "holder" and every honest neighbour's lower claim was forgotten, so
// when it never answered there was nobody left to ask. A claim is only a hint: a neighbour that does
// not answer for it loses it (forget), and the others' claims stand.
//
// Keys are origins that are members and neighbours with a live link (the router filters both before
// anything gets here, and drops a neighbour's claims when its link goes): at most members × neighbours.
import type { NodeId } from '../identity/node-id.js';

export class Holders {
  private readonly byOrigin = new Map<NodeId, Map<NodeId, number>>();
  private entries = 0;

  /** `n` holds (origin, seq) — or something newer it told us about already. */
  note(n: NodeId, origin: NodeId, seq: number): void {
    let m = this.byOrigin.get(origin);
    if (!m) this.byOrigin.set(origin, (m = new Map()));
    const had = m.get(n);
    if (had === undefined) this.entries++;
    if (had === undefined || seq > had) m.set(n, seq);
  }

  /** Replaces what `n` holds of `origin` (a SUMMARY says exactly); undefined: nothing. */
  set(n: NodeId, origin: NodeId, seq: number | undefined): void {
    if (seq === undefined) return this.forget(n, origin);
    this.forget(n, origin);
    this.note(n, origin, seq);
  }

  seqOf(n: NodeId, origin: NodeId): number | undefined {
    return this.byOrigin.get(origin)?.get(n);
  }

  holds(n: NodeId, origin: NodeId, seq: number): boolean {
    return (this.seqOf(n, origin) ?? -1) >= seq;
  }

  forget(n: NodeId, origin: NodeId): void {
    const m = this.byOrigin.get(origin);
    if (!m?.delete(n)) return;
    this.entries--;
    if (m.size === 0) this.byOrigin.delete(origin);
  }

  forgetNeighbor(n: NodeId): void {
    for (const origin of [...this.byOrigin.keys()]) this.forget(n, origin);
  }

  forgetOrigin(origin: NodeId): void {
    this.entries -= this.byOrigin.get(origin)?.size ?? 0;
    this.byOrigin.delete(origin);
  }

  /** The `eligible` neighbour holding the highest seq of `origin`. */
  best(
    origin: NodeId,
    eligible: (n: NodeId, seq: number) => boolean,
  ): { n: NodeId; seq: number } | undefined {
    let out: { n: NodeId; seq: number } | undefined;
    for (const [n, seq] of this.byOrigin.get(origin) ?? []) {
      if ((!out || seq > out.seq) && eligible(n, seq)) out = { n, seq };
    }
    return out;
  }

  /** (neighbour, origin) pairs kept. */
  get size(): number {
    return this.entries;
  }
}
