import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_COST_PARAMS, linkCost, toCostUnits } from '../../src/routing/cost.js';

const link = (srttMs: number, lossRatio = 0, alive = true) => ({ srttMs, lossRatio, alive });

test('cost is half the RTT plus the hop penalty on a clean link', () => {
  assert.equal(linkCost(link(40)), 20 + 1);
});

test('a near-zero link still costs the per-hop floor, so ten LAN hops never tie one direct link', () => {
  assert.equal(linkCost(link(0.2)), DEFAULT_COST_PARAMS.minLinkMs + DEFAULT_COST_PARAMS.hopPenaltyMs);
  const tenLanHops = 10 * linkCost(link(0.2));
  assert.ok(tenLanHops > linkCost(link(30)), `${tenLanHops} should exceed one 30 ms link`);
});

test('loss dominates small latency differences: 1 % adds 4 ms, 30 % adds 120 ms', () => {
  assert.equal(linkCost(link(40, 0.01)) - linkCost(link(40)), 4);
  assert.ok(Math.abs(linkCost(link(40, 0.3)) - linkCost(link(40)) - 120) < 1e-9);
  // A clean path 10 ms longer beats a 5 %-lossy one.
  assert.ok(linkCost(link(60)) < linkCost(link(40, 0.05)));
});

test('dead links and links losing 90 % or more are unusable', () => {
  assert.equal(linkCost(link(10, 0, false)), Infinity);
  assert.equal(linkCost(link(10, 0.9)), Infinity);
  assert.equal(linkCost(link(10, 1)), Infinity);
  assert.ok(Number.isFinite(linkCost(link(10, 0.89))));
});

test('costs become positive integers for Dijkstra, Infinity stays Infinity', () => {
  assert.equal(toCostUnits(2.0004), 2000);
  assert.equal(toCostUnits(0), 1);
  assert.equal(toCostUnits(Infinity), Infinity);
});
