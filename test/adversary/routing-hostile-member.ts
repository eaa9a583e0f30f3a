// A hostile member for the adversary tests: it holds a real member key (one of the mesh's members,
// run as an external node: no router of its own) and speaks only through the real codecs (see
// routing-hostile-craft.ts) into real Routers, in-process, on the mesh's virtual clock. It can sign its own
// adverts (any seq, any links), forge others' (signed with its own key), claim adverts it does not
// hold, ask for anything, and never answer. What the victims send it lands in its inbox.
import type { NodeId } from '../../src/identity/node-id.js';
import { peekAdvert } from '../../src/routing/advert.js';
import { decodeControl, type ControlMessage } from '../../src/routing/control-codec.js';
import type { RoutingParams } from '../../src/routing/routing-params.js';
import { Mesh } from '../unit/routing-mesh.js';
import { HostileCraft } from './routing-hostile-craft.js';

export { MAX_SEQ, SKEW_MS } from './routing-hostile-craft.js';

export class HostileMember extends HostileCraft {
  constructor(
    readonly mesh: Mesh,
    readonly index: number,
  ) {
    super(mesh.id(index), mesh.members[index].sign);
    if (!mesh.external.has(index)) throw new Error(`mesh node ${index} runs a router: make it external`);
  }

  /** Our wall clock (the mesh's: members' clocks agree). */
  wall(): number {
    return this.mesh.wallOf(this.index);
  }

  /** Member `origin`'s own advert, signed with ITS key: genuine (or captured earlier), by mesh index. */
  advertOf(origin: number, seq: number, links: readonly number[] = []): Uint8Array {
    const m = this.mesh.members[origin];
    return this.advert(m.id, m.sign, seq, this.ids(links));
  }

  /** Mesh indexes as NodeIds. */
  ids(indexes: readonly number[]): NodeId[] {
    return indexes.map((i) => this.mesh.id(i));
  }

  /**
   * Delivers each message to router `to` now, as if over a direct link (the victim decides), and
   * what the victims send in return. Returns the bytes sent.
   */
  send(to: number, ...messages: Uint8Array[]): number {
    let bytes = 0;
    for (const m of messages) {
      this.mesh.inject(this.index, to, m);
      bytes += m.byteLength;
    }
    this.mesh.flush();
    return bytes;
  }

  /** Everything the victims sent us since `since` (virtual ms), decoded, with its size and sender. */
  received(since = 0): Array<{ from: number; at: number; bytes: number; msg: ControlMessage }> {
    const out: Array<{ from: number; at: number; bytes: number; msg: ControlMessage }> = [];
    for (const r of this.mesh.inbox[this.index]) {
      if (r.at < since) continue;
      const msg = decodeControl(r.msg);
      if (typeof msg !== 'string') out.push({ from: r.from, at: r.at, bytes: r.msg.byteLength, msg });
    }
    return out;
  }

  /** Bytes the victims sent us since `since` (virtual ms). */
  bytesReceived(since = 0): number {
    return this.received(since).reduce((a, r) => a + r.bytes, 0);
  }

  /** The last advert of mesh node `origin` a victim sent us (captured for a replay later), as a message. */
  captured(origin: number): Uint8Array | undefined {
    const id = this.mesh.id(origin);
    let out: Uint8Array | undefined;
    for (const r of this.mesh.inbox[this.index]) {
      const msg = decodeControl(r.msg);
      if (typeof msg === 'string' || msg.kind !== 'advert') continue;
      const head = peekAdvert(msg.advert);
      if (typeof head !== 'string' && head.origin === id) out = r.msg.slice();
    }
    return out;
  }
}

/** The victim world's nodes: victim, its honest neighbour, an origin behind it, the hostile member. */
export const [V, G, X, H] = [0, 1, 2, 3];

/**
 * The world most attacks run in: the victim V reaches X through its honest neighbour G (V–G–X), and
 * the hostile member H is V's direct neighbour. Converged (every route selected) when returned.
 */
export function victimWorld(params?: RoutingParams): { mesh: Mesh; h: HostileMember } {
  const mesh = new Mesh(4, params, { external: [H] });
  mesh.setLink(V, G, 10);
  mesh.setLink(G, X, 10);
  mesh.setLink(V, H, 10);
  mesh.advance(5000);
  if (mesh.route(V, X)?.join() !== [V, G, X].join()) throw new Error('the victim world did not converge');
  return { mesh, h: new HostileMember(mesh, H) };
}
