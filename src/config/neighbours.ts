// network.neighbours: how many members each node chooses to probe continuously (its bounded neighbour
// set, see src/probe/probe-set.ts). Probing every member costs O(N) probes per node and O(N²) in the
// network, and every probed member is a routing neighbour that floods adverts: fine for a handful of
// sites, not for hundreds. With K chosen neighbours a node probes about 2K members (K it chose — the
// best measured plus 3 random long links — the members that chose it, one explorer on trial, and any
// member it is exchanging data with), whatever the size of the overlay; every other member is reached
// over multi-hop paths through those links, learned from their adverts.

/** Chosen neighbours per node by default (the simulator's path stretch and bytes are in the README). */
export const DEFAULT_NEIGHBOURS = 8;
export const MAX_NEIGHBOURS = 1000;

/**
 * The prober's maxProbedMembers for this overlay: the configured value, else all pairs (0) while the
 * overlay is small enough that a bounded set would probe nearly everyone anyway (K chosen plus up to
 * 2K members that chose us: at most 2K + 1 members), else DEFAULT_NEIGHBOURS. All pairs is better where
 * it is affordable: a bounded set stops probing a dead member for a minute, so a repaired direct link
 * is noticed late (unless the member probes us or data wants the link).
 */
export function probedNeighbours(configured: number | undefined, members: number): number {
  if (configured !== undefined) return configured;
  return members <= 2 * DEFAULT_NEIGHBOURS + 1 ? 0 : DEFAULT_NEIGHBOURS;
}
