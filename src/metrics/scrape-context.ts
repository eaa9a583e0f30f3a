// What every metric group reads at scrape time: the node, and the clock its components run on
// (monotonic ms, the scale of session ages and path `since` times).
import type { Member } from '../forward/peer-table.js';
import type { OverlayNode } from '../node.js';
import { byText } from '../text-order.js';

export interface ScrapeContext {
  node: OverlayNode;
  now: () => number;
}

/** The members other than this node, in a stable order (so the exposition text is too). */
export function otherMembers(node: OverlayNode): Member[] {
  return [...node.peers.all()].filter((m) => m.id !== node.self.id).sort((a, b) => byText(a.name, b.name));
}
