// Shared fixtures for routing unit tests: deterministic members with real Ed25519 keys.
import { keyPairFromSeed, sign, verify, type KeyPair } from '../../src/identity/keys.js';
import { nodeIdFromPublicKey, type NodeId } from '../../src/identity/node-id.js';
import type { AdvertContext } from '../../src/routing/advert.js';

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
