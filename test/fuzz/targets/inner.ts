// Inner messages: what a member seals to b is authentic, so b's parsers of the plaintext are all
// that stands between a hostile member and b's TUN, prober and router. The mutants are plaintexts
// (inner kind + payload) that member a seals with its real keys and sends, direct or relayed by c,
// into b's receive path. Seeds: IPv4 and IPv6 packets from a's overlay address to b's (UDP, several
// sizes), a probe, a probe reply, a keepalive, routing control; fields: the IP length fields,
// addresses (the cryptokey checks), the probe id.
// Accepted forgery: a packet written to b's TUN that is not an IP packet from a's own overlay address
// to b's, or whose written bytes are not exactly the IP packet (its length field) a sealed.
import { InnerKind } from '../../../src/wire/constants.js';
import { encodeRequestChunks, encodeSummaryChunks } from '../../../src/routing/control-codec.js';
import { ipv4ToNumber, ipv6ToBytes } from '../../../src/forward/ip-packet.js';
import type { Endpoint } from '../../../src/transport/transport.js';
import { ipv4Udp, ipv6Udp } from '../../e2e/ip-builder.js';
import { LoneNode } from '../fixtures/lone-node.js';
import { NON_MEMBER_IDS, type FuzzMember } from '../fixtures/members.js';
import type { Field, Seed } from '../mutator.js';
import type { FuzzTarget, TargetRun } from '../target.js';
import { OutcomeCounter } from './outcomes.js';

export const innerTarget: FuzzTarget = {
  name: 'inner',
  description:
    'plaintexts (IPv4/IPv6 packets, probes, replies, control) sealed by a member into a real node; ' +
    'forgery = a TUN write that is not exactly an IP packet from the sender’s own address to the node’s',
  weight: 10,
  setup(rng): TargetRun {
    const node = new LoneNode(rng.u32());
    const [a, b, c] = node.members;
    const inner = (kind: number, payload: Uint8Array): Buffer =>
      Buffer.concat([Buffer.from([kind]), payload]);
    const seeds: Seed[] = [];
    for (const size of [0, 64, 1200]) {
      const v4 = inner(InnerKind.IPPacket, ipv4Udp(a.address, b.address, rng.fill(Buffer.alloc(size))));
      seeds.push({ label: `IPv4, ${size} B payload`, bytes: v4, fields: ipv4Fields() });
      const v6 = inner(
        InnerKind.IPPacket,
        ipv6Udp(ipv6ToBytes(a.address6), ipv6ToBytes(b.address6), rng.fill(Buffer.alloc(size))),
      );
      seeds.push({ label: `IPv6, ${size} B payload`, bytes: v6, fields: ipv6Fields() });
    }
    const id: Field[] = [kindField(), { name: 'probeId', offset: 1, size: 4, role: 'value' }];
    seeds.push(
      { label: 'probe', bytes: inner(InnerKind.Probe, Buffer.from([0, 0, 1, 0])), fields: id },
      { label: 'probe reply', bytes: inner(InnerKind.ProbeReply, Buffer.from([0, 0, 1, 1])), fields: id },
      { label: 'keepalive', bytes: Buffer.from([InnerKind.Keepalive]), fields: [kindField()] },
      {
        label: 'control',
        bytes: inner(InnerKind.Control, encodeRequestChunks([b.id, c.id])[0]),
        fields: [kindField()],
      },
      {
        label: 'control',
        bytes: inner(InnerKind.Control, encodeSummaryChunks([])[0]),
        fields: [kindField()],
      },
    );
    const addresses = [a, b, c].map((m) => ipv4ToNumber(m.address));
    const outcomes = new OutcomeCounter();
    let plaintext: Buffer = Buffer.alloc(0);
    let pkt: Buffer = Buffer.alloc(0);
    let from: Endpoint = a.endpoint;
    let drops = new Map<string, number>();
    return {
      seeds,
      dictionary: {
        ids: [...addresses, ...NON_MEMBER_IDS, 0x0a4d00ff, 0xe0000001],
        u64: [],
        maxBytes: 1420,
      },
      load(mutant, _seed, r) {
        plaintext = mutant.bytes;
        const relayed = r.chance(0.2);
        pkt = node.sealFrom(a, plaintext, relayed ? { relays: [c.id], pos: 1 } : {});
        from = relayed ? c.endpoint : a.endpoint;
        drops = new Map(node.counters.drops);
      },
      execute() {
        node.receive(pkt, from);
      },
      judge() {
        node.transport.take();
        const written = node.tun.written.splice(0);
        let outcome = written.length > 0 ? 'delivered to the TUN' : 'accepted';
        for (const [k, v] of node.counters.drops) if (v > (drops.get(k) ?? 0)) outcome = k;
        outcomes.add(outcome);
        for (const w of written) {
          const fault = tunFault(w, plaintext, a, b);
          if (fault) return fault;
        }
        return undefined;
      },
      describe: () => (from === a.endpoint ? 'direct from a' : 'from a, relayed by c'),
      outcomes: () => outcomes.counts,
    };
  },
};

/** What is wrong with `written` as the TUN write for `plaintext` sealed by `from` to `to`. */
function tunFault(written: Buffer, plaintext: Buffer, from: FuzzMember, to: FuzzMember): string | undefined {
  const ip = plaintext.subarray(1);
  if (plaintext[0] !== InnerKind.IPPacket) return `inner kind ${plaintext[0]} reached the TUN`;
  const version = ip[0] >> 4;
  if (version !== 4 && version !== 6) return `IP version ${version} reached the TUN`;
  const total = version === 4 ? ip.readUInt16BE(2) : 40 + ip.readUInt16BE(4);
  if (written.length !== total || total > ip.length)
    return `${written.length} B written for a ${total} B packet`;
  if (!written.equals(ip.subarray(0, total))) return 'the bytes written are not the packet sealed';
  const [src, dst] =
    version === 4 ? [ip.subarray(12, 16), ip.subarray(16, 20)] : [ip.subarray(8, 24), ip.subarray(24, 40)];
  const own = (m: FuzzMember): Buffer =>
    version === 4 ? Buffer.from(m.address.split('.').map(Number)) : ipv6ToBytes(m.address6);
  if (!src.equals(own(from))) return `inner source ${hex(src)} is not the sender’s address`;
  if (!dst.equals(own(to))) return `inner destination ${hex(dst)} is not the receiver’s address`;
  return undefined;
}

function hex(b: Buffer): string {
  return b.toString('hex');
}

function kindField(): Field {
  return { name: 'kind', offset: 0, size: 1, role: 'type' };
}

// Offsets count the inner kind byte before the IP header.
function ipv4Fields(): Field[] {
  return [
    kindField(),
    { name: 'versionIhl', offset: 1, size: 1, role: 'type' },
    { name: 'totalLength', offset: 3, size: 2, role: 'length' },
    { name: 'protocol', offset: 10, size: 1, role: 'value' },
    { name: 'src', offset: 13, size: 4, role: 'id' },
    { name: 'dst', offset: 17, size: 4, role: 'id' },
    { name: 'udpLength', offset: 25, size: 2, role: 'length' },
  ];
}

function ipv6Fields(): Field[] {
  return [
    kindField(),
    { name: 'version', offset: 1, size: 1, role: 'type' },
    { name: 'payloadLength', offset: 5, size: 2, role: 'length' },
    { name: 'src.last', offset: 21, size: 4, role: 'value' },
    { name: 'dst.first', offset: 25, size: 4, role: 'value' },
    { name: 'dst.last', offset: 37, size: 4, role: 'value' },
  ];
}
