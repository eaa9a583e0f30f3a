// Data packets through the real SessionTable.open: index lookup, source check, expiry, replay window,
// ChaCha20-Poly1305 over the AD (src, dst, index, counter). The receiver holds keypairs in every slot:
// a confirmed current one and an unconfirmed next one from member a (sealed before and after a
// rekey), and an unconfirmed one from member c. Seeds: packets those keypairs sealed (keepalive,
// probe, small and near-MTU payloads), direct and relayed. The offsets handed to open come from
// parsing the mutant, or are the seed's, or extremes.
// Accepted forgery: open succeeds for anything but a genuine sealed packet (from src to the end)
// opened for the first time, or reports a length that is not the genuine plaintext's.
import type { NodeId } from '../../../src/identity/node-id.js';
import { openErrorReason, type DataKeypair } from '../../../src/session/keypair.js';
import type { SessionTable } from '../../../src/session/session-table.js';
import { parseRoutedHeader, pathFlagsFor } from '../../../src/wire/routed-header.js';
import { fuzzMembers, NON_MEMBER_IDS, type FuzzMember } from '../fixtures/members.js';
import { handshake, sessionTable, WALL_EPOCH } from '../fixtures/sessions.js';
import { routedFields, sealedPacket } from '../fixtures/wire.js';
import { GenuineSet } from '../fixtures/genuine.js';
import type { Seed } from '../mutator.js';
import type { FuzzTarget, TargetRun } from '../target.js';
import { OutcomeCounter } from './outcomes.js';

const PLAINTEXT_BYTES = [1, 5, 29, 200, 1300];
const AD_AND_TAG = 20 + 16;

export const dataOpenTarget: FuzzTarget = {
  name: 'data-open',
  description:
    'Data packets into SessionTable.open (current, unconfirmed and other-member keypairs; tampered ' +
    'ciphertext, AD, index, counter, offsets); forgery = any open but a genuine packet’s first',
  weight: 20,
  setup(rng): TargetRun {
    const [a, b, c] = fuzzMembers(3);
    const now = 1000;
    const wall = (): number => WALL_EPOCH + now;
    const receiver = sessionTable(b, [a, c], wall);
    const senders = new Map<NodeId, SessionTable>([
      [a.id, sessionTable(a, [b], wall)],
      [c.id, sessionTable(c, [b], wall)],
    ]);
    const seeds: Seed[] = [];
    const genuine = new GenuineSet(seeds);
    const sealer =
      (kp: DataKeypair, m: FuzzMember, label: string, size: number, relays: NodeId[]) => (): Seed => {
        const pkt = sealedPacket(kp, m.id, b.id, rng.fill(Buffer.alloc(size)), now, {
          relays,
          pos: relays.length,
        });
        if (!pkt) throw new Error('setup: seal refused');
        return genuine.add(
          sealedRegion(pkt, pathFlagsFor(relays.length)),
          { label, bytes: pkt, fields: routedFields(pkt) },
          sealer(kp, m, label, size, relays),
        );
      };
    const seal = (m: FuzzMember, what: string): void => {
      const kp = senders.get(m.id)?.sendKeypair(b.id, now);
      if (!kp) throw new Error(`setup: ${m.name} has no keypair`);
      for (const size of PLAINTEXT_BYTES) {
        const relays = rng.chance(0.5) ? [] : [c.id === m.id ? a.id : c.id];
        seeds.push(sealer(kp, m, `${what}, ${size} B`, size, relays)());
      }
    };
    const with_ = (m: FuzzMember): { table: SessionTable; id: NodeId } => ({
      table: senders.get(m.id) as SessionTable,
      id: m.id,
    });
    const rx = { table: receiver, id: b.id };
    handshake(with_(a), rx, now);
    seal(a, 'a, current keypair');
    // One of them opened confirms a's first keypair at the receiver: it becomes current.
    const confirm = seeds[0].bytes;
    receiver.open(Buffer.from(confirm), addrOffsetOf(confirm), confirm.length, now, pathFlagsFor(confirm[2]));
    genuine.use(sealedRegion(confirm, pathFlagsFor(confirm[2])));
    handshake(with_(a), rx, now);
    seal(a, 'a, next keypair');
    handshake(with_(c), rx, now);
    seal(c, 'c, next keypair');
    const indices = seeds.map((s) => s.bytes.readUInt32BE(addrOffsetOf(s.bytes) + 8));
    const outcomes = new OutcomeCounter();
    let buf: Buffer = Buffer.alloc(0);
    let original: Buffer = Buffer.alloc(0);
    let addrOffset = 0;
    let length = 0;
    let pathFlags = 0;
    let n = 0;
    return {
      seeds,
      dictionary: {
        ids: [a.id, b.id, c.id, ...NON_MEMBER_IDS],
        u64: [0n, 1n, 2n ** 53n - 2n ** 13n, 8191n, 8192n],
        indices,
        maxBytes: 1500,
      },
      load(mutant, seed, r) {
        buf = mutant.bytes;
        original = Buffer.from(buf);
        const h = parseRoutedHeader(buf, buf.length);
        const parsed = typeof h !== 'string' && r.chance(0.9);
        addrOffset = parsed ? h.addrOffset : r.pick([addrOffsetOf(seed.bytes), -1, 0, buf.length]);
        // What the routeLen implies, as the data plane passes it; sometimes the other value, or junk.
        pathFlags = parsed && r.chance(0.9) ? pathFlagsFor(h.routeLen) : r.pick([0, 1, 2, 0xffff_ffff]);
        length = r.chance(0.9)
          ? buf.length
          : r.pick([0, buf.length - 1, buf.length + 1, addrOffset + AD_AND_TAG]);
      },
      execute() {
        n = receiver.open(buf, addrOffset, length, now, pathFlags);
      },
      judge() {
        outcomes.add(n >= 0 ? 'opened' : openErrorReason(n));
        if (n < 0) return undefined;
        // open reads buf[0, length): that is the packet it authenticated.
        if (!genuine.use(sealedRegion(original.subarray(0, length), pathFlags, addrOffset)))
          return `opened a packet that is not a genuine one never opened before (${n} B of plaintext)`;
        if (n !== length - addrOffset - AD_AND_TAG) return `opened with plaintext length ${n}`;
        return undefined;
      },
      describe: () => `addrOffset ${addrOffset}, length ${length} of ${buf.length}`,
      outcomes: () => outcomes.counts,
    };
  },
};

function addrOffsetOf(pkt: Buffer): number {
  return 4 + 4 * pkt[2];
}

/** What the AEAD covers, from src to the tag, and the path flags in its nonce: a sealed packet's identity. */
function sealedRegion(pkt: Buffer, pathFlags: number, addrOffset = addrOffsetOf(pkt)): string {
  return `${pathFlags}:${pkt.subarray(Math.max(0, addrOffset)).toString('hex')}`;
}
