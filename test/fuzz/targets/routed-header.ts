// parseRoutedHeader (wire/routed-header.ts), the first parser every datagram meets, with routeAt over
// the route it accepted. Seeds: headers of every type with 0–7 relays, as writeRoutedHeader makes them,
// followed by bodies of the sizes each type has; `len` is sometimes shorter than the buffer (the
// transport's receive slot is larger than the datagram).
// Accepted forgery: a header accepted although the format (DEVELOPERS.md, "Wire format") forbids it
// (a route that repeats a relay or names src or dst included), or whose parsed fields differ from the
// bytes: checked field by field by an independent reading.
import { MAX_ROUTE_RELAYS, PacketType } from '../../../src/wire/constants.js';
import { parseRoutedHeader, routeAt, type RoutedHeader } from '../../../src/wire/routed-header.js';
import { fuzzMembers, NON_MEMBER_IDS } from '../fixtures/members.js';
import { routedFields, routedPacket } from '../fixtures/wire.js';
import type { Seed } from '../mutator.js';
import type { FuzzTarget, TargetRun } from '../target.js';
import { OutcomeCounter } from './outcomes.js';

const PACKET_TYPES = new Set<number>(Object.values(PacketType));
const BODY_BYTES = {
  [PacketType.HandshakeInit]: 128,
  [PacketType.HandshakeResponse]: 72,
  [PacketType.Data]: 64,
};

export const routedHeaderTarget: FuzzTarget = {
  name: 'routed-header',
  description:
    'parseRoutedHeader + routeAt on mutated headers of every type and route length; forgery = a header ' +
    'accepted against the wire format, or parsed fields that differ from the bytes',
  weight: 30,
  setup(rng): TargetRun {
    const members = fuzzMembers(9);
    const ids = members.map((m) => m.id);
    const seeds: Seed[] = [];
    for (const type of [PacketType.HandshakeInit, PacketType.HandshakeResponse, PacketType.Data]) {
      for (let relays = 0; relays <= MAX_ROUTE_RELAYS; relays++) {
        const route = ids.slice(2, 2 + relays);
        const body = rng.fill(Buffer.alloc(BODY_BYTES[type]));
        const pkt = routedPacket(type, ids[0], ids[1], body, { relays: route, pos: rng.int(relays + 1) });
        seeds.push({ label: `type ${type}, ${relays} relays`, bytes: pkt, fields: routedFields(pkt) });
      }
    }
    const outcomes = new OutcomeCounter();
    let buf: Buffer = Buffer.alloc(0);
    let len = 0;
    let result: RoutedHeader | string = '';
    let route: number[] = [];
    return {
      seeds,
      dictionary: { ids: [...ids, ...NON_MEMBER_IDS], u64: [], maxBytes: 1500 },
      load(mutant, _seed, r) {
        buf = mutant.bytes;
        len = r.chance(0.2) ? r.int(buf.length + 1) : buf.length;
      },
      execute() {
        result = parseRoutedHeader(buf, len);
        route = [];
        if (typeof result !== 'string') for (let i = 0; i < result.routeLen; i++) route.push(routeAt(buf, i));
      },
      judge() {
        outcomes.add(typeof result === 'string' ? result : 'accepted');
        return typeof result === 'string' ? undefined : misparsed(buf, len, result, route);
      },
      describe: () => `len ${len} of ${buf.length}`,
      outcomes: () => outcomes.counts,
    };
  },
};

/** What an accepted header gets wrong, read again from the bytes by the format's rules. */
function misparsed(buf: Buffer, len: number, h: RoutedHeader, route: number[]): string | undefined {
  if (!PACKET_TYPES.has(buf[0])) return `accepted unknown type ${buf[0]}`;
  if (buf[2] > MAX_ROUTE_RELAYS) return `accepted routeLen ${buf[2]}`;
  if (buf[3] > buf[2]) return `accepted routePos ${buf[3]} > routeLen ${buf[2]}`;
  const a = 4 + 4 * buf[2];
  if (a + 8 > len) return `accepted a header longer than the datagram (${a + 8} > ${len})`;
  const src = buf.readUInt32BE(a);
  const dst = buf.readUInt32BE(a + 4);
  if (src === 0 || dst === 0 || src === dst) return `accepted src ${src} dst ${dst}`;
  const want = {
    type: buf[0],
    ttl: buf[1],
    routeLen: buf[2],
    routePos: buf[3],
    addrOffset: a,
    src,
    dst,
    bodyOffset: a + 8,
  };
  for (const [k, v] of Object.entries(want))
    if (h[k as keyof RoutedHeader] !== v)
      return `${k} parsed as ${h[k as keyof RoutedHeader]}, bytes say ${v}`;
  for (let i = 0; i < route.length; i++)
    if (route[i] !== buf.readUInt32BE(4 + 4 * i)) return `route[${i}] read as ${route[i]}`;
  // A route visits each relay once and names neither end (loops and fake detours are refused).
  if (new Set([...route, src, dst]).size !== route.length + 2) return `accepted route ${route.join(',')}`;
  return undefined;
}
