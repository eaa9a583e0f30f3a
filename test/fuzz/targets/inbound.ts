// The inbound dispatch (forward/inbound.ts): whole datagrams into one real node's receive path, which
// parses the routed header and sends each packet to the relay, the handshake code, or opens it and
// dispatches the inner message. Seeds: what members really send b: initiations (direct, and relayed
// by a), the response to b's pending initiation, Data of every inner kind (direct, relayed by a), and
// Data for c that b must relay. Each comes from its natural endpoint (its sender, or the relay before
// b), sometimes from another member's endpoint, sometimes from a stranger's.
// Accepted forgery: a packet delivered to the TUN or opened that is not a genuine one never opened
// before; a handshake answered or completed by a body that is not a genuine one never used; anything
// sent in response to a stranger's datagram (b must not relay for, answer, or reflect to strangers).
import { endpointKey, type Endpoint } from '../../../src/transport/transport.js';
import { InnerKind, PacketType } from '../../../src/wire/constants.js';
import { encodeSummaryChunks } from '../../../src/routing/control-codec.js';
import { parseRoutedHeader, routeAt } from '../../../src/wire/routed-header.js';
import { ipv4Udp, ipv6Udp } from '../../e2e/ip-builder.js';
import { ipv6ToBytes } from '../../../src/forward/ip-packet.js';
import { GenuineSet } from '../fixtures/genuine.js';
import { LoneNode, type Sent } from '../fixtures/lone-node.js';
import { NON_MEMBER_IDS, STRANGERS, type FuzzMember } from '../fixtures/members.js';
import { routedFields, routedPacket, type Route } from '../fixtures/wire.js';
import type { Seed } from '../mutator.js';
import type { FuzzTarget, TargetRun } from '../target.js';
import { INIT_BODY_BYTES, INIT_MAC2_OFFSET } from '../../../src/session/handshake.js';
import { OutcomeCounter } from './outcomes.js';

export const inboundTarget: FuzzTarget = {
  name: 'inbound',
  description:
    'whole datagrams into a real node’s Inbound.receive from members and strangers; forgery = a ' +
    'non-genuine packet opened or on the TUN, a handshake answered or completed by a mutant, or any ' +
    'reply or relay caused by a stranger',
  weight: 10,
  setup(rng): TargetRun {
    const node = new LoneNode(rng.u32());
    const [a, b, c] = node.members;
    const seeds: Seed[] = [];
    const data = new GenuineSet(seeds);
    const inits = new GenuineSet(seeds);
    const responses = new GenuineSet(seeds);
    const seed = (label: string, pkt: Buffer): Seed => ({ label, bytes: pkt, fields: routedFields(pkt) });

    const initFrom = (m: FuzzMember, route: Route) => (): Seed => {
      const body = node.remote(m).createInitiation(b.id, node.now);
      const pkt = routedPacket(PacketType.HandshakeInit, m.id, b.id, body, route);
      return inits.add(initHex(body), seed(`init from ${m.name}`, pkt), initFrom(m, route));
    };
    const responseFrom = (m: FuzzMember) => (): Seed => {
      const pkt = node.pendingResponseFrom(m);
      return responses.add(bodyHex(pkt), seed(`response from ${m.name}`, pkt), responseFrom(m));
    };
    const dataFrom =
      (m: FuzzMember, label: string, plaintext: Buffer, route: Route = {}, dst = b.id) =>
      (): Seed => {
        const pkt = node.sealFrom(m, plaintext, route, dst);
        return data.add(sealedHex(pkt), seed(label, pkt), dataFrom(m, label, plaintext, route, dst));
      };
    const ip4 = Buffer.concat([
      Buffer.from([InnerKind.IPPacket]),
      ipv4Udp(a.address, b.address, rng.fill(Buffer.alloc(64))),
    ]);
    const ip6 = Buffer.concat([
      Buffer.from([InnerKind.IPPacket]),
      ipv6Udp(ipv6ToBytes(a.address6), ipv6ToBytes(b.address6), rng.fill(Buffer.alloc(200))),
    ]);
    const ip4c = Buffer.concat([
      Buffer.from([InnerKind.IPPacket]),
      ipv4Udp(c.address, b.address, Buffer.alloc(32)),
    ]);
    const control = Buffer.concat([Buffer.from([InnerKind.Control]), encodeSummaryChunks([])[0]]);
    const viaA = { relays: [a.id], pos: 1 };
    for (const make of [
      initFrom(a, {}),
      initFrom(c, viaA),
      responseFrom(a),
      dataFrom(a, 'keepalive from a', Buffer.from([InnerKind.Keepalive])),
      dataFrom(a, 'IPv4 from a', ip4),
      dataFrom(a, 'IPv6 from a', ip6),
      dataFrom(a, 'probe from a', Buffer.from([InnerKind.Probe, 0, 0, 0, 7])),
      dataFrom(a, 'probe reply from a', Buffer.from([InnerKind.ProbeReply, 0, 0, 0, 9])),
      dataFrom(a, 'control from a', control),
      dataFrom(c, 'IPv4 from c via a', ip4c, viaA),
      dataFrom(a, 'data for c, relayed by b', ip4, { relays: [b.id] }, c.id),
    ])
      seeds.push(make());
    node.transport.take();

    const outcomes = new OutcomeCounter();
    let pkt: Buffer = Buffer.alloc(0);
    let original: Buffer = Buffer.alloc(0);
    let from: Endpoint = a.endpoint;
    let sent: Sent[] = [];
    let before = snapshot(node);
    const isGenuine = (p: Buffer): boolean =>
      data.has(sealedHex(p)) || inits.has(initHex(body(p))) || responses.has(bodyHex(p));
    return {
      seeds,
      dictionary: { ids: [a.id, b.id, c.id, ...NON_MEMBER_IDS], u64: [0n, 1n, 8191n], maxBytes: 1500 },
      load(mutant, s, r) {
        pkt = mutant.bytes;
        original = Buffer.from(pkt);
        const natural = naturalEndpoint(node.members, s.bytes);
        const p = r.int(20);
        from = p < 15 ? natural : p < 17 ? r.pick(node.members).endpoint : r.pick(STRANGERS);
        // A genuine message comes from where its sender is: from anywhere else it would move the
        // sender's endpoint there (members roam), and a stranger's address would become a member's.
        if (isGenuine(pkt)) from = natural;
        before = snapshot(node);
      },
      execute() {
        node.receive(pkt, from);
      },
      judge() {
        sent = node.transport.take();
        const after = snapshot(node);
        const written = node.tun.written.splice(0);
        outcomes.add(outcomeOf(node, before, after, written.length, sent.length));
        // Genuine messages used for the first time may do anything they normally do, from anywhere
        // (members roam); everything else must be refused without effect.
        let genuine = false;
        if (after.completed > before.completed) {
          if (!responses.use(bodyHex(original))) return 'a mutated response completed b’s handshake';
          genuine = true;
          // b now sends with the new keys; a reads b's keepalive and does too: reseal the data seeds.
          node.deliverToRemotes(sent);
          data.renewAll();
        }
        if (after.answered > before.answered) {
          if (!inits.use(initHex(body(original))))
            return 'b answered an initiation that is not a genuine one never answered';
          genuine = true;
        }
        if (after.opened > before.opened || written.length > 0) {
          if (!data.use(sealedHex(original)))
            return written.length > 0 ? 'a mutated packet reached the TUN' : 'b opened a mutated packet';
          genuine = true;
        }
        if (!genuine && STRANGERS.includes(from) && sent.length > 0)
          return `a stranger’s datagram made b send ${sent.length} datagram(s), first to ${endpointKey(sent[0].to)}`;
        return undefined;
      },
      describe: () => `from ${endpointKey(from)}, ${sent.length} sent`,
      outcomes: () => outcomes.counts,
    };
  },
};

