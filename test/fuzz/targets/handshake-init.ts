// HandshakeInit bodies through the real SessionTable.consumeInitiation (mac1, rate limit, Noise IK,
// member key, id, timestamp). Seeds: initiations made by createInitiation from two members. Half the
// mutants get a fresh, valid mac1 (what anyone who knows the responder's public key can compute), so
// they reach Noise; some get a low-order point where the ephemeral key goes.
// Accepted forgery: an initiation accepted that is not, byte for byte up to mac2, a genuine one never
// accepted before from the member named as src (a replay must fail too). mac2 is only checked under
// load (a cookie), so outside it any mac2 goes, as in WireGuard; UNLIMITED keeps the guard off load.
import { INIT_BODY_BYTES, INIT_MAC1_OFFSET, INIT_MAC2_OFFSET } from '../../../src/session/handshake.js';
import type { InitiationResult } from '../../../src/session/handshake-result.js';
import { fuzzMembers, NON_MEMBER_IDS } from '../fixtures/members.js';
import { handshakeSource, LOW_ORDER_POINTS, remac, sessionTable, WALL_EPOCH } from '../fixtures/sessions.js';
import { resized } from '../fixtures/wire.js';
import type { Field, Seed } from '../mutator.js';
import type { FuzzTarget, TargetRun } from '../target.js';
import { OutcomeCounter } from './outcomes.js';

const SEEDS_PER_MEMBER = 4;
/** Where the ephemeral key sits in the body: after senderIndex. */
const EPHEMERAL_AT = 4;
const FIELDS: Field[] = [
  { name: 'senderIndex', offset: 0, size: 4, role: 'index' },
  { name: 'e', offset: EPHEMERAL_AT, size: 4, role: 'value' },
  { name: 'mac1', offset: INIT_MAC1_OFFSET, size: 4, role: 'value' },
  { name: 'mac2', offset: INIT_MAC2_OFFSET, size: 4, role: 'value' },
];

export const handshakeInitTarget: FuzzTarget = {
  name: 'handshake-init',
  description:
    'HandshakeInit bodies into SessionTable.consumeInitiation, half re-MACed to reach Noise; forgery = ' +
    'accepted unless identical up to mac2 to a genuine initiation never accepted before',
  weight: 6,
  setup(): TargetRun {
    const [a, b, c] = fuzzMembers(3);
    const now = 1000;
    const wall = (): number => WALL_EPOCH + now;
    const responder = sessionTable(b, [a, c], wall);
    const genuine = new Map<string, { src: number; accepted: boolean }>();
    const seeds: Seed[] = [];
    for (const m of [a, c]) {
      const initiator = sessionTable(m, [b], wall);
      for (let i = 0; i < SEEDS_PER_MEMBER; i++) {
        const body = Buffer.from(initiator.createInitiation(b.id, now));
        genuine.set(authenticated(body), { src: m.id, accepted: false });
        seeds.push({ label: `init from ${m.name}`, bytes: body, fields: FIELDS });
      }
    }
    const outcomes = new OutcomeCounter();
    let body: Buffer = Buffer.alloc(0);
    let src = 0;
    let source = handshakeSource('192.0.2.0');
    let remaced = false;
    let result: InitiationResult = { ok: false, reason: 'truncated' };
    return {
      seeds,
      dictionary: { ids: [a.id, b.id, c.id, ...NON_MEMBER_IDS], u64: [], maxBytes: 1500 },
      load(mutant, seed, rng) {
        // Most mutants keep the fixed body size, or the length check alone would stop them.
        body = rng.chance(0.7) ? resized(mutant.bytes, INIT_BODY_BYTES) : mutant.bytes;
        if (rng.chance(0.1) && body.length >= EPHEMERAL_AT + 32)
          rng.pick(LOW_ORDER_POINTS).copy(body, EPHEMERAL_AT);
        remaced = rng.chance(0.5);
        if (remaced) remac(body, b.keyPair.publicKey, 'init');
        const from = genuine.get(authenticated(seed.bytes))?.src ?? a.id;
        src = rng.chance(0.9) ? from : rng.pick([a.id, c.id, b.id, NON_MEMBER_IDS[0]]);
        source = handshakeSource(`192.0.2.${rng.int(4)}`);
      },
      execute() {
        result = responder.consumeInitiation(src, body, source, now);
      },
      judge() {
        outcomes.add(result.ok ? 'accepted' : result.reason);
        if (!result.ok) return undefined;
        const g = genuine.get(authenticated(body));
        if (!g) return 'a mutated initiation was accepted';
        if (g.src !== src) return `a genuine initiation was accepted with src ${src}`;
        if (g.accepted) return 'a replayed initiation was accepted';
        g.accepted = true;
        return undefined;
      },
      describe: () => `src ${src}, ${remaced ? 're-MACed' : 'mac1 as mutated'}`,
      outcomes: () => outcomes.counts,
    };
  },
};

/** What an initiation's mac1 and Noise cover: the body up to mac2, as hex (the genuine table's key). */
function authenticated(body: Buffer): string {
  return body.subarray(0, INIT_MAC2_OFFSET).toString('hex');
}
