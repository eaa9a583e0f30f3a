// Shared fixtures for routing unit tests: deterministic members with real Ed25519 keys.
import { keyPairFromSeed, sign, verify, type KeyPair } from '../../src/identity/keys.js';
import { nodeIdFromPublicKey, type NodeId } from '../../src/identity/node-id.js';
import { packLink, type AdvertContext } from '../../src/routing/advert.js';
import { LinkGraph } from '../../src/routing/graph.js';
import { RouteComputer } from '../../src/routing/route-computer.js';
import { DEFAULT_ROUTING_PARAMS } from '../../src/routing/routing-params.js';

export interface TestMember {
  id: NodeId;
  keys: KeyPair;
  publicKey: Uint8Array;
  sign: (m: Uint8Array) => Uint8Array;
}

export function makeMembers(n: number, seedBase = 1): TestMember[] {
  const out: TestMember[] = [];
  for (let i = 0; i < n; i++) {
    // One byte repeated (the seeds every existing test was written against), and past 255 a 32-bit
    // counter in front, so a thousand members still have a thousand keys.
    const seed = new Uint8Array(32).fill((seedBase + i) & 0xff);
    if (seedBase + i > 0xff) new DataView(seed.buffer).setUint32(0, seedBase + i);
    const keys = keyPairFromSeed(seed);
    out.push({
      id: nodeIdFromPublicKey(keys.publicKey),
      keys,
      publicKey: keys.publicKey,
      sign: (m) => sign(m, keys.secretKey),
    });
  }
  return out;
}

export function contextFor(members: readonly TestMember[]): AdvertContext {
  const byId = new Map(members.map((m) => [m.id, m.publicKey]));
  return {
    isMember: (id) => byId.has(id),
    publicKeyOf: (id) => byId.get(id),
    verify,
  };
}

/**
 * A route computer for `self` over a small graph: its own links (neighbour → RTT ms) and the adverts of
 * others (origin → neighbour → RTT ms, no loss), computed once at time 0 for `destinations`.
 * `advertise` replaces an origin's advert and returns the graph change.
 */
export function computedNetwork(
  self: NodeId,
  own: Record<number, number>,
  adverts: Record<number, Record<number, number>>,
  destinations: readonly NodeId[],
) {
  const g = new LinkGraph(self, DEFAULT_ROUTING_PARAMS.cost);
  const rc = new RouteComputer(self, DEFAULT_ROUTING_PARAMS, g, { report: () => {} });
  const advertise = (n: number, rtts: Record<number, number>) =>
    g.setAdvert(
      n,
      new Map(
        Object.entries(rtts).map(([m, rtt]) => [Number(m), packLink({ rttMs: rtt, loss: 0, flags: 0 })]),
      ),
      rc.affects,
    );
  for (const [n, rtt] of Object.entries(own)) rc.mark(g.setOwnLink(Number(n), rtt));
  for (const [n, rtts] of Object.entries(adverts)) rc.mark(advertise(Number(n), rtts));
  rc.run(0, destinations);
  return { g, rc, advertise };
}