interface Snapshot {
  opened: number;
  answered: number;
  completed: number;
  relayed: number;
  reasons: Map<string, number>;
}

function snapshot(node: LoneNode): Snapshot {
  let relayed = 0;
  for (const t of node.counters.peers.values()) relayed += t.relayedPackets;
  return {
    opened: node.opened,
    answered: node.answered,
    completed: node.counters.handshakesCompleted,
    relayed,
    reasons: new Map(node.counters.drops),
  };
}

function outcomeOf(node: LoneNode, before: Snapshot, after: Snapshot, written: number, sent: number): string {
  for (const [k, v] of node.counters.drops) if (v > (before.reasons.get(k) ?? 0)) return k;
  if (written > 0) return 'delivered to the TUN';
  if (after.relayed > before.relayed) return 'relayed';
  return sent > 0 ? 'accepted, answered' : 'accepted';
}

/** Where a packet comes from when nobody tampers: the relay before us, else its source. */
function naturalEndpoint(members: readonly FuzzMember[], pkt: Buffer): Endpoint {
  const h = parseRoutedHeader(pkt, pkt.length);
  if (typeof h === 'string') return members[0].endpoint;
  const prev = h.routePos > 0 ? routeAt(pkt, h.routePos - 1) : h.src;
  return (members.find((m) => m.id === prev) ?? members[0]).endpoint;
}

/** A handshake's body: what its genuineness is judged by (the header is not authenticated). */
function body(pkt: Buffer): Buffer {
  const h = parseRoutedHeader(pkt, pkt.length);
  return typeof h === 'string' ? Buffer.alloc(0) : pkt.subarray(h.bodyOffset);
}

function bodyHex(pkt: Buffer): string {
  return body(pkt).toString('hex');
}

/**
 * What authenticates an initiation: its body up to mac2. mac2 is checked only under load (a cookie), so
 * a genuine initiation with another mac2 is still that initiation (and its replay filter entry).
 */
function initHex(initBody: Buffer): string {
  return initBody.length === INIT_BODY_BYTES ? initBody.subarray(0, INIT_MAC2_OFFSET).toString('hex') : '';
}

/** What a Data packet's AEAD covers, from src to the tag. */
function sealedHex(pkt: Buffer): string {
  const h = parseRoutedHeader(pkt, pkt.length);
  return typeof h === 'string' ? '' : pkt.subarray(h.addrOffset).toString('hex');
}
