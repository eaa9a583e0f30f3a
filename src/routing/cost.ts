// The link metric: one number, in milliseconds-equivalent, that Dijkstra adds up along a path.
//
//   cost = max(rtt / 2, minLinkMs) + hopPenaltyMs + lossPenaltyMs · loss      (Infinity when unusable)
//
// Latency: half the measured round trip, the one-way delay a packet actually sees on this link.
//
// Loss: TCP throughput falls like 1/√loss (Mathis et al.), and a lost packet costs a retransmission
// timeout, not a few milliseconds; so loss has to outweigh small latency differences. At 400 ms per
// unit of loss, 1 % adds 4 ms (a detour that is 4 ms longer but clean wins), 5 % adds 20 ms and 30 %
// adds 120 ms (any sane detour wins). Mainstream overlays pick by latency or hop count alone and
// users ask for exactly this (tinc #350, tailscale #18206).
//
// Per-hop floor and penalty: a near-zero link (two hosts in one LAN) would otherwise cost ~0, and a
// chain of ten such links would tie with one direct link (mycelium #54). Every hop costs at least
// minLinkMs + hopPenaltyMs, which also stands for the relay's forwarding cost and its extra failure
// point. Dead links, and links losing 90 % or more, are not links at all.
import type { LinkView } from '../probe/link-view.js';

export interface CostParams {
  minLinkMs: number;
  hopPenaltyMs: number;
  lossPenaltyMs: number;
  /** Loss at or above which a link is unusable. */
  maxLoss: number;
}

export const DEFAULT_COST_PARAMS: Readonly<CostParams> = Object.freeze({
  minLinkMs: 1,
  hopPenaltyMs: 1,
  lossPenaltyMs: 400,
  maxLoss: 0.9,
});

export type LinkMetrics = Pick<LinkView, 'srttMs' | 'lossRatio' | 'alive'>;

export function linkCost(link: LinkMetrics, params: CostParams = DEFAULT_COST_PARAMS): number {
  if (!link.alive || !(link.lossRatio < params.maxLoss) || !Number.isFinite(link.srttMs)) return Infinity;
  const loss = Math.max(0, link.lossRatio);
  return Math.max(link.srttMs / 2, params.minLinkMs) + params.hopPenaltyMs + params.lossPenaltyMs * loss;
}

/**
 * Dijkstra adds costs in integer units of 1/COST_SCALE ms: integer sums are exact whatever the order
 * of addition, so every node computes bit-identical path costs (and tie-breaks) from the same data.
 */
export const COST_SCALE = 1000;

export function toCostUnits(costMs: number): number {
  return Number.isFinite(costMs) ? Math.max(1, Math.round(costMs * COST_SCALE)) : Infinity;
}

export function fromCostUnits(units: number): number {
  return units / COST_SCALE;
}
