// HandshakeResponse bodies through the real SessionTable.consumeResponse of an initiator with a
// pending initiation (index lookup, mac1, rate limit, Noise IK msg2 with the indices in the
// transcript). Seeds: the genuine response to the pending initiation and responses to earlier ones;
// half the mutants are re-MACed to reach Noise, and index fields are set to the pending index.
// Accepted forgery: a response accepted that is not, byte for byte, the genuine response to the
// pending initiation, or accepted from another src. After a genuine one completes, a new initiation
// is made pending and its response replaces the seed.
import type { NodeId } from '../../../src/identity/node-id.js';
import { RESPONSE_BODY_BYTES } from '../../../src/session/handshake.js';
import type { ResponseResult } from '../../../src/session/handshake-result.js';
import { fuzzMembers, NON_MEMBER_IDS, type FuzzMember } from '../fixtures/members.js';
import {
  handshake,
  handshakeSource,
  LOW_ORDER_POINTS,
  remac,
  sessionTable,
  WALL_EPOCH,
} from '../fixtures/sessions.js';
import { resized } from '../fixtures/wire.js';
import type { Field, Seed } from '../mutator.js';
import type { FuzzTarget, TargetRun } from '../target.js';
import { OutcomeCounter } from './outcomes.js';

const OLD_RESPONSES = 1;
const EPHEMERAL_AT = 8;
const FIELDS: Field[] = [
  { name: 'senderIndex', offset: 0, size: 4, role: 'index' },
  { name: 'receiverIndex', offset: 4, size: 4, role: 'index' },
  { name: 'e', offset: EPHEMERAL_AT, size: 4, role: 'value' },
];

export const handshakeResponseTarget: FuzzTarget = {
  name: 'handshake-response',
  description:
    'HandshakeResponse bodies into SessionTable.consumeResponse with an initiation pending, half ' +
    're-MACed; forgery = accepted unless it is the genuine response to the pending initiation',
  weight: 6,
  setup(): TargetRun {
    const [a, b, c] = fuzzMembers(3);
    const now = 1000;
    const wall = (): number => WALL_EPOCH + now;
    const initiator = sessionTable(a, [b, c], wall);
    const responder = sessionTable(b, [a], wall);
    const pair = (m: FuzzMember, t: typeof initiator): { table: typeof initiator; id: NodeId } => ({
      table: t,
      id: m.id,
    });
    const seeds: Seed[] = [];
    const indices: number[] = [];
    const newPending = (): Seed => {
      const { response } = handshake(pair(a, initiator), pair(b, responder), now, false);
      indices.push(response.readUInt32BE(0), response.readUInt32BE(4));
      if (indices.length > 16) indices.splice(0, 2);
      return { label: 'response to the pending initiation', bytes: response, fields: FIELDS };
    };
    for (let i = 0; i < OLD_RESPONSES; i++)
      seeds.push({ ...newPending(), label: 'response to an abandoned initiation' });
    seeds.push(newPending());
    let pending = seeds[seeds.length - 1];
    const outcomes = new OutcomeCounter();
    let body: Buffer = Buffer.alloc(0);
    let src = 0;
    let remaced = false;
    let result: ResponseResult = { ok: false, reason: 'truncated' };
    return {
      seeds,
      dictionary: { ids: [a.id, b.id, c.id, ...NON_MEMBER_IDS], u64: [], indices, maxBytes: 1500 },
      load(mutant, _seed, rng) {
        // Most mutants keep the fixed body size, or the length check alone would stop them.
        body = rng.chance(0.7) ? resized(mutant.bytes, RESPONSE_BODY_BYTES) : mutant.bytes;
        if (rng.chance(0.1) && body.length >= EPHEMERAL_AT + 32)
          rng.pick(LOW_ORDER_POINTS).copy(body, EPHEMERAL_AT);
        remaced = rng.chance(0.5);
        if (remaced) remac(body, a.keyPair.publicKey, 'response');
        src = rng.chance(0.9) ? b.id : rng.pick([c.id, a.id, NON_MEMBER_IDS[1]]);
      },
      execute() {
        result = initiator.consumeResponse(src, body, handshakeSource(`192.0.2.${src & 3}`), now);
      },
      judge() {
        outcomes.add(result.ok ? 'accepted' : result.reason);
        if (!result.ok) return undefined;
        if (!body.equals(pending.bytes)) return 'a mutated response completed the handshake';
        if (src !== b.id) return `the genuine response was accepted with src ${src}`;
        // Genuine, and the initiation is now complete: make a new one pending for the next inputs.
        const next = newPending();
        seeds[seeds.indexOf(pending)] = next;
        pending = next;
        return undefined;
      },
      describe: () => `src ${src}, ${remaced ? 're-MACed' : 'mac1 as mutated'}`,
      outcomes: () => outcomes.counts,
    };
  },
};
