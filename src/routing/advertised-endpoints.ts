// Reflexive endpoints in adverts (issue 12): the ones we publish in our own, and the ones each origin
// published in its latest accepted advert. Bounded: ours by ADVERT_MAX_ENDPOINTS, others' by the
// decoder's cap per origin and by the member list (forgotten with the member).
import type { NodeId } from '../identity/node-id.js';
import { ADVERT_MAX_ENDPOINTS } from './advert.js';

export class AdvertisedEndpoints {
  private own: string[] = [];
  private readonly byOrigin = new Map<NodeId, string[]>();

  /** Our reflexive endpoints (the first ADVERT_MAX_ENDPOINTS); true when they changed. */
  setOwn(keys: readonly string[]): boolean {
    const next = [...new Set(keys)].slice(0, ADVERT_MAX_ENDPOINTS).sort();
    if (next.length === this.own.length && next.every((k, i) => k === this.own[i])) return false;
    this.own = next;
    return true;
  }

  get ownEndpoints(): string[] {
    return this.own;
  }

  /**
   * `origin`'s newly accepted advert published `endpoints` (none: forget what it said before); true
   * when they differ from what it published before (news for members trying to reach it).
   */
  accepted(origin: NodeId, endpoints: readonly string[] | undefined): boolean {
    const before = this.byOrigin.get(origin) ?? [];
    const next = (endpoints ?? []).slice(0, ADVERT_MAX_ENDPOINTS);
    if (next.length > 0) this.byOrigin.set(origin, next);
    else this.byOrigin.delete(origin);
    return next.length !== before.length || next.some((k, i) => k !== before[i]);
  }

  of(origin: NodeId): readonly string[] {
    return this.byOrigin.get(origin) ?? [];
  }

  retain(isMember: (id: NodeId) => boolean): void {
    for (const id of this.byOrigin.keys()) if (!isMember(id)) this.byOrigin.delete(id);
  }
}
